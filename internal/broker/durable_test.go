package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

func TestDurableSubscriptionKeepsMessagesWhileOffline(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	c, k := connect(t, b, "app")
	subscribe(t, c, SubOptions{ID: "d", Dest: topic("news"), DurableName: "sub1", Ack: AckIndividual})
	send(t, p, topic("news"), "online", true)
	ack(t, c, k.next(t))
	c.Close()
	send(t, p, topic("news"), "offline-1", true)
	send(t, p, topic("news"), "offline-2", false)
	if s, ok := b.DurableStats("app", "sub1"); !ok || s.Pending != 2 {
		t.Fatalf("durable backlog: %+v %v", s, ok)
	}
	// Restart the broker on the same store: the persistent one survives.
	b.Close()
	b2 := startBroker(t, st, Config{})
	c2, k2 := connect(t, b2, "app")
	subscribe(t, c2, SubOptions{ID: "d", Dest: topic("news"), DurableName: "sub1", Ack: AckIndividual})
	d := k2.next(t)
	if string(d.Msg.Body) != "offline-1" {
		t.Fatalf("got %q", d.Msg.Body)
	}
	ack(t, c2, d)
	k2.none(t) // the non-persistent one did not survive the restart
	// In use by another connection with the same subscription: refused.
	if err := c2.DeleteDurable(context.Background(), "sub1"); !errors.Is(err, ErrDurableInUse) {
		t.Fatalf("delete active durable: %v", err)
	}
	c2.Unsubscribe("d")
	if err := c2.DeleteDurable(context.Background(), "sub1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b2.DurableStats("app", "sub1"); ok {
		t.Fatal("durable still exists after delete")
	}
	if n := st.Subscriptions(); n != 0 {
		t.Fatalf("store still holds %d subscriptions", n)
	}
}

func TestDurableNeedsClientIDAndTopic(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, _ := connect(t, b, "")
	if _, err := c.Subscribe(context.Background(), SubOptions{ID: "x", Dest: topic("t"), DurableName: "n"}); !errors.Is(err, ErrNoClientID) {
		t.Fatalf("no client id: %v", err)
	}
	c2, _ := connect(t, b, "cid")
	if _, err := c2.Subscribe(context.Background(), SubOptions{ID: "x", Dest: q("t"), DurableName: "n"}); err == nil {
		t.Fatal("durable on a queue accepted")
	}
	if _, err := b.Connect(context.Background(), ConnOptions{ClientID: "cid", Sink: newSink()}); !errors.Is(err, ErrClientIDInUse) {
		t.Fatalf("duplicate client id: %v", err)
	}
}

func TestTempQueueLivesWithItsConnection(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	owner, k := connect(t, b, "")
	other, _ := connect(t, b, "")
	d, err := owner.TempDestination(message.TempQueue, owner.ID()+":1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Subscribe(context.Background(), SubOptions{ID: "s", Dest: d}); !errors.Is(err, ErrTempNotOwner) {
		t.Fatalf("other connection consuming a temp queue: %v", err)
	}
	subscribe(t, owner, SubOptions{ID: "s", Dest: d})
	send(t, other, d, "reply", false)
	if got := k.next(t); string(got.Msg.Body) != "reply" {
		t.Fatalf("got %q", got.Msg.Body)
	}
	owner.Close()
	err = other.Send(context.Background(), &message.Message{Dest: d, Body: []byte("late")}, "")
	if !errors.Is(err, ErrNoSuchTemp) {
		t.Fatalf("send to a deleted temp queue: %v", err)
	}
}

func TestRecoveryAfterRestart(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	for i := 0; i < 10; i++ {
		send(t, p, q("keep"), fmt.Sprint(i), i < 5)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("keep"), Ack: AckIndividual, Prefetch: 2})
	ack(t, c, k.next(t)) // 0 acknowledged
	k.next(t)            // 1 delivered, not acknowledged
	b.Close()
	b2 := startBroker(t, st, Config{})
	c2, k2 := connect(t, b2, "")
	subscribe(t, c2, SubOptions{ID: "s", Dest: q("keep"), Ack: AckIndividual})
	for i := 1; i < 5; i++ {
		d := k2.next(t)
		if string(d.Msg.Body) != fmt.Sprint(i) {
			t.Fatalf("after restart got %q want %d", d.Msg.Body, i)
		}
		ack(t, c2, d)
	}
	k2.none(t)
	// New messages get sequence numbers after the recovered ones.
	send(t, p2(t, b2), q("keep"), "new", true)
	if d := k2.next(t); string(d.Msg.Body) != "new" {
		t.Fatalf("got %q", d.Msg.Body)
	}
}

func p2(t *testing.T, b *Broker) *Conn {
	c, _ := connect(t, b, "")
	return c
}

func TestBacklogBeyondMemoryIsPagedFromStore(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{MemoryLimit: 1 << 20, PageSize: 50})
	p, _ := connect(t, b, "")
	body := make([]byte, 10<<10)
	const n = 500 // 5 MB of bodies against a 1 MiB limit
	for i := 0; i < n; i++ {
		copy(body, fmt.Sprintf("%08d", i))
		m := &message.Message{Dest: q("big"), Body: append([]byte(nil), body...), Persistent: true}
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	if used := b.MemoryUsed(); used > 2<<20 {
		t.Fatalf("memory used %d with a 1 MiB limit", used)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("big"), Ack: AckIndividual, Prefetch: 10})
	for i := 0; i < n; i++ {
		d := k.next(t)
		if got := string(d.Msg.Body[:8]); got != fmt.Sprintf("%08d", i) {
			t.Fatalf("message %d: got %s", i, got)
		}
		ack(t, c, d)
		if used := b.MemoryUsed(); used > 3<<20 {
			t.Fatalf("memory used %d while draining", used)
		}
	}
	if st.Count("queue://big") != 0 {
		t.Fatal("store not empty")
	}
}

