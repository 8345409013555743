//go:build crossprocess

package openwire

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// TestNetworkOfBrokers: two `pier serve` brokers bridged both ways by
// network connectors, used by the ActiveMQ 5.17 JMS client: request/reply
// from A to a responder on B through a temporary queue, persistent queue
// messages from A to a consumer on B (each once), topic messages from A to
// a subscriber on B.
func TestNetworkOfBrokers(t *testing.T) {
	if target(t) != "pier" {
		t.Skip("runs two pier brokers")
	}
	classpath(t)
	aAddr, bAddr := piertest.FreeAddr(t), piertest.FreeAddr(t)
	link := func(name, to string) string {
		return fmt.Sprintf("network_connectors:\n  - name: %s\n    uri: static:(tcp://%s)\n", name, to)
	}
	piertest.StartWith(t, piertest.Options{Name: "net-a", OpenWire: true, OpenWireAddr: aAddr, Extra: link("to-b", bAddr)})
	piertest.StartWith(t, piertest.Options{Name: "net-b", OpenWire: true, OpenWireAddr: bAddr, Extra: link("to-a", aAddr)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := fmt.Sprintf("ow.net.%d", time.Now().UnixNano())
	p := startJava(t, ctx, nil, "NetworkScenarios", "tcp://"+aAddr, "tcp://"+bAddr, prefix)
	if err := p.Wait(2 * time.Minute); err != nil || !strings.Contains(p.Output(), "OK\n") {
		t.Fatalf("NetworkScenarios: %v\n%s", err, p.Output())
	}
}
