package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQueueRoundRobinWithinPrefetch(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c1, k1 := connect(t, b, "")
	c2, k2 := connect(t, b, "")
	subscribe(t, c1, SubOptions{ID: "a", Dest: q("work"), Ack: AckIndividual, Prefetch: 1})
	subscribe(t, c2, SubOptions{ID: "b", Dest: q("work"), Ack: AckIndividual, Prefetch: 1})
	for i := 0; i < 4; i++ {
		send(t, p, q("work"), fmt.Sprint(i), true)
	}
	d1, d2 := k1.next(t), k2.next(t)
	k1.none(t) // prefetch 1: nothing more until acknowledged
	k2.none(t)
	ack(t, c1, d1)
	ack(t, c2, d2)
	d3, d4 := k1.next(t), k2.next(t)
	got := map[string]bool{}
	for _, d := range []*Delivery{d1, d2, d3, d4} {
		got[string(d.Msg.Body)] = true
	}
	if len(got) != 4 {
		t.Fatalf("each message once to one consumer: got %v", got)
	}
	ack(t, c1, d3)
	ack(t, c2, d4)
	if st, _ := b.QueueStats("work"); st.Pending != 0 || st.InFlight != 0 {
		t.Fatalf("stats after all acks: %+v", st)
	}
}

func TestPerProducerOrder(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	for i := 0; i < 500; i++ {
		send(t, p, q("ordered"), fmt.Sprint(i), i%2 == 0)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("ordered"), Ack: AckAuto})
	for i := 0; i < 500; i++ {
		d := k.next(t)
		if string(d.Msg.Body) != fmt.Sprint(i) {
			t.Fatalf("message %d: got %q", i, d.Msg.Body)
		}
		ack(t, c, d)
	}
	if n := st.Count("queue://ordered"); n != 0 {
		t.Fatalf("store still holds %d messages after acks", n)
	}
}

func TestTopicFanOutAndWildcards(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c1, k1 := connect(t, b, "")
	c2, k2 := connect(t, b, "")
	c3, k3 := connect(t, b, "")
	subscribe(t, c1, SubOptions{ID: "1", Dest: topic("prices.eu.gold")})
	subscribe(t, c2, SubOptions{ID: "2", Dest: topic("prices.*.gold")})
	subscribe(t, c3, SubOptions{ID: "3", Dest: topic("prices.>")})
	send(t, p, topic("prices.eu.gold"), "g", false)
	send(t, p, topic("prices.us.silver"), "s", false)
	for _, k := range []*sink{k1, k2, k3} {
		if d := k.next(t); string(d.Msg.Body) != "g" {
			t.Fatalf("got %q want g", d.Msg.Body)
		}
	}
	if d := k3.next(t); string(d.Msg.Body) != "s" {
		t.Fatalf("got %q want s", d.Msg.Body)
	}
	k1.none(t)
	k2.none(t)
}

func TestWildcardQueueConsumer(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	send(t, p, q("jobs.a"), "early", true)
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "w", Dest: q("jobs.>"), Ack: AckAuto})
	send(t, p, q("jobs.b"), "late", true) // queue created after the subscription
	send(t, p, q("other"), "no", true)
	got := map[string]bool{string(k.next(t).Msg.Body): true, string(k.next(t).Msg.Body): true}
	if !got["early"] || !got["late"] {
		t.Fatalf("got %v", got)
	}
	k.none(t)
	if err := c.Send(context.Background(), &message.Message{Dest: q("jobs.>")}, ""); !errors.Is(err, ErrWildcardSend) {
		t.Fatalf("send to wildcard: %v", err)
	}
}

func TestNoLocal(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: topic("chat"), NoLocal: true})
	send(t, c, topic("chat"), "mine", false)
	p, _ := connect(t, b, "")
	send(t, p, topic("chat"), "theirs", false)
	if d := k.next(t); string(d.Msg.Body) != "theirs" {
		t.Fatalf("got %q", d.Msg.Body)
	}
}