func TestNonPersistentProducerBlockedAtMemoryLimit(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{MemoryLimit: 1 << 20, BlockTimeout: 200 * time.Millisecond})
	p, _ := connect(t, b, "")
	body := make([]byte, 64<<10)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = p.Send(context.Background(), &message.Message{Dest: q("np"), Body: body}, "")
	}
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("want ErrMemoryLimit once 1 MiB is held, got %v", err)
	}
	// A consumer frees memory and the producer may go on.
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("np"), Ack: AckAuto, Prefetch: 100})
	for i := 0; i < 10; i++ {
		ack(t, c, k.next(t))
	}
	if err := p.Send(context.Background(), &message.Message{Dest: q("np"), Body: body}, ""); err != nil {
		t.Fatalf("send after memory was freed: %v", err)
	}
}

func TestTempDestinationAdvisories(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	owner, _ := connect(t, b, "")
	early, err := owner.TempDestination(message.TempQueue, owner.ID()+":1")
	if err != nil {
		t.Fatal(err)
	}
	w, k := connect(t, b, "")
	subscribe(t, w, SubOptions{ID: "adv", Dest: topic(AdvisoryTempQueue + "," + AdvisoryTempTopic)})
	check := func(d *Delivery, op string, dest message.Destination) {
		t.Helper()
		if d.Msg.Properties[PropAdvisoryOp] != op || d.Msg.Properties[PropAdvisoryDest] != dest.String() {
			t.Fatalf("advisory %v, want %s %s", d.Msg.Properties, op, dest)
		}
	}
	check(k.next(t), "add", early) // replayed to the new subscriber
	tt, _ := owner.TempDestination(message.TempTopic, owner.ID()+":2")
	check(k.next(t), "add", tt)
	if err := owner.DeleteTemp(tt); err != nil {
		t.Fatal(err)
	}
	check(k.next(t), "remove", tt)
	owner.Close()
	check(k.next(t), "remove", early)
	k.none(t)
}

func TestResentPersistentMessageIsStoredOnce(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	msg := func(seq int64) *message.Message {
		return &message.Message{Dest: q("dedup"), Persistent: true, ProducerID: "ID:app-1:1:1", ProducerSeq: seq,
			ID: fmt.Sprintf("ID:app-1:1:1:%d", seq), Body: []byte(fmt.Sprint(seq))}
	}
	for seq := int64(1); seq <= 3; seq++ {
		if err := p.Send(context.Background(), msg(seq), ""); err != nil {
			t.Fatal(err)
		}
	}
	// The consumer takes and acknowledges message 2, then the producer
	// resends 2 and 3 after a failover, and a broker restart happens too.
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("dedup"), Ack: AckIndividual, Prefetch: 3})
	k.next(t)
	ack(t, c, k.next(t))
	k.next(t)
	c.Close()
	b.Close()
	b2 := startBroker(t, st, Config{})
	p2, _ := connect(t, b2, "")
	for _, seq := range []int64{2, 3, 4} {
		if err := p2.Send(context.Background(), msg(seq), ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Count("queue://dedup"); n != 3 {
		t.Fatalf("store holds %d messages, want 3 (1, 3 and the new 4)", n)
	}
	// Non-persistent messages are not audited (as in ActiveMQ).
	np := msg(1)
	np.Persistent = false
	if err := p2.Send(context.Background(), np, ""); err != nil {
		t.Fatal(err)
	}
	if s, _ := b2.QueueStats("dedup"); s.Pending != 4 {
		t.Fatalf("pending %d, want 4", s.Pending)
	}
}

func TestDurableLimitDropsBeyondIt(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{DurableLimit: func(s store.Subscription) int {
		if s.Name == "capped" {
			return 3
		}
		return 0
	}})
	c, k := connect(t, b, "cl")
	subscribe(t, c, SubOptions{ID: "a", Dest: topic("lim"), DurableName: "capped", Ack: AckIndividual, Prefetch: 1})
	subscribe(t, c, SubOptions{ID: "b", Dest: topic("lim"), DurableName: "free", Ack: AckAuto})
	p, _ := connect(t, b, "")
	for i := range 6 {
		send(t, p, topic("lim"), fmt.Sprint(i), true)
	}
	got := map[string][]string{}
	for range 6 + 1 { // the free one's six, and the capped one's first (prefetch 1)
		d := k.next(t)
		got[d.Sub.ID()] = append(got[d.Sub.ID()], string(d.Msg.Body))
		if d.Sub.ID() == "a" {
			ack(t, c, d)
		}
	}
	for range 2 {
		d := k.next(t)
		got[d.Sub.ID()] = append(got[d.Sub.ID()], string(d.Msg.Body))
		ack(t, c, d)
	}
	k.none(t)
	if fmt.Sprint(got["a"]) != "[0 1 2]" || len(got["b"]) != 6 {
		t.Fatalf("capped kept %v, uncapped %v", got["a"], got["b"])
	}
	send(t, p, topic("lim"), "room again", true)
	if d := k.next(t); string(d.Msg.Body) != "room again" {
		t.Fatalf("got %q", d.Msg.Body)
	}
}
