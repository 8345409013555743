// Package activemq starts, kills and restarts the real Apache ActiveMQ 5.17
// broker (Debian's `activemq` package) for the cross-process suites under
// test/. It owns one thing: the life cycle of one ActiveMQ java process on a
// private instance directory (configuration and KahaDB store in a temporary
// directory) with OpenWire on a free loopback port that survives restarts.
//
// The process is launched by test/openwire/activemq.sh, which copies
// Debian's configuration, moves the connector and the data directory, and
// execs java, so the process started here is the broker itself: Kill is a
// real crash (SIGKILL), Restart recovers the same store.
//
// A missing package is a test failure naming it, not a skip: CI must install
// `activemq` (APT_PACKAGES in scripts/test.sh).
package activemq

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds one ActiveMQ start (typically 3-8 s on a loaded
// machine).
const StartTimeout = 90 * time.Second

// Files the Debian package installs; Start fails naming the package when
// one is missing.
var required = []string{
	"/usr/share/activemq/bin/activemq.jar",
	"/etc/activemq/instances-available/main/activemq.xml",
}

// Broker is one ActiveMQ instance: a directory and a port that survive
// restarts, and at most one running process.
type Broker struct {
	t    testing.TB
	base string
	addr string // OpenWire host:port
	opts Options
	log  *os.File

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Options select what StartWith configures beyond Start's defaults.
type Options struct {
	Name       string // brokerName; default localhost
	NetworkURI string // a network connector with this URI, e.g. static:(tcp://127.0.0.1:61617)
	// NetworkUser and NetworkPassword are the network connector's login
	// (userName, password) at the remote broker.
	NetworkUser, NetworkPassword string
	Addr                         string // OpenWire host:port; default a free loopback port
}

// Start starts ActiveMQ with OpenWire on a free loopback port and waits
// until it accepts connections. The process is killed when the test ends;
// if the test failed, the tail of ActiveMQ's console is logged.
func Start(t testing.TB) *Broker {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Broker {
	t.Helper()
	for _, f := range required {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the real ActiveMQ 5.17 broker is needed: install Debian's activemq package (apt-get install activemq; add it to APT_PACKAGES in scripts/test.sh): %v", err)
		}
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Fatalf("ActiveMQ needs java (apt-get install activemq pulls in a JRE): %v", err)
	}
	b := &Broker{t: t, base: t.TempDir(), addr: opts.Addr, opts: opts}
	if b.addr == "" {
		b.addr = freeAddr(t)
	}
	var err error
	if b.log, err = os.Create(filepath.Join(b.base, "console.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Kill()
		if t.Failed() {
			out, _ := os.ReadFile(b.log.Name())
			t.Logf("ActiveMQ console (last 4 KiB):\n%s", Tail(string(out), 4096))
		}
		b.log.Close()
	})
	b.Restart()
	return b
}

// Addr is the OpenWire host:port; it stays the same across restarts.
func (b *Broker) Addr() string { return b.addr }

// Restart starts the broker (again, after Kill) on the same store and port
// and waits until OpenWire accepts connections.
func (b *Broker) Restart() {
	b.t.Helper()
	_, port, _ := net.SplitHostPort(b.addr)
	cmd := exec.Command("bash", script(b.t), filepath.Join(b.base, "instance"), port)
	cmd.Stdout, cmd.Stderr = b.log, b.log
	cmd.Env = append(os.Environ(), "AMQ_BROKER_NAME="+b.opts.Name, "AMQ_NETWORK_URI="+b.opts.NetworkURI,
		"AMQ_NETWORK_USER="+b.opts.NetworkUser, "AMQ_NETWORK_PASSWORD="+b.opts.NetworkPassword)
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("activemq: start: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.mu.Lock()
	b.cmd, b.done = cmd, done
	b.mu.Unlock()
	deadline := time.Now().Add(StartTimeout)
	for !listening(b.addr) {
		select {
		case <-done:
			b.t.Fatalf("activemq: exited during start-up (its console is logged at the end of the test)")
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("activemq: nothing listens on %s after %s", b.addr, StartTimeout)
		}
	}
}

// Kill sends SIGKILL to the java process and waits until it is gone. It is
// a no-op when the broker is not running.
func (b *Broker) Kill() {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		b.t.Logf("activemq: kill: %v", err)
	}
	<-done
}

// script is test/openwire/activemq.sh: under $PIER_ROOT when set, else
// found from this source file's location.
func script(t testing.TB) string {
	rel := filepath.Join("test", "openwire", "activemq.sh")
	if root := os.Getenv("PIER_ROOT"); root != "" {
		return filepath.Join(root, rel)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("activemq: cannot locate activemq.sh: set PIER_ROOT to the repository root")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", rel)
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Tail returns about the last n bytes of s, from a line start, for logs
// shown on failure.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