func TestPriority(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	for i, pr := range []uint8{1, 9, 4, 9, 0} {
		m := &message.Message{Dest: q("prio"), Body: []byte(fmt.Sprint(i)), Priority: pr, Persistent: true}
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("prio")})
	var got string
	for i := 0; i < 5; i++ {
		got += string(k.next(t).Msg.Body)
	}
	if got != "13204" {
		t.Fatalf("priority order: got %s want 13204", got)
	}
}

func TestClientAckIsCumulative(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("cum"), Ack: AckClient})
	for i := 0; i < 3; i++ {
		send(t, p, q("cum"), fmt.Sprint(i), true)
	}
	k.next(t)
	d2 := k.next(t)
	d3 := k.next(t)
	ack(t, c, d2) // covers the first two
	if n := st.Count("queue://cum"); n != 1 {
		t.Fatalf("store holds %d, want 1 after cumulative ack", n)
	}
	if err := c.Ack(context.Background(), "s", d2.Tag, "", true); !errors.Is(err, ErrUnknownDelivery) {
		t.Fatalf("second ack of the same delivery: %v", err)
	}
	ack(t, c, d3)
	if n := st.Count("queue://cum"); n != 0 {
		t.Fatalf("store holds %d, want 0", n)
	}
}

func TestRedeliveryAndDeadLetter(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{MaxRedeliveries: 2})
	p, _ := connect(t, b, "")
	send(t, p, q("flaky"), "x", true)
	for i := 0; i < 3; i++ {
		c, k := connect(t, b, "")
		subscribe(t, c, SubOptions{ID: "s", Dest: q("flaky"), Ack: AckIndividual})
		d := k.next(t)
		if d.Msg.DeliveryCount != int32(i) || d.Msg.Redelivered() != (i > 0) {
			t.Fatalf("delivery %d: count %d", i, d.Msg.DeliveryCount)
		}
		c.Close() // not acknowledged
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "dlq", Dest: q("ActiveMQ.DLQ")})
	d := k.next(t)
	if string(d.Msg.Body) != "x" || d.Msg.OriginalDest != q("flaky") || !d.Msg.Persistent {
		t.Fatalf("dead letter: %+v", d.Msg)
	}
	if cause, _ := d.Msg.Properties["dlqDeliveryFailureCause"].(string); cause == "" {
		t.Fatal("no dlqDeliveryFailureCause")
	}
	if st.Count("queue://flaky") != 0 || st.Count("queue://ActiveMQ.DLQ") != 1 {
		t.Fatalf("store: flaky %d dlq %d", st.Count("queue://flaky"), st.Count("queue://ActiveMQ.DLQ"))
	}
}

func TestNackDeadLetters(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("n"), Ack: AckIndividual})
	send(t, p, q("n"), "bad", false)
	d := k.next(t)
	if err := c.Nack(context.Background(), "s", d.Tag, ""); err != nil {
		t.Fatal(err)
	}
	k.none(t)
	if st, _ := b.QueueStats("ActiveMQ.DLQ"); st.Pending != 1 {
		t.Fatalf("DLQ: %+v", st)
	}
}

