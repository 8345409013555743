package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
)

// A rejected message waits in the scheduler, longer each time, then goes
// to its dead letter queue (ActiveMQ's redelivery plugin). The broker's
// clock is moved by hand: each redelivery comes at its delay to the
// millisecond, not a millisecond before.
func TestRedeliveryBackOff(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	b := startBroker(t, newMemStore(), Config{Now: clk.Now, MaxRedeliveries: 4, Destinations: []DestinationPolicy{{
		Pattern: "work.>", Policy: Policy{MaxRedeliveries: 4, DLQ: "ActiveMQ.DLQ", RedeliveryDelay: time.Second,
			BackOffMultiplier: 2, MaxRedeliveryDelay: 3 * time.Second},
	}}})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "w", Dest: q("work.a"), Prefetch: 10, Ack: AckIndividual})
	subscribe(t, c, SubOptions{ID: "dlq", Dest: q("ActiveMQ.DLQ"), Prefetch: 10})
	send(t, c, q("work.a"), "job", true)
	advance := func(d time.Duration) {
		clk.set(clk.Now().Add(d))
		b.sched.kick()
	}
	d := k.next(t)
	// Back-off 1 s, doubled each time, capped at 3 s; after 4 redeliveries
	// the next rejection dead-letters it at once.
	for i, delay := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		if d.Sub.ID() != "w" || d.Msg.DeliveryCount != int32(i) {
			t.Fatalf("delivery %d: on %s with count %d", i, d.Sub.ID(), d.Msg.DeliveryCount)
		}
		if err := c.Nack(context.Background(), "w", d.Tag, ""); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the retry to be scheduled", func() bool { return b.ScheduledJobs() == 1 })
		advance(delay - time.Millisecond)
		k.none(t)
		advance(time.Millisecond)
		d = k.next(t)
		if !d.Msg.Redelivered() {
			t.Errorf("redelivery %d is not marked redelivered", i+1)
		}
		// The firing counts its job gone once its batch is applied, which
		// may be just after the delivery.
		waitFor(t, "the fired job to be gone", func() bool { return b.ScheduledJobs() == 0 })
	}
	if err := c.Nack(context.Background(), "w", d.Tag, ""); err != nil {
		t.Fatal(err)
	}
	d = k.next(t)
	if d.Sub.ID() != "dlq" || d.Msg.OriginalDest != q("work.a") || d.Msg.Properties["dlqDeliveryFailureCause"] == nil {
		t.Errorf("after max redeliveries: on %s from %v, cause %v", d.Sub.ID(), d.Msg.OriginalDest, d.Msg.Properties["dlqDeliveryFailureCause"])
	}
	waitFor(t, "no job left", func() bool { return b.ScheduledJobs() == 0 })
}

// Without a delay (the default) a rejected message is dead-lettered at
// once; the individual strategy names a dead letter queue per destination.
func TestIndividualDeadLetterQueues(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{Default: Policy{IndividualDLQ: true}})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "o", Dest: q("orders"), Prefetch: 10, Ack: AckIndividual})
	subscribe(t, c, SubOptions{ID: "d", Dest: q(DefaultQueuePrefix + "orders"), Prefetch: 10})
	send(t, c, q("orders"), "bad", true)
	d := k.next(t)
	if err := c.Nack(context.Background(), "o", d.Tag, ""); err != nil {
		t.Fatal(err)
	}
	if d := k.next(t); d.Sub.ID() != "d" || string(d.Msg.Body) != "bad" {
		t.Fatalf("got %q on %s", d.Msg.Body, d.Sub.ID())
	}
	if _, ok := b.QueueStats("ActiveMQ.DLQ"); ok {
		t.Error("the shared dead letter queue was used")
	}
}

func TestPolicyFor(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{Destinations: []DestinationPolicy{
		{Pattern: "a.>", Policy: Policy{MaxRedeliveries: 1, DLQ: "DLQ.a"}},
		{Topic: true, Pattern: "a.>", Policy: Policy{MaxRedeliveries: 2, DLQ: "DLQ.t"}},
		{Pattern: ">", Policy: Policy{MaxRedeliveries: 3, DLQ: "DLQ.all"}},
	}})
	for d, want := range map[message.Destination]string{
		q("a.b"): "DLQ.a", topic("a.b"): "DLQ.t", q("b"): "DLQ.all", topic("b"): "ActiveMQ.DLQ",
		{Kind: message.TempQueue, Name: "a.x"}: "ActiveMQ.DLQ",
	} {
		if got := b.policyFor(d).DLQ; got != want {
			t.Errorf("%v: DLQ %q, want %q", d, got, want)
		}
	}
	p := Policy{RedeliveryDelay: time.Second, BackOffMultiplier: 5, MaxRedeliveryDelay: time.Minute}
	for n, want := range map[int32]time.Duration{0: time.Second, 1: time.Second, 2: 5 * time.Second, 3: 25 * time.Second, 4: time.Minute, 60: time.Minute} {
		if got := p.redeliveryDelay(n); got != want {
			t.Errorf("delay after %d deliveries = %v, want %v", n, got, want)
		}
	}
}

