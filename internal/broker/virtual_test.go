package broker

import (
	"context"
	"fmt"
	"testing"
)

// A virtual topic's message reaches the topic's subscribers and every
// consumer queue; a consumer queue keeps what arrives while its consumers
// are away, across a restart too.
func TestVirtualTopics(t *testing.T) {
	st := newMemStore()
	b1, err := New(Config{MaxRedeliveries: DefaultMaxRedeliveries}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, _ := connect(t, b1, "")
	ca, ka := connect(t, b1, "")
	cb, kb := connect(t, b1, "")
	cs, ks := connect(t, b1, "")
	subscribe(t, ca, SubOptions{ID: "a", Dest: q("Consumer.A.VirtualTopic.Orders"), Prefetch: 100})
	subscribe(t, cb, SubOptions{ID: "b", Dest: q("Consumer.B.VirtualTopic.Orders"), Prefetch: 100})
	subscribe(t, cs, SubOptions{ID: "s", Dest: topic("VirtualTopic.Orders"), Prefetch: 100})
	subscribe(t, cs, SubOptions{ID: "other", Dest: q("Consumer.A.VirtualTopic.Other"), Prefetch: 100})
	for i := range 3 {
		send(t, p, topic("VirtualTopic.Orders"), fmt.Sprint("o", i), true)
	}
	for _, k := range []*sink{ka, kb, ks} {
		for i := range 3 {
			d := k.next(t)
			if string(d.Msg.Body) != fmt.Sprint("o", i) {
				t.Errorf("%s got %q, want o%d", d.Sub.ID(), d.Msg.Body, i)
			}
			// As ActiveMQ: a consumer queue's copy is addressed to the queue,
			// the topic its original destination.
			if want := d.Sub.opts.Dest; d.Msg.Dest != want || k != ks && d.Msg.OriginalDest != topic("VirtualTopic.Orders") {
				t.Errorf("%s got a message to %v (original %v), want %v", d.Sub.ID(), d.Msg.Dest, d.Msg.OriginalDest, want)
			}
			ack(t, d.Sub.conn, d)
		}
		k.none(t)
	}
	// B's consumers leave: its queue keeps the messages, durably.
	cb.Close()
	send(t, p, topic("VirtualTopic.Orders"), "while away", true)
	ack(t, ca, ka.next(t))
	b1.Close()

	// A's queue is empty at the restart: it still exists, so what is
	// published before A's consumer is back waits for it.
	b2 := startBroker(t, st, Config{})
	p2, _ := connect(t, b2, "")
	send(t, p2, topic("VirtualTopic.Orders"), "before A is back", true)
	cb2, kb2 := connect(t, b2, "")
	subscribe(t, cb2, SubOptions{ID: "b", Dest: q("Consumer.B.VirtualTopic.Orders"), Prefetch: 100})
	subscribe(t, cb2, SubOptions{ID: "a", Dest: q("Consumer.A.VirtualTopic.Orders"), Prefetch: 100})
	got := map[string]string{}
	for range 3 {
		d := kb2.next(t)
		got[d.Sub.ID()+":"+string(d.Msg.Body)] = ""
	}
	for _, want := range []string{"b:while away", "b:before A is back", "a:before A is back"} {
		if _, ok := got[want]; !ok {
			t.Errorf("after the restart got %v, want %s", got, want)
		}
	}
	for _, name := range []string{"Consumer.VirtualTopic.X", "Consumer.A.VirtualTopic.", "Consumer.A.Topic.X", "Consumer.A.VirtualTopic.*"} {
		if _, ok := virtualTopicOf(name); ok {
			t.Errorf("%q taken for a consumer queue", name)
		}
	}
}