func TestTransactions(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("tx"), Ack: AckIndividual})
	ctx := context.Background()
	if err := p.Begin("t1"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		m := &message.Message{Dest: q("tx"), Body: []byte(fmt.Sprint(i)), Persistent: true}
		if err := p.Send(ctx, m, "t1"); err != nil {
			t.Fatal(err)
		}
	}
	k.none(t)
	if err := p.Commit(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	ds := []*Delivery{k.next(t), k.next(t), k.next(t)}
	// Aborted sends vanish.
	p.Begin("t2")
	p.Send(ctx, &message.Message{Dest: q("tx"), Body: []byte("never")}, "t2")
	if err := p.Abort("t2", true); err != nil {
		t.Fatal(err)
	}
	// Acks in an aborted transaction (STOMP style) stay delivered and can be acked again.
	c.Begin("t3")
	if err := c.Ack(ctx, "s", ds[0].Tag, "t3", true); err != nil {
		t.Fatal(err)
	}
	c.Abort("t3", false)
	if n := st.Count("queue://tx"); n != 3 {
		t.Fatalf("after abort store holds %d, want 3", n)
	}
	if err := c.Ack(ctx, "s", ds[0].Tag, "", true); err != nil {
		t.Fatalf("ack again after abort: %v", err)
	}
	if n := st.Count("queue://tx"); n != 2 {
		t.Fatalf("after re-ack store holds %d, want 2", n)
	}
	// JMS-style rollback redelivers.
	c.Begin("t4")
	c.Ack(ctx, "s", ds[1].Tag, "t4", true)
	c.Abort("t4", true)
	rd := k.next(t)
	if string(rd.Msg.Body) != "1" || !rd.Msg.Redelivered() {
		t.Fatalf("redelivered after rollback: %q redelivered=%v", rd.Msg.Body, rd.Msg.Redelivered())
	}
	// Commit acks atomically.
	c.Begin("t5")
	for _, d := range []*Delivery{rd, ds[2]} {
		if err := c.Ack(ctx, "s", d.Tag, "t5", false); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Count("queue://tx"); n != 2 {
		t.Fatalf("before commit store holds %d", n)
	}
	if err := c.Commit(ctx, "t5"); err != nil {
		t.Fatal(err)
	}
	if n := st.Count("queue://tx"); n != 0 {
		t.Fatalf("after commit store holds %d, want 0", n)
	}
	k.none(t)
	if err := c.Commit(ctx, "nope"); !errors.Is(err, ErrNoSuchTx) {
		t.Fatalf("commit unknown tx: %v", err)
	}
}

func TestFailedStoreWriteLosesNothingVisible(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	st.FailNext(errors.New("disk on fire"))
	m := &message.Message{Dest: q("f"), Body: []byte("x"), Persistent: true}
	if err := p.Send(context.Background(), m, ""); err == nil {
		t.Fatal("send succeeded although the store failed")
	}
	if s, _ := b.QueueStats("f"); s.Pending != 0 {
		t.Fatalf("failed send left %d pending", s.Pending)
	}
}

func TestExpiredMessages(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	st := newMemStore()
	b := startBroker(t, st, Config{Now: clock})
	p, _ := connect(t, b, "")
	past := now.Add(-time.Second).UnixMilli()
	for _, m := range []*message.Message{
		{Dest: q("exp"), Body: []byte("gone-persistent"), Persistent: true, Expiration: past},
		{Dest: q("exp"), Body: []byte("gone-transient"), Expiration: past},
		{Dest: q("exp"), Body: []byte("fresh"), Persistent: true, Expiration: now.Add(time.Hour).UnixMilli()},
	} {
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("exp")})
	if d := k.next(t); string(d.Msg.Body) != "fresh" {
		t.Fatalf("got %q, want only the unexpired message", d.Msg.Body)
	}
	k.none(t)
	// As ActiveMQ does: the expired persistent message is dead-lettered,
	// the non-persistent one dropped.
	subscribe(t, c, SubOptions{ID: "dlq", Dest: q("ActiveMQ.DLQ")})
	d := k.next(t)
	if string(d.Msg.Body) != "gone-persistent" || d.Msg.Properties["dlqDeliveryFailureCause"] != "expired" || d.Msg.Expiration != 0 {
		t.Fatalf("dead letter %q %v", d.Msg.Body, d.Msg.Properties)
	}
	k.none(t)
	if n := st.Count("queue://exp"); n != 1 {
		t.Fatalf("store holds %d of queue://exp, want 1", n)
	}
}

func TestStoreFullIsAClearError(t *testing.T) {
	st := storetest.NewMemory(4096)
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = p.Send(context.Background(), &message.Message{Dest: q("full"), Body: make([]byte, 512), Persistent: true}, "")
	}
	if !errors.Is(err, ErrStoreFull) {
		t.Fatalf("want ErrStoreFull, got %v", err)
	}
	if s, _ := b.QueueStats("full"); s.Pending != st.Count("queue://full") {
		t.Fatalf("%d pending in memory but %d stored: a refused send left a trace", s.Pending, st.Count("queue://full"))
	}
	// Non-persistent messages are not stored and still flow.
	if err := p.Send(context.Background(), &message.Message{Dest: q("full"), Body: []byte("x")}, ""); err != nil {
		t.Fatalf("non-persistent send with a full store: %v", err)
	}
}

