package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// forwardN receives n deliveries on k and forwards them to o.
func forwardN(t *testing.T, c *Conn, k *sink, o *Outbox, n int) []string {
	t.Helper()
	var tags []uint64
	var bodies []string
	for range n {
		d := k.next(t)
		tags = append(tags, d.Tag)
		bodies = append(bodies, string(d.Msg.Body))
	}
	if err := c.Forward(context.Background(), "bridge", tags, o); err != nil {
		t.Fatalf("forward: %v", err)
	}
	return bodies
}

func outboxBodies(t *testing.T, o *Outbox) []string {
	t.Helper()
	recs, err := o.Read(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for i, r := range recs {
		if i > 0 && r.Seq <= recs[i-1].Seq {
			t.Fatalf("outbox out of order: %d after %d", r.Seq, recs[i-1].Seq)
		}
		bodies = append(bodies, string(r.Msg.Body))
	}
	return bodies
}

func TestForwardMovesDeliveriesToOutbox(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{Name: "a"})
	p, _ := connect(t, b, "")
	send(t, p, q("work"), "m1", true)
	send(t, p, q("work"), "m2", false)
	send(t, p, q("work"), "m3", true)
	o, err := b.Outbox("c/b")
	if err != nil {
		t.Fatal(err)
	}
	bc, k := connect(t, b, "")
	subscribe(t, bc, SubOptions{ID: "bridge", Dest: q("work"), Ack: AckIndividual, Prefetch: 2, Priority: -5, Network: true})
	if got := forwardN(t, bc, k, o, 2); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Fatalf("forwarded %v", got)
	}
	recs, err := o.Read(context.Background(), 0, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("outbox: %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		m := r.Msg
		// Stored either way; the delivery mode stays the producer's.
		if m.ProducerID != "ID:pier-bridge:ID:a:c/b" || m.ProducerSeq != int64(r.Seq) || m.Persistent != (string(m.Body) != "m2") {
			t.Errorf("%s: producer %q seq %d (entry %d), persistent %v", m.Body, m.ProducerID, m.ProducerSeq, r.Seq, m.Persistent)
		}
		if !slices.Equal(m.BrokerPath, []string{"ID:a"}) {
			t.Errorf("%s: broker path %v", m.Body, m.BrokerPath)
		}
	}
	if err := bc.Forward(context.Background(), "bridge", []uint64{recs[0].Seq + 1000}, o); !errors.Is(err, ErrUnknownDelivery) {
		t.Fatalf("forward of an unknown tag: %v", err)
	}
	// The moved messages are gone for local consumers; the third is not.
	bc.Close()
	c, k2 := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("work"), Ack: AckIndividual})
	if d := k2.next(t); string(d.Msg.Body) != "m3" {
		t.Fatalf("local consumer got %q", d.Msg.Body)
	}
	k2.none(t)
	if err := o.Remove(context.Background(), recs[0].Seq); err != nil {
		t.Fatal(err)
	}
	if got := outboxBodies(t, o); !slices.Equal(got, []string{"m2"}) {
		t.Fatalf("outbox after remove: %v", got)
	}
}

func TestForwardFailureKeepsMessagesInQueue(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	send(t, p, q("work"), "m1", true)
	o, _ := b.Outbox("x")
	bc, k := connect(t, b, "")
	subscribe(t, bc, SubOptions{ID: "bridge", Dest: q("work"), Ack: AckIndividual})
	d := k.next(t)
	st.FailNext(errors.New("disk on fire"))
	if err := bc.Forward(context.Background(), "bridge", []uint64{d.Tag}, o); err == nil {
		t.Fatal("forward succeeded over a failing store")
	}
	if got := outboxBodies(t, o); len(got) != 0 {
		t.Fatalf("outbox after a failed forward: %v", got)
	}
	if d := k.next(t); string(d.Msg.Body) != "m1" || d.Msg.DeliveryCount != 1 {
		t.Fatalf("redelivered %q count %d", d.Msg.Body, d.Msg.DeliveryCount)
	}
}

