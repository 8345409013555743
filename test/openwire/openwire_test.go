//go:build crossprocess

// Package openwire is the OpenWire interop suite: unchanged ActiveMQ 5.17
// JMS programs (java/, compiled with javac against Debian's
// libactivemq-java once per run) against the broker chosen by
// OPENWIRE_TARGET:
//
//   - pier (the default): `pier serve` with an OpenWire transport on a free
//     loopback port, through test/internal/piertest; the tests skip while
//     pier does not accept OpenWire connections;
//   - activemq: the real ActiveMQ 5.17 (Debian's activemq package) run by
//     activemq.sh from a private copy of its configuration, the reference
//     the scenarios were validated against.
//
// TestClusterFailover is the exception: it runs two Pier brokers inside
// the test process (`pier serve` cannot be told its group's URLs yet) and
// is skipped for activemq.
//
// Run it by hand:
//
//	OPENWIRE_TARGET=activemq go test -tags crossprocess -count=1 -v ./test/openwire/
//	go build -o /tmp/pier ./cmd/pier && PIER_BIN=/tmp/pier go test -tags crossprocess -count=1 -v ./test/openwire/
//
// Java, javac or a jar missing fails the suite with the packages to install
// (see javarun.InstallHint).
package openwire

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/activemq"
	"github.com/piermq/pier/test/internal/javarun"
	"github.com/piermq/pier/test/internal/jmsfailover"
)

func TestMain(m *testing.M) {
	code := m.Run()
	javarun.RemoveClasses()
	os.Exit(code)
}

// failoverURL is how ActiveMQ applications usually connect: the failover
// transport over one tcp:// URI, giving up if the first connect fails for
// a few attempts instead of retrying forever.
func failoverURL(addr string) string {
	return "failover:(tcp://" + addr + ")?maxReconnectDelay=1000&startupMaxReconnectAttempts=5"
}

// plainTCP are the scenarios also run over a bare tcp:// URL (no failover
// transport: no fault-tolerant ConnectionInfo, no client-side duplicate
// audit, exceptions straight from the socket).
var plainTCP = []string{
	"client-id", "ack-client", "tx-rollback", "temp-request-reply", "prefetch-zero", "close-cascade", "dlq",
	"advisory-consumers",
}

// TestScenarios runs every scenario of java/Scenarios.java, one subtest
// each, in one JVM per URL form against one broker.
func TestScenarios(t *testing.T) {
	cp := classpath(t)
	out, err := exec.Command("java", "-cp", cp, "Scenarios", "-list").Output()
	if err != nil {
		t.Fatalf("java Scenarios -list: %v", err)
	}
	all := strings.Fields(string(out))
	b := startBroker(t)
	t.Run("failover", func(t *testing.T) {
		runScenarios(t, failoverURL(b.Addr()), all)
	})
	t.Run("tcp", func(t *testing.T) {
		runScenarios(t, "tcp://"+b.Addr(), plainTCP)
	})
}

// runScenarios runs the named scenarios in one JVM and reports each as a
// subtest with its part of the output.
func runScenarios(t *testing.T, url string, names []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	start := time.Now()
	p := startJava(t, ctx, nil, "Scenarios", append([]string{url}, names...)...)
	waitErr := p.Wait(6 * time.Minute)
	output := p.Output()
	t.Logf("%d scenarios in %s (%s)", len(names), time.Since(start).Round(time.Millisecond), url)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			part := javarun.Section(output, name)
			switch {
			case strings.Contains(part, "\nPASS "+name+" "):
				for _, line := range strings.Split(part, "\n") {
					if strings.HasPrefix(line, "NOTE ") {
						t.Log(line) // a deliberate, accepted difference from ActiveMQ
					}
				}
				t.Log(lastLine(part))
			case part == "":
				t.Fatalf("scenario did not run (exit: %v); output:\n%s", waitErr, activemq.Tail(output, 8192))
			default:
				t.Fatalf("%s", part)
			}
		})
	}
	if waitErr != nil && !strings.Contains(output, "\nFAIL ") {
		t.Errorf("Scenarios exited with %v but reported no failure:\n%s", waitErr, activemq.Tail(output, 8192))
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// Failover parameters: N persistent messages, one every failoverDelay, and
// two broker crashes (SIGKILL) at a third and two thirds of the sends.
const (
	failoverN       = 600
	failoverDelay   = 10 * time.Millisecond // between sends
	failoverTimeout = 150 * time.Second
)

// TestFailover sends sequence-numbered persistent messages through the
// failover transport while the broker is killed (SIGKILL) and restarted
// twice; every acknowledged send must be received exactly once, a
// duplicate being allowed only when it is marked JMSRedelivered.
func TestFailover(t *testing.T) {
	classpath(t)
	b := startBroker(t)
	runFailover(t, failoverURL(b.Addr())+"&initialReconnectDelay=100", func(i int, acked int64) {
		b.Kill()
		t.Logf("crash %d: broker killed after %d acknowledged sends", i+1, acked)
		time.Sleep(500 * time.Millisecond)
		b.Restart()
	})
}

// runFailover runs FailoverConsumer and FailoverProducer over url, calls
// crash twice (after a third and two thirds of the sends were
// acknowledged), and checks that every acknowledged send was received and
// every duplicate was marked JMSRedelivered.
func runFailover(t *testing.T, url string, crash func(i int, acked int64)) {
	jmsfailover.Run(t, url, jmsfailover.Options{JVM: jvm, Queue: fmt.Sprintf("ow.failover.%d", time.Now().UnixNano()),
		N: failoverN, Delay: failoverDelay, Timeout: failoverTimeout, Crashes: 2}, crash)
}