func TestPullConsumerGetsOnlyWhatItAsksFor(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c, k := connect(t, b, "")
	s := subscribe(t, c, SubOptions{ID: "s", Dest: q("pull"), Ack: AckIndividual, Prefetch: PrefetchPull})
	for i := 0; i < 3; i++ {
		send(t, p, q("pull"), fmt.Sprint(i), true)
	}
	k.none(t)
	s.Pull()
	d := k.next(t)
	k.none(t)
	if s.CancelPull() {
		t.Fatal("CancelPull after the pull was answered reported it unanswered")
	}
	ack(t, c, d)
	k.none(t) // acknowledging gives no window to a pull consumer
	s.Pull()
	s.Pull()
	if got := string(k.next(t).Msg.Body) + string(k.next(t).Msg.Body); got != "12" {
		t.Fatalf("got %q", got)
	}
	s.Pull()
	if !s.CancelPull() {
		t.Fatal("a pull on an empty queue was answered")
	}
	send(t, p, q("pull"), "late", true)
	k.none(t)
}

func TestExtendWidensTheWindowUntilAcknowledged(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c, k := connect(t, b, "")
	s := subscribe(t, c, SubOptions{ID: "s", Dest: q("ext"), Ack: AckClient, Prefetch: 2})
	for i := 0; i < 6; i++ {
		send(t, p, q("ext"), fmt.Sprint(i), true)
	}
	k.next(t)
	k.next(t)
	k.none(t)
	s.Extend(2) // "two delivered": room for two more
	k.next(t)
	d4 := k.next(t)
	k.none(t)
	ack(t, c, d4) // cumulative: all four; the extension is used up
	k.next(t)
	k.next(t)
	k.none(t)
}

func TestAckTagsAcknowledgesExactlyThose(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("tags"), Ack: AckClient})
	for i := 0; i < 4; i++ {
		send(t, p, q("tags"), fmt.Sprint(i), true)
	}
	ds := []*Delivery{k.next(t), k.next(t), k.next(t), k.next(t)}
	if err := c.AckTags(context.Background(), "s", []uint64{ds[1].Tag, ds[3].Tag}, "", true); err != nil {
		t.Fatal(err)
	}
	if n := st.Count("queue://tags"); n != 2 {
		t.Fatalf("store holds %d, want 2", n)
	}
	if err := c.AckTags(context.Background(), "s", []uint64{ds[0].Tag, ds[1].Tag}, "", true); !errors.Is(err, ErrUnknownDelivery) {
		t.Fatalf("acking an acknowledged delivery: %v", err)
	}
	if n := st.Count("queue://tags"); n != 2 {
		t.Fatalf("a refused ack removed messages: store holds %d", n)
	}
}

func TestCompositeDestinations(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	cq, kq := connect(t, b, "")
	ct, kt := connect(t, b, "")
	subscribe(t, cq, SubOptions{ID: "q", Dest: q("c.one,c.two"), Ack: AckAuto})
	subscribe(t, ct, SubOptions{ID: "t", Dest: topic("news.a,news.b")})
	send(t, p, q("c.two"), "q2", true)
	send(t, p, q("c.one"), "q1", true)
	got := map[string]string{}
	for i := 0; i < 2; i++ {
		d := kq.next(t)
		got[string(d.Msg.Body)] = d.Msg.Dest.Name
	}
	if got["q1"] != "c.one" || got["q2"] != "c.two" {
		t.Fatalf("composite queue consumer got %v", got)
	}
	// One send to a composite reaches a queue and a topic, each copy
	// addressed to its own destination.
	m := &message.Message{Dest: message.Destination{Kind: message.Queue, Name: "c.one,topic://news.b"}, Body: []byte("both")}
	if err := p.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
	if d := kq.next(t); d.Msg.Dest != q("c.one") {
		t.Fatalf("queue copy addressed to %v", d.Msg.Dest)
	}
	if d := kt.next(t); d.Msg.Dest != topic("news.b") || string(d.Msg.Body) != "both" {
		t.Fatalf("topic copy %v %q", d.Msg.Dest, d.Msg.Body)
	}
	if _, err := cq.Subscribe(context.Background(), SubOptions{ID: "x", Dest: q("a,topic://b")}); err == nil {
		t.Fatal("a consumer mixing queues and topics was accepted")
	}
}

