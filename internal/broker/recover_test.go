package broker

import (
	"context"
	"fmt"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store/storetest"
)

// wantCount checks a delivery's body and delivery count.
func wantCount(t *testing.T, d *Delivery, body string, count int32) {
	t.Helper()
	if string(d.Msg.Body) != body || d.Msg.DeliveryCount != count || d.Msg.Redelivered() != (count > 0) {
		t.Fatalf("got %q count %d redelivered %v, want %q count %d",
			d.Msg.Body, d.Msg.DeliveryCount, d.Msg.Redelivered(), body, count)
	}
}

// restart closes b and starts a broker over the same stored data, as a
// restart or a failover to a replica holding the same store does.
func restart(t *testing.T, b *Broker, st *storetest.Memory, cfg Config) (*Broker, *storetest.Memory) {
	t.Helper()
	b.Close()
	st = st.Reopen()
	return startBroker(t, st, cfg), st
}

func TestRecoveredMessagesAreMarkedRedelivered(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	send(t, p, q("r"), "seen", true)
	send(t, p, q("r"), "unseen", true)
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("r"), Ack: AckIndividual, Prefetch: 1})
	wantCount(t, k.next(t), "seen", 0) // delivered, never acknowledged

	// The broker cannot tell "seen" from "unseen": both count one delivery.
	b, _ = restart(t, b, st, Config{})
	c, k = connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("r"), Ack: AckIndividual, Prefetch: 2})
	seen := k.next(t)
	wantCount(t, seen, "seen", 1)
	wantCount(t, k.next(t), "unseen", 1)
	ack(t, c, seen)

	// A message sent after Start is new.
	send(t, p2(t, b), q("r"), "new", true)
	wantCount(t, k.next(t), "new", 0)

	// Given up again, a recovered message counts on from 1.
	c.Close()
	c, k = connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("r"), Ack: AckIndividual, Prefetch: 2})
	wantCount(t, k.next(t), "unseen", 2)
	wantCount(t, k.next(t), "new", 1)
}

func TestRecoveredDurableBacklogIsMarkedRedelivered(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	c, k := connect(t, b, "app")
	subscribe(t, c, SubOptions{ID: "d", Dest: topic("news"), DurableName: "sub", Ack: AckIndividual})
	send(t, p2(t, b), topic("news"), "before", true)
	wantCount(t, k.next(t), "before", 0)

	b, _ = restart(t, b, st, Config{})
	c, k = connect(t, b, "app")
	subscribe(t, c, SubOptions{ID: "d", Dest: topic("news"), DurableName: "sub", Ack: AckIndividual})
	wantCount(t, k.next(t), "before", 1)
	send(t, p2(t, b), topic("news"), "after", true)
	wantCount(t, k.next(t), "after", 0)
}

func TestPagedOutRecoveredMessagesAreMarkedRedelivered(t *testing.T) {
	const n = 300 // 3 MB of bodies against a 1 MiB limit
	cfg := Config{MemoryLimit: 1 << 20, PageSize: 50}
	st := newMemStore()
	b := startBroker(t, st, cfg)
	p, _ := connect(t, b, "")
	big := func(i int) *message.Message {
		body := make([]byte, 10<<10)
		copy(body, fmt.Sprintf("%08d", i))
		return &message.Message{Dest: q("big"), Body: body, Persistent: true}
	}
	for i := 0; i < n; i++ {
		if err := p.Send(context.Background(), big(i), ""); err != nil {
			t.Fatal(err)
		}
	}

	b, _ = restart(t, b, st, cfg)
	if used := b.MemoryUsed(); used > 2<<20 {
		t.Fatalf("memory used %d after recovery with a 1 MiB limit: nothing paged out", used)
	}
	// Sent while memory is short, so paged out too, but not recovered.
	p, _ = connect(t, b, "")
	if err := p.Send(context.Background(), big(n), ""); err != nil {
		t.Fatal(err)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("big"), Ack: AckIndividual, Prefetch: 10})
	for i := 0; i <= n; i++ {
		d := k.next(t)
		want := int32(1)
		if i == n {
			want = 0
		}
		if got := string(d.Msg.Body[:8]); got != fmt.Sprintf("%08d", i) || d.Msg.DeliveryCount != want {
			t.Fatalf("message %d: got %s count %d, want count %d", i, got, d.Msg.DeliveryCount, want)
		}
		ack(t, c, d)
	}
}

// A recovered message's mark counts towards the redelivery limit, as the
// count the client sees does (see docs/broker.md), but it is always
// delivered at least once after recovery before it is dead-lettered.
func TestRecoveredMessageRedeliveryLimit(t *testing.T) {
	for _, tc := range []struct {
		max, deliveries int
	}{
		{max: 0, deliveries: 1},
		{max: 1, deliveries: 1},
		{max: 2, deliveries: 2},
		{max: DefaultMaxRedeliveries, deliveries: DefaultMaxRedeliveries},
	} {
		t.Run(fmt.Sprintf("max=%d", tc.max), func(t *testing.T) {
			st := newMemStore()
			b := startBroker(t, st, Config{})
			send(t, p2(t, b), q("flaky"), "x", true)
			b.Close()
			// startBroker reads 0 as the default; this one means it.
			b, err := New(Config{MaxRedeliveries: tc.max}, st.Reopen(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			for i := 1; i <= tc.deliveries; i++ {
				c, k := connect(t, b, "")
				subscribe(t, c, SubOptions{ID: "s", Dest: q("flaky"), Ack: AckIndividual})
				wantCount(t, k.next(t), "x", int32(i))
				c.Close() // not acknowledged
			}
			c, k := connect(t, b, "")
			subscribe(t, c, SubOptions{ID: "s", Dest: q("flaky"), Ack: AckIndividual})
			k.none(t)
			if s, _ := b.QueueStats(b.cfg.DLQ); s.Pending != 1 {
				t.Fatalf("DLQ after %d deliveries: %+v", tc.deliveries, s)
			}
		})
	}
}
