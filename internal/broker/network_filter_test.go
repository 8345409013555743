package broker

import (
	"context"
	"testing"

	"github.com/piermq/pier/internal/message"
)

func sendPath(t *testing.T, c *Conn, d message.Destination, body string, path ...string) {
	t.Helper()
	m := &message.Message{Dest: d, Body: []byte(body), BodyKind: message.Text, BrokerPath: path, Persistent: true}
	if err := c.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
}

// A bridge's subscription toward broker R does not take a message that came
// through R (a loop) while the queue has another consumer here, takes it
// when it has none (it would be stranded), and never takes one that
// crossed TTL brokers.
func TestNetworkSubscriptionFilter(t *testing.T) {
	t.Run("loop held back while local consumers exist", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		nc, nk := connect(t, b, "")
		lc, lk := connect(t, b, "")
		subscribe(t, nc, SubOptions{ID: "net", Dest: q("w"), Ack: AckIndividual, Priority: -5,
			Network: true, BrokerPath: []string{"ID:r"}, Remote: "ID:r", TTL: 3})
		ls := subscribe(t, lc, SubOptions{ID: "local", Dest: q("w"), Ack: AckIndividual, Prefetch: 1})
		sendPath(t, p, q("w"), "from-r-1", "ID:r")
		sendPath(t, p, q("w"), "from-r-2", "ID:r")
		sendPath(t, p, q("w"), "here")
		if d := lk.next(t); string(d.Msg.Body) != "from-r-1" {
			t.Fatalf("local got %q", d.Msg.Body)
		}
		// The local consumer is full: the network one may take "here" but
		// not "from-r-2".
		if d := nk.next(t); string(d.Msg.Body) != "here" {
			t.Fatalf("network got %q, want here", d.Msg.Body)
		}
		nk.none(t)
		// The local consumer leaves: "from-r-2" (and the redelivered
		// "from-r-1") would be stranded, so they go back to r.
		if err := lc.Unsubscribe(ls.ID()); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{string(nk.next(t).Msg.Body): true, string(nk.next(t).Msg.Body): true}
		if !got["from-r-1"] || !got["from-r-2"] {
			t.Fatalf("network got %v after the local consumer left", got)
		}
	})
	t.Run("ttl", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		nc, nk := connect(t, b, "")
		subscribe(t, nc, SubOptions{ID: "net", Dest: q("w"), Ack: AckIndividual,
			Network: true, Remote: "ID:r", TTL: 2})
		sendPath(t, p, q("w"), "two", "ID:x", "ID:y")
		sendPath(t, p, q("w"), "one", "ID:x")
		if d := nk.next(t); string(d.Msg.Body) != "one" {
			t.Fatalf("network got %q, want one", d.Msg.Body)
		}
		nk.none(t)
		if st, _ := b.QueueStats("w"); st.Pending != 1 {
			t.Fatalf("pending %d, want the message that crossed two brokers", st.Pending)
		}
	})
	t.Run("topics never go back", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		nc, nk := connect(t, b, "")
		subscribe(t, nc, SubOptions{ID: "net", Dest: topic("t"), Network: true, Remote: "ID:r", TTL: 5})
		sendPath(t, p, topic("t"), "from-r", "ID:r")
		sendPath(t, p, topic("t"), "here")
		if d := nk.next(t); string(d.Msg.Body) != "here" {
			t.Fatalf("network got %q, want here", d.Msg.Body)
		}
		nk.none(t)
	})
}

// A consumer here whose selector does not want a message does not keep it
// from going back to the broker it came from.
func TestNetworkSubscriptionSelectorStrands(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	nc, nk := connect(t, b, "")
	lc, lk := connect(t, b, "")
	subscribe(t, nc, SubOptions{ID: "net", Dest: q("w"), Ack: AckIndividual, Priority: -5,
		Network: true, BrokerPath: []string{"ID:r"}, Remote: "ID:r", TTL: 1})
	subscribe(t, lc, SubOptions{ID: "local", Dest: q("w"), Ack: AckIndividual, Selector: "color = 'red'"})
	red := &message.Message{Dest: q("w"), Body: []byte("red"), BrokerPath: []string{"ID:r"}, Properties: map[string]any{"color": "red"}}
	blue := &message.Message{Dest: q("w"), Body: []byte("blue"), BrokerPath: []string{"ID:r"}, Properties: map[string]any{"color": "blue"}}
	for _, m := range []*message.Message{red, blue} {
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	if d := lk.next(t); string(d.Msg.Body) != "red" {
		t.Fatalf("local got %q", d.Msg.Body)
	}
	if d := nk.next(t); string(d.Msg.Body) != "blue" {
		t.Fatalf("network got %q, want blue back to r", d.Msg.Body)
	}
	lk.none(t)
	nk.none(t)
}

// A network bridge's durable subscription keeps, while offline and across
// a restart, only what it may forward: not what came through its remote
// broker, not what crossed its TTL. A new TTL keeps the backlog.
func TestNetworkDurableSubscription(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	nc, _ := connect(t, b, "pier-bridge:net/r")
	o := SubOptions{ID: "net", Dest: topic("t"), DurableName: "topic://t|", Network: true,
		BrokerPath: []string{"ID:r"}, Remote: "ID:r", TTL: 2}
	subscribe(t, nc, o)
	if err := nc.Unsubscribe("net"); err != nil {
		t.Fatal(err)
	}
	sendPath(t, p, topic("t"), "here")
	sendPath(t, p, topic("t"), "from-r", "ID:r")
	sendPath(t, p, topic("t"), "two-hops", "ID:x", "ID:y")
	sendPath(t, p, topic("t"), "one-hop", "ID:x")
	b.Close()

	b2 := startBroker(t, st, Config{})
	subs := b2.Durables("pier-bridge:net/r")
	if len(subs) != 1 || subs[0].Remote != "ID:r" || subs[0].TTL != 2 {
		t.Fatalf("recovered %+v", subs)
	}
	sendPath(t, connectOnly(t, b2), topic("t"), "after-restart-from-r", "ID:r")
	nc2, nk := connect(t, b2, "pier-bridge:net/r")
	o.TTL = 3 // changed: the record is rewritten, the backlog kept
	subscribe(t, nc2, o)
	var got []string
	for range 2 {
		got = append(got, string(nk.next(t).Msg.Body))
	}
	nk.none(t)
	if got[0] != "here" || got[1] != "one-hop" {
		t.Fatalf("the bridge's durable kept %v, want [here one-hop]", got)
	}
	if subs := b2.Durables("pier-bridge:net/r"); len(subs) != 1 || subs[0].TTL != 3 {
		t.Fatalf("after the TTL change: %+v", subs)
	}
}

func connectOnly(t *testing.T, b *Broker) *Conn {
	t.Helper()
	c, _ := connect(t, b, "")
	return c
}