func TestBrowseSeesWithoutConsuming(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{MemoryLimit: 1 << 20})
	p, _ := connect(t, b, "")
	body := make([]byte, 100<<10) // 20 × 100 KiB: most are paged out
	for i := 0; i < 20; i++ {
		m := &message.Message{Dest: q("br"), Persistent: true, Body: append([]byte(fmt.Sprint(i, ":")), body...)}
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := p.Browse(context.Background(), q("br"), "", 0)
	if err != nil || len(ms) != 20 {
		t.Fatalf("browse: %d messages, %v", len(ms), err)
	}
	for i, m := range ms {
		if want := fmt.Sprint(i, ":"); string(m.Body[:len(want)]) != want {
			t.Fatalf("browse message %d starts %q", i, m.Body[:8])
		}
	}
	if ms, _ := p.Browse(context.Background(), q("br"), "", 5); len(ms) != 5 {
		t.Fatalf("browse max 5 gave %d", len(ms))
	}
	if s, _ := b.QueueStats("br"); s.Pending != 20 {
		t.Fatalf("browsing consumed: %+v", s)
	}
	if ms, err := p.Browse(context.Background(), q("nothing"), "", 0); err != nil || len(ms) != 0 {
		t.Fatalf("browse of a missing queue: %v %v", ms, err)
	}
}

func TestSelectors(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	red, kr := connect(t, b, "")
	plain, ka := connect(t, b, "")
	subscribe(t, red, SubOptions{ID: "r", Dest: q("sel"), Ack: AckAuto, Selector: "color = 'red' AND weight > 10"})
	sendProps := func(d message.Destination, body string, props map[string]any) {
		t.Helper()
		if err := p.Send(context.Background(), &message.Message{Dest: d, Body: []byte(body), Properties: props}, ""); err != nil {
			t.Fatal(err)
		}
	}
	sendProps(q("sel"), "blue", map[string]any{"color": "blue", "weight": int32(20)})
	sendProps(q("sel"), "light-red", map[string]any{"color": "red", "weight": int32(5)})
	sendProps(q("sel"), "heavy-red", map[string]any{"color": "red", "weight": int64(11)})
	if d := kr.next(t); string(d.Msg.Body) != "heavy-red" {
		t.Fatalf("selector consumer got %q", d.Msg.Body)
	}
	kr.none(t)
	// The messages nobody selected wait for another consumer, in order.
	if ms, _ := p.Browse(context.Background(), q("sel"), "weight < 10", 0); len(ms) != 1 || string(ms[0].Body) != "light-red" {
		t.Fatalf("browse with a selector: %d messages", len(ms))
	}
	subscribe(t, plain, SubOptions{ID: "a", Dest: q("sel"), Ack: AckAuto})
	if got := string(ka.next(t).Msg.Body) + "," + string(ka.next(t).Msg.Body); got != "blue,light-red" {
		t.Fatalf("plain consumer got %s", got)
	}
	// Topic subscribers are filtered when the message is published.
	subscribe(t, red, SubOptions{ID: "t", Dest: topic("sel.t"), Selector: "JMSPriority > 6"})
	sendProps(topic("sel.t"), "low", nil)
	if err := p.Send(context.Background(), &message.Message{Dest: topic("sel.t"), Body: []byte("high"), Priority: 9}, ""); err != nil {
		t.Fatal(err)
	}
	if d := kr.next(t); string(d.Msg.Body) != "high" {
		t.Fatalf("topic selector passed %q", d.Msg.Body)
	}
	if _, err := red.Subscribe(context.Background(), SubOptions{ID: "bad", Dest: q("x"), Selector: "color = "}); !errors.Is(err, ErrSelector) {
		t.Fatalf("invalid selector: %v", err)
	}
}
