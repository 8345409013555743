//go:build crossprocess

package openwire

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/activemq"
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

// TestMixedNetworkWithActiveMQ: a `pier serve` broker and the real ActiveMQ
// 5.17 broker, each with a network connector to the other (a network in
// the middle of a migration): messages produced on ActiveMQ reach a
// consumer on Pier (ActiveMQ's bridge), and messages produced on Pier reach
// a consumer on ActiveMQ (Pier's bridge), each once.
func TestMixedNetworkWithActiveMQ(t *testing.T) {
	if target(t) != "pier" {
		t.Skip("runs pier and ActiveMQ side by side")
	}
	pierAddr, amqAddr := piertest.FreeAddr(t), piertest.FreeAddr(t)
	activemq.StartWith(t, activemq.Options{Name: "amq-mixed", Addr: amqAddr,
		NetworkURI: "static:(tcp://" + pierAddr + ")"})
	piertest.StartWith(t, piertest.Options{Name: "pier-mixed", OpenWire: true, OpenWireAddr: pierAddr,
		Extra: fmt.Sprintf("network_connectors:\n  - name: to-amq\n    uri: static:(tcp://%s)\n", amqAddr)})
	for _, dir := range []struct{ name, from, to string }{
		{"activemq to pier", amqAddr, pierAddr},
		{"pier to activemq", pierAddr, amqAddr},
	} {
		t.Run(dir.name, func(t *testing.T) {
			queue := fmt.Sprintf("ow.mixed.%d", time.Now().UnixNano())
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			k := consumer(t, ctx, dir.to, queue)
			p := producer(t, ctx, dir.from, queue)
			const n = 200
			for i := range n {
				if err := p.Send(ctx, client.NewTextMessage(fmt.Sprint("m", i))); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]bool{}
			for len(seen) < n {
				m, err := k.Receive(ctx)
				if err != nil {
					t.Fatalf("received %d of %d: %v", len(seen), n, err)
				}
				text, _ := m.Text()
				if seen[text] {
					t.Fatalf("%s twice", text)
				}
				seen[text] = true
			}
			rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer rcancel()
			if m, err := k.Receive(rctx); err == nil {
				t.Fatalf("a message more: %v", m)
			}
		})
	}
}

func dialClient(t *testing.T, ctx context.Context, addr string) *client.Conn {
	t.Helper()
	c, err := client.Dial(ctx, "tcp://"+addr, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func consumer(t *testing.T, ctx context.Context, addr, queue string) *client.Consumer {
	t.Helper()
	s, err := dialClient(t, ctx, addr).Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Consumer(ctx, client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func producer(t *testing.T, ctx context.Context, addr, queue string) *client.Producer {
	t.Helper()
	s, err := dialClient(t, ctx, addr).Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Producer(ctx, client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
