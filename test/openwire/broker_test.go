//go:build crossprocess

package openwire

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// broker is the OpenWire broker under test: pier or the real ActiveMQ.
type broker interface {
	// Addr is the OpenWire host:port; it stays the same across restarts.
	Addr() string
	// Kill crashes the broker (SIGKILL) and waits until it is gone.
	Kill()
	// Restart starts it again on the same data and port and waits until
	// OpenWire accepts connections.
	Restart()
}

// target is $OPENWIRE_TARGET: "pier" (the default) or "activemq".
func target(t *testing.T) string {
	switch v := os.Getenv("OPENWIRE_TARGET"); v {
	case "", "pier":
		return "pier"
	case "activemq":
		return v
	default:
		t.Fatalf("OPENWIRE_TARGET=%q: want pier or activemq", v)
		return ""
	}
}

// startBroker starts the target broker for this test; it is killed when the
// test ends. For pier it skips the test while pier does not serve OpenWire.
func startBroker(t *testing.T) broker {
	t.Helper()
	if target(t) == "activemq" {
		return startActiveMQ(t)
	}
	p := piertest.StartWith(t, piertest.Options{OpenWire: true})
	if err := dial(p.OpenWireAddr, 2*time.Second); err != nil {
		t.Skipf("pier does not serve OpenWire yet (nothing listens on its openwire transport %s: %v)", p.OpenWireAddr, err)
	}
	return &pierBroker{t, p}
}

type pierBroker struct {
	t *testing.T
	p *piertest.Pier
}

func (b *pierBroker) Addr() string { return b.p.OpenWireAddr }
func (b *pierBroker) Kill()        { b.p.Kill() }
func (b *pierBroker) Restart() {
	b.p.Restart()
	if err := dial(b.p.OpenWireAddr, 10*time.Second); err != nil {
		b.t.Fatalf("pier restarted without OpenWire on %s: %v", b.p.OpenWireAddr, err)
	}
}

// dial succeeds once something accepts TCP connections on addr.
func dial(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// amqStartTimeout bounds an ActiveMQ start (typically 2-5 s).
const amqStartTimeout = 90 * time.Second

// activeMQ is the real ActiveMQ 5.17 run by activemq.sh from a private
// instance directory (KahaDB under it survives Kill/Restart).
type activeMQ struct {
	t    *testing.T
	base string
	addr string
	log  *os.File

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func startActiveMQ(t *testing.T) *activeMQ {
	t.Helper()
	for _, f := range []string{"/usr/share/activemq/bin/activemq.jar", "/etc/activemq/instances-available/main/activemq.xml"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("OPENWIRE_TARGET=activemq needs Debian's activemq package (apt-get install activemq): %v", err)
		}
	}
	b := &activeMQ{t: t, base: t.TempDir(), addr: piertest.FreeAddr(t)}
	var err error
	if b.log, err = os.Create(filepath.Join(b.base, "console.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Kill()
		if t.Failed() {
			out, _ := os.ReadFile(b.log.Name())
			t.Logf("ActiveMQ console (last 4 KiB):\n%s", tail(string(out), 4096))
		}
		b.log.Close()
	})
	b.Restart()
	return b
}

func (b *activeMQ) Addr() string { return b.addr }

func (b *activeMQ) Restart() {
	b.t.Helper()
	_, port, _ := net.SplitHostPort(b.addr)
	cmd := exec.Command("bash", "activemq.sh", filepath.Join(b.base, "instance"), port)
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start ActiveMQ: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	b.mu.Lock()
	b.cmd, b.done = cmd, done
	b.mu.Unlock()
	deadline := time.Now().Add(amqStartTimeout)
	for dial(b.addr, 0) != nil {
		select {
		case <-done:
			b.t.Fatalf("ActiveMQ exited during start-up (see its console below)")
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("ActiveMQ does not listen on %s after %s", b.addr, amqStartTimeout)
		}
	}
}

// Kill sends SIGKILL to the java process (activemq.sh execs it) and waits.
func (b *activeMQ) Kill() {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		b.t.Logf("kill ActiveMQ: %v", err)
	}
	<-done
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