// FIFO dispatches in arrival order whatever the priority; priority order
// (the default) serves higher priorities first.
func TestFIFOPolicy(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{Destinations: []DestinationPolicy{{Pattern: "fifo.>", Policy: Policy{FIFO: true}}}})
	p, _ := connect(t, b, "")
	for _, name := range []string{"fifo.a", "prio.a"} {
		for i, prio := range []uint8{1, 9, 4} {
			m := &message.Message{Dest: q(name), Body: []byte{byte('0' + i)}, Priority: prio, Persistent: true}
			if err := p.Send(context.Background(), m, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range map[string]string{"fifo.a": "012", "prio.a": "120"} {
		c, k := connect(t, b, "")
		subscribe(t, c, SubOptions{ID: name, Dest: q(name), Prefetch: 10})
		got := ""
		for range 3 {
			got += string(k.next(t).Msg.Body)
		}
		if got != want {
			t.Errorf("%s delivered %s, want %s", name, got, want)
		}
	}
}

func TestPolicyPrefetch(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{Destinations: []DestinationPolicy{
		{Pattern: "slow.>", Policy: Policy{QueuePrefetch: 1}},
		{Topic: true, Pattern: "feed", Policy: Policy{TopicPrefetch: 5}},
	}})
	c, _ := connect(t, b, "")
	for _, tc := range []struct {
		o    SubOptions
		want int
	}{
		{SubOptions{ID: "1", Dest: q("slow.a")}, 1},
		{SubOptions{ID: "2", Dest: q("slow.b"), Prefetch: DefaultQueuePrefetch}, 1}, // what a JMS client sends by default
		{SubOptions{ID: "3", Dest: q("slow.c"), Prefetch: 50}, 50},                  // asked for
		{SubOptions{ID: "4", Dest: q("fast")}, DefaultQueuePrefetch},
		{SubOptions{ID: "5", Dest: topic("feed"), Prefetch: 32766}, 5},
		{SubOptions{ID: "6", Dest: q("slow.d"), Prefetch: PrefetchPull}, 0},
	} {
		s := subscribe(t, c, tc.o)
		if s.prefetch != tc.want {
			t.Errorf("%v prefetch %d: got %d, want %d", tc.o.Dest, tc.o.Prefetch, s.prefetch, tc.want)
		}
	}
}

// A queue's own memory limit: stored bodies beyond it stay on disk (and
// come back in order); non-persistent producers wait, or with producer
// flow control off fail at once.
func TestQueueMemoryLimit(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{BlockTimeout: 200 * time.Millisecond, Destinations: []DestinationPolicy{
		{Pattern: "small", Policy: Policy{MemoryLimit: 4 << 10}},
		{Pattern: "nopfc", Policy: Policy{MemoryLimit: 4 << 10, NoProducerFlowControl: true}},
	}})
	p, _ := connect(t, b, "")
	body := string(make([]byte, 1024))
	for i := range 20 {
		send(t, p, q("small"), fmt.Sprint(i)+body, true) // persistent: paged, never refused
	}
	if used := b.MemoryUsed(); used > 8<<10 {
		t.Errorf("%d bytes of bodies held for a queue limited to 4 KiB", used)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("small"), Prefetch: 100})
	for i := range 20 {
		d := k.next(t)
		if want := fmt.Sprint(i); string(d.Msg.Body[:len(want)]) != want {
			t.Fatalf("message %d came back as %q", i, d.Msg.Body[:4])
		}
		ack(t, c, d)
	}
	// Non-persistent: flow control waits (and times out here); off, it fails at once.
	for i := 0; i < 10; i++ {
		m := &message.Message{Dest: q("nopfc"), Body: []byte(body)}
		if err := p.Send(context.Background(), m, ""); err != nil {
			if !errors.Is(err, ErrMemoryLimit) || !strings.Contains(err.Error(), "producer flow control is off") {
				t.Fatalf("send %d: %v", i, err)
			}
			return
		}
	}
	t.Fatal("10 KiB of non-persistent messages went into a queue limited to 4 KiB without flow control")
}