// TestForwardRestartKeepsEveryMessageOnce restarts the broker after each
// of several forwards: every message sent is then in its queue or in the
// outbox, never both and never neither, and the outbox is recovered, not
// dispatched.
func TestForwardRestartKeepsEveryMessageOnce(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{Name: "a"})
	p, _ := connect(t, b, "")
	var all []string
	for i := range 12 {
		all = append(all, fmt.Sprintf("m%02d", i))
		send(t, p, q("work"), all[i], true)
	}
	var lastSeq uint64
	for round := range 3 {
		o, err := b.Outbox("c/b")
		if err != nil {
			t.Fatal(err)
		}
		bc, k := connect(t, b, "")
		subscribe(t, bc, SubOptions{ID: "bridge", Dest: q("work"), Ack: AckIndividual, Prefetch: 3})
		forwardN(t, bc, k, o, 3)
		b, st = restart(t, b, st, Config{Name: "a"})
		if !slices.Equal(b.Outboxes(), []string{"c/b"}) {
			t.Fatalf("round %d: outboxes after restart %v", round, b.Outboxes())
		}
		o, _ = b.Outbox("c/b")
		recs, err := o.Read(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(recs); n != 3*(round+1) || recs[n-1].Seq <= lastSeq {
			t.Fatalf("round %d: outbox holds %d, last seq %d (before %d)", round, n, recs[n-1].Seq, lastSeq)
		}
		lastSeq = recs[len(recs)-1].Seq
		if got, want := st.Count(o.Key()), 3*(round+1); got != want {
			t.Fatalf("round %d: store holds %d outbox entries, want %d", round, got, want)
		}
		if got, want := st.Count("queue://work"), 12-3*(round+1); got != want {
			t.Fatalf("round %d: store holds %d queued, want %d", round, got, want)
		}
	}
	o, _ := b.Outbox("c/b")
	moved := outboxBodies(t, o)
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("work"), Ack: AckIndividual, Prefetch: 100})
	var queued []string
	for range 12 - len(moved) {
		queued = append(queued, string(k.next(t).Msg.Body))
	}
	k.none(t)
	got := append(moved, queued...)
	slices.Sort(got)
	if !slices.Equal(got, all) {
		t.Fatalf("outbox %v + queue %v, want each of %v once", moved, queued, all)
	}
}

// TestConcurrentForwardsKeepOutboxOrder forwards from two subscriptions at
// once while a reader follows the outbox as a sender does (reading after
// the last sequence it saw): it must see every entry, which it would not
// if a lower sequence were stored after a higher one.
func TestConcurrentForwardsKeepOutboxOrder(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{Name: "a"})
	p, _ := connect(t, b, "")
	o, _ := b.Outbox("c/b")
	const n = 50
	done := make(chan error, 2)
	for _, name := range []string{"x", "y"} {
		for i := range n {
			send(t, p, q(name), fmt.Sprintf("%s%02d", name, i), true)
		}
		c, k := connect(t, b, "")
		subscribe(t, c, SubOptions{ID: "bridge", Dest: q(name), Ack: AckIndividual, Prefetch: 1})
		go func() {
			for range n {
				d := <-k.ch
				if err := c.Forward(context.Background(), "bridge", []uint64{d.Tag}, o); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	seen := make(chan int, 1)
	go func() {
		var last uint64
		count := 0
		deadline := time.Now().Add(10 * time.Second)
		for count < 2*n && time.Now().Before(deadline) {
			recs, _ := o.Read(context.Background(), last, 7)
			for _, r := range recs {
				last = r.Seq
				count++
			}
		}
		seen <- count
	}()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := <-seen; got != 2*n {
		t.Fatalf("a reader following the outbox saw %d entries of %d", got, 2*n)
	}
	recs, err := o.Read(context.Background(), 0, 1000)
	if err != nil || len(recs) != 2*n {
		t.Fatalf("outbox holds %d, want %d (%v)", len(recs), 2*n, err)
	}
	for i, r := range recs {
		if r.Msg.ProducerSeq != int64(r.Seq) || i > 0 && r.Seq <= recs[i-1].Seq {
			t.Fatalf("entry %d: seq %d, producer seq %d", i, r.Seq, r.Msg.ProducerSeq)
		}
	}
}
