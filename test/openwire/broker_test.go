//go:build crossprocess

package openwire

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/activemq"
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
		return activemq.Start(t)
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
