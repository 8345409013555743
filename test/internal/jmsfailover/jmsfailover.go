// Package jmsfailover runs the ActiveMQ 5.17 JMS client's failover
// transport under broker crashes and keeps the account, for the
// cross-process suites under test/ (openwire, migrate). It owns one check:
// a FailoverConsumer and a FailoverProducer (Java programs of
// test/openwire/java, run through javarun) over one failover: URL, while
// the test kills brokers at set points of the sends; every acknowledged
// send must be received, and a message received twice must be marked
// JMSRedelivered.
package jmsfailover

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/activemq"
	"github.com/piermq/pier/test/internal/javarun"
)

// Options describe one run.
type Options struct {
	// JVM runs the programs; its Src holds FailoverProducer.java and
	// FailoverConsumer.java.
	JVM javarun.JVM
	// Queue is the queue the messages go through.
	Queue string
	// N persistent messages are sent, one every Delay.
	N     int
	Delay time.Duration
	// Timeout bounds each program (the consumer stops receiving then).
	Timeout time.Duration
	// Crashes is how often crash is called: after 1/(Crashes+1),
	// 2/(Crashes+1) ... of the sends were acknowledged.
	Crashes int
}

// resultRE is FailoverConsumer's last line.
var resultRE = regexp.MustCompile(`RESULT received=(\d+) distinct=(\d+) duplicates=(\d+) redelivered_duplicates=(\d+) missing=(\d+)`)

// tailBytes is how much of a program's output a failure shows.
const tailBytes = 8 << 10

// progressTimeout bounds the wait for the sends before each crash.
const progressTimeout = 60 * time.Second

// Run runs FailoverConsumer and FailoverProducer over url, calls crash
// o.Crashes times (i counting from 0, with the sends acknowledged so
// far), and checks that every acknowledged send was received and every
// duplicate was marked JMSRedelivered. It fails the test otherwise.
func Run(t testing.TB, url string, o Options, crash func(i int, acked int64)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+30*time.Second)
	defer cancel()
	consumer := o.JVM.Start(t, ctx, nil, "FailoverConsumer", url, o.Queue, strconv.Itoa(o.N),
		strconv.Itoa(int(o.Timeout/time.Second)))
	if err := consumer.AwaitLine("READY", 30*time.Second); err != nil {
		t.Fatalf("consumer not ready: %v\n%s", err, consumer.Output())
	}
	acked := make([]atomic.Bool, o.N)
	var count atomic.Int64
	producer := o.JVM.Start(t, ctx, func(line string) {
		if s, ok := strings.CutPrefix(line, "ACK "); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < o.N && !acked[n].Swap(true) {
				count.Add(1)
			}
		}
	}, "FailoverProducer", url, o.Queue, strconv.Itoa(o.N), strconv.FormatInt(o.Delay.Milliseconds(), 10))

	for i := range o.Crashes {
		at := int64(o.N * (i + 1) / (o.Crashes + 1))
		deadline := time.Now().Add(progressTimeout)
		for count.Load() < at {
			if time.Now().After(deadline) {
				t.Fatalf("crash %d: only %d sends acknowledged after %s:\n%s", i+1, count.Load(), progressTimeout,
					activemq.Tail(producer.Output(), tailBytes))
			}
			time.Sleep(10 * time.Millisecond)
		}
		crash(i, count.Load())
	}

	if err := producer.Wait(o.Timeout); err != nil {
		t.Fatalf("producer: %v\n%s", err, activemq.Tail(producer.Output(), tailBytes))
	}
	if n := count.Load(); n != int64(o.N) {
		t.Fatalf("the producer exited 0 with %d of %d sends acknowledged", n, o.N)
	}
	cerr := consumer.Wait(o.Timeout)
	out := consumer.Output()
	m := resultRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("consumer printed no RESULT (%v):\n%s", cerr, activemq.Tail(out, tailBytes))
	}
	t.Logf("consumer: %s", m[0])
	dups, redelivered, missing := atoi(m[3]), atoi(m[4]), atoi(m[5])
	if missing != 0 {
		t.Errorf("%d acknowledged sends never received", missing)
	}
	if dups != redelivered {
		t.Errorf("%d duplicates not marked JMSRedelivered", dups-redelivered)
	}
	if cerr != nil || t.Failed() {
		t.Fatalf("consumer: %v\n%s", cerr, activemq.Tail(out, tailBytes))
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
