package client

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// Options.Bridge: the BrokerInfo goes before the ConnectionInfo, on the
// first socket and on every socket after a failover.
func TestBridgeInfoBeforeLogin(t *testing.T) {
	var mu sync.Mutex
	order := map[int][]string{} // connection → commands seen
	fake := startScripted(t, func(n int, cmd wire.BaseCommand) ([]wire.Command, bool) {
		mu.Lock()
		defer mu.Unlock()
		switch x := cmd.(type) {
		case *wire.BrokerInfo:
			if x.DuplexConnection && x.NetworkConnection && x.BrokerURL == "failover:(tcp://me:1)" {
				order[n] = append(order[n], "duplex")
			}
		case *wire.ConnectionInfo:
			order[n] = append(order[n], "login")
		}
		return nil, false
	})
	opts := Options{Bridge: &BridgeInfo{BrokerID: "ID:me", BrokerName: "me", URL: "failover:(tcp://me:1)", Duplex: true}}
	h := newHooks(&opts)
	c, err := Dial(testCtx(t), fastFailover(fake.addr), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	fake.drop()
	h.waitResumed(t)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		seen := len(order[1])
		mu.Unlock()
		if seen == 2 || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for n := range 2 {
		if got := order[n]; len(got) != 2 || got[0] != "duplex" || got[1] != "login" {
			t.Errorf("connection %d: %v, want [duplex login]", n, got)
		}
	}
}
