package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/piermq/pier/internal/message"
)

// nextAdvisory receives the next delivery of k and reads it as a consumer
// advisory.
func nextAdvisory(t *testing.T, k *sink) (ConsumerAdvisory, *message.Message) {
	t.Helper()
	d := k.next(t)
	a, ok := ConsumerAdvisoryOf(d.Msg)
	if !ok {
		t.Fatalf("not a consumer advisory: %+v", d.Msg)
	}
	return a, d.Msg
}

func listen(t *testing.T, b *Broker, name string, opts ...func(*SubOptions)) *sink {
	t.Helper()
	c, k := connect(t, b, "")
	o := SubOptions{ID: "adv", Dest: topic(name)}
	for _, f := range opts {
		f(&o)
	}
	subscribe(t, c, o)
	return k
}

func TestConsumerAdvisoryAddAndRemove(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{Name: "b1"})
	k := listen(t, b, "ActiveMQ.Advisory.Consumer.Queue.orders")
	c, _ := connect(t, b, "app")
	o := SubOptions{ID: "c1", Dest: q("orders"), Prefetch: 7, Selector: "x > 1", Priority: -2,
		Network: true, BrokerPath: []string{"ID:far", "ID:near"}}
	subscribe(t, c, o)

	got, m := nextAdvisory(t, k)
	want := ConsumerAdvisory{Op: AdvisoryAdd, Dest: q("orders"), ConsumerID: "c1", ConsumerSeq: 1,
		ConnectionID: c.ID(), ClientID: "app", Selector: "x > 1", Prefetch: 7, Priority: -2, Network: true,
		BrokerPath: []string{"ID:far", "ID:near"}, ConsumerCount: 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("add advisory:\n got %+v\nwant %+v", got, want)
	}
	if m.Persistent || m.Type != "Advisory" || m.Dest != topic("ActiveMQ.Advisory.Consumer.Queue.orders") {
		t.Fatalf("advisory message: persistent %v type %q dest %v", m.Persistent, m.Type, m.Dest)
	}
	if m.Properties[PropOriginBrokerName] != "b1" || m.Properties[PropOriginBrokerID] != b.ID() || b.ID() != "ID:b1" {
		t.Fatalf("origin properties %v, broker id %q", m.Properties, b.ID())
	}

	c2, _ := connect(t, b, "")
	subscribe(t, c2, SubOptions{ID: "c2", Dest: q("orders")})
	if got, _ := nextAdvisory(t, k); got.ConsumerID != "c2" || got.ConsumerCount != 2 || got.Prefetch != DefaultQueuePrefetch {
		t.Fatalf("second consumer: %+v", got)
	}
	if err := c.Unsubscribe("c1"); err != nil {
		t.Fatal(err)
	}
	got, _ = nextAdvisory(t, k)
	if got.Op != AdvisoryRemove || got.ConsumerID != "c1" || got.ConsumerSeq != 1 || got.ConsumerCount != 1 {
		t.Fatalf("remove advisory: %+v", got)
	}
	c2.Close() // closing the connection removes its consumers
	if got, _ := nextAdvisory(t, k); got.Op != AdvisoryRemove || got.ConsumerID != "c2" || got.ConsumerCount != 0 {
		t.Fatalf("remove at close: %+v", got)
	}
	k.none(t)
}

func TestConsumerAdvisoryTopics(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	k := listen(t, b, "ActiveMQ.Advisory.Consumer.>")
	c, _ := connect(t, b, "")
	tq, err := c.TempDestination(message.TempQueue, c.ID()+":1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dest  message.Destination
		topic string
	}{
		{topic("prices.eu"), "ActiveMQ.Advisory.Consumer.Topic.prices.eu"},
		{topic("prices.>"), "ActiveMQ.Advisory.Consumer.Topic.prices.>"},
		{q("a,b"), "ActiveMQ.Advisory.Consumer.Queue.a&sbquo;b"},
		{tq, "ActiveMQ.Advisory.Consumer.Queue." + tq.Name},
	} {
		subscribe(t, c, SubOptions{ID: tc.topic, Dest: tc.dest})
		a, m := nextAdvisory(t, k)
		if m.Dest.Name != tc.topic || a.Dest != tc.dest || a.ConsumerID != tc.topic {
			t.Errorf("consumer of %v: advisory on %q about %+v, want %q", tc.dest, m.Dest.Name, a, tc.topic)
		}
	}
	// A topic counts the subscriptions that cover it.
	subscribe(t, c, SubOptions{ID: "wild", Dest: topic("prices.*")})
	if a, _ := nextAdvisory(t, k); a.ConsumerCount != 2 {
		t.Errorf("consumer of prices.*: count %d, want 2 (prices.> and itself)", a.ConsumerCount)
	}
	subscribe(t, c, SubOptions{ID: "one", Dest: topic("prices.us")})
	if a, _ := nextAdvisory(t, k); a.ConsumerCount != 3 {
		t.Errorf("consumer of prices.us: count %d, want 3 (prices.>, prices.*, itself)", a.ConsumerCount)
	}
}

func TestAdvisoryConsumersAreNotAnnounced(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	k := listen(t, b, ">") // not an advisory topic: it is announced, and hears every advisory
	if a, m := nextAdvisory(t, k); a.Dest != topic(">") || m.Dest.Name != "ActiveMQ.Advisory.Consumer.Topic.>" {
		t.Fatalf("consumer of >: %+v on %v", a, m.Dest)
	}
	c, _ := connect(t, b, "")
	for i, name := range []string{"ActiveMQ.Advisory.Consumer.Queue.x", "ActiveMQ.Advisory.>",
		"ActiveMQ.Advisory.TempQueue,ActiveMQ.Advisory.TempTopic", "x,ActiveMQ.Advisory.Connection"} {
		subscribe(t, c, SubOptions{ID: fmt.Sprint(i), Dest: topic(name)})
	}
	if err := c.Unsubscribe("0"); err != nil {
		t.Fatal(err)
	}
	k.none(t)
}

func TestConsumerAdvisoryReplay(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, _ := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "q1", Dest: q("a")})
	subscribe(t, c, SubOptions{ID: "t1", Dest: topic("a")})
	subscribe(t, c, SubOptions{ID: "q2", Dest: q("b")})
	subscribe(t, c, SubOptions{ID: "gone", Dest: q("c")})
	if err := c.Unsubscribe("gone"); err != nil {
		t.Fatal(err)
	}
	ids := func(k *sink, n int) []string {
		var out []string
		for range n {
			a, _ := nextAdvisory(t, k)
			if a.Op != AdvisoryAdd {
				t.Fatalf("replayed %+v", a)
			}
			out = append(out, a.ConsumerID)
		}
		k.none(t)
		return out
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"ActiveMQ.Advisory.Consumer.Queue.a", []string{"q1"}},
		{"ActiveMQ.Advisory.Consumer.Queue.>", []string{"q1", "q2"}},
		{"ActiveMQ.Advisory.Consumer.>", []string{"q1", "t1", "q2"}},
		{"ActiveMQ.Advisory.Consumer.Topic.a,ActiveMQ.Advisory.Consumer.Queue.b", []string{"t1", "q2"}},
		{"ActiveMQ.Advisory.>", nil}, // hears new advisories only, as in ActiveMQ
	} {
		if got := ids(listen(t, b, tc.name), len(tc.want)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("replay to %s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// The selector of the advisory subscription applies to the replay.
	subscribe(t, c, SubOptions{ID: "q3", Dest: q("b")})
	k := listen(t, b, "ActiveMQ.Advisory.Consumer.>", func(o *SubOptions) { o.Selector = "consumerCount = 2" })
	if got := ids(k, 2); !reflect.DeepEqual(got, []string{"q2", "q3"}) {
		t.Errorf("replay through a selector: %v", got)
	}
}

func TestConsumerAdvisoryDurable(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	k := listen(t, b, "ActiveMQ.Advisory.Consumer.Topic.news")
	c, _ := connect(t, b, "client-1")
	subscribe(t, c, SubOptions{ID: "d", Dest: topic("news"), DurableName: "sub", Selector: "a = 1"})
	if a, _ := nextAdvisory(t, k); a.Op != AdvisoryAdd || a.DurableName != "sub" || a.ClientID != "client-1" ||
		a.Prefetch != DefaultDurablePrefetch || a.ConsumerCount != 1 {
		t.Fatalf("durable add: %+v", a)
	}
	if err := c.Unsubscribe("d"); err != nil {
		t.Fatal(err)
	}
	if a, _ := nextAdvisory(t, k); a.Op != AdvisoryRemove || a.ConsumerID != "d" || a.ConsumerCount != 0 {
		t.Fatalf("durable consumer closed: %+v", a)
	}
	if err := c.DeleteDurable(context.Background(), "sub"); err != nil {
		t.Fatal(err)
	}
	a, _ := nextAdvisory(t, k)
	want := ConsumerAdvisory{Op: AdvisoryUnsubscribe, Dest: topic("news"), ConnectionID: c.ID(), ClientID: "client-1",
		DurableName: "sub", Selector: "a = 1"}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("unsubscribe:\n got %+v\nwant %+v", a, want)
	}
}

func TestDurableListenerHearsAdvisories(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	l, k := connect(t, b, "listener")
	subscribe(t, l, SubOptions{ID: "l", Dest: topic("ActiveMQ.Advisory.Consumer.Queue.>"), DurableName: "adv"})
	if err := l.Unsubscribe("l"); err != nil { // inactive: its backlog keeps what comes
		t.Fatal(err)
	}
	c, _ := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "c", Dest: q("work")})
	subscribe(t, l, SubOptions{ID: "l", Dest: topic("ActiveMQ.Advisory.Consumer.Queue.>"), DurableName: "adv"})
	if a, _ := nextAdvisory(t, k); a.ConsumerID != "c" {
		t.Fatalf("durable listener got %+v", a)
	}
	if err := l.Unsubscribe("l"); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteDurable(context.Background(), "adv"); err != nil {
		t.Fatal(err)
	}
	if n := b.adv.listeners.Load(); n != 0 {
		t.Fatalf("%d listeners left", n)
	}
}

func TestTempConsumerRemovedWithItsDestination(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	k := listen(t, b, "ActiveMQ.Advisory.Consumer.Queue.>")
	c, _ := connect(t, b, "")
	tq, err := c.TempDestination(message.TempQueue, c.ID()+":1")
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, c, SubOptions{ID: "r", Dest: tq})
	if a, _ := nextAdvisory(t, k); a.Op != AdvisoryAdd {
		t.Fatalf("%+v", a)
	}
	c.Close() // consumers first, then temporary destinations: the removal is announced
	if a, _ := nextAdvisory(t, k); a.Op != AdvisoryRemove || a.Dest != tq {
		t.Fatalf("%+v", a)
	}
	c2, _ := connect(t, b, "")
	tq2, _ := c2.TempDestination(message.TempQueue, c2.ID()+":1")
	subscribe(t, c2, SubOptions{ID: "r", Dest: tq2})
	nextAdvisory(t, k)
	if err := c2.DeleteTemp(tq2); err != nil {
		t.Fatal(err)
	}
	if err := c2.Unsubscribe("r"); err != nil {
		t.Fatal(err)
	}
	k.none(t) // the destination is gone: as ActiveMQ, no removal
}

func TestOnlyAdvisoriesReadAsAdvisories(t *testing.T) {
	a := &ConsumerAdvisory{Op: AdvisoryAdd, Dest: q("a"), ConsumerID: "c", ConnectionID: "ID:x"}
	m := &message.Message{Dest: topic(ConsumerAdvisoryTopic(a.Dest)), Type: AdvisoryType, Properties: a.properties()}
	if got, ok := ConsumerAdvisoryOf(m); !ok || got.ConsumerID != "c" {
		t.Fatalf("advisory not read: %+v", got)
	}
	for _, forged := range []*message.Message{
		{Dest: q("ActiveMQ.Advisory.Consumer.Queue.a"), Type: AdvisoryType, Properties: m.Properties},
		{Dest: topic("orders"), Type: AdvisoryType, Properties: m.Properties},
		{Dest: m.Dest, Type: "other", Properties: m.Properties},
	} {
		if _, ok := ConsumerAdvisoryOf(forged); ok {
			t.Errorf("%v of type %q read as an advisory", forged.Dest, forged.Type)
		}
	}
}

func TestBrokerPathIsChecked(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, _ := connect(t, b, "")
	for _, path := range [][]string{{""}, {"ID:a,b"}} {
		if _, err := c.Subscribe(context.Background(), SubOptions{ID: "x", Dest: q("a"), BrokerPath: path}); !errors.Is(err, ErrBrokerPath) {
			t.Errorf("path %q: %v, want ErrBrokerPath", path, err)
		}
	}
}

func TestNoListenerNoAllocation(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, _ := connect(t, b, "")
	s := subscribe(t, c, SubOptions{ID: "s", Dest: q("a")})
	ts := subscribe(t, c, SubOptions{ID: "t", Dest: topic("prices.>")})
	if n := testing.AllocsPerRun(100, func() {
		b.consumerRemoved(s)
		b.consumerAdded(s)
	}); n != 0 {
		t.Errorf("announcing a consumer with no listener: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		l := b.listen(ts)
		defer l.done()
		b.mu.Lock()
		l.count()
		b.mu.Unlock()
		l.replayConsumers()
	}); n != 0 {
		t.Errorf("attaching a topic consumer: %v allocations", n)
	}
	if n := b.adv.listeners.Load(); n != 0 {
		t.Fatalf("listeners %d", n)
	}
}

func TestAdvisoryPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		hear    bool
	}{
		{">", true}, {"ActiveMQ.>", true}, {"ActiveMQ.Advisory.>", true}, {"*.*.*.*.*", true},
		{"ActiveMQ.Advisory.Consumer.Queue.x", true}, {"ActiveMQ.Advisory.Consumer.Topic.*", true},
		{"ActiveMQ.Advisory.Consumer.*.a.b.c", true}, {"a,ActiveMQ.Advisory.Consumer.>", true},
		{"ActiveMQ.Advisory.Consumer.Queue", false}, {"ActiveMQ.Advisory.Consumer.Other.x", false},
		{"ActiveMQ.Advisory.TempQueue", false}, {"*.*.*.*", false}, {"orders", false}, {"ActiveMQ.Advisory.Producer.>", false},
	} {
		if got := mayHearConsumerAdvisories(tc.pattern); got != tc.hear {
			t.Errorf("mayHear(%q) = %v, want %v", tc.pattern, got, tc.hear)
		}
	}
	for d, want := range map[message.Destination]bool{
		topic("ActiveMQ.Advisory.Connection"): true, topic("a,topic://ActiveMQ.Advisory.X"): true,
		q("ActiveMQ.Advisory.X"): false, topic("ActiveMQ.>"): false, topic("orders"): false,
	} {
		if IsAdvisory(d) != want {
			t.Errorf("IsAdvisory(%v) = %v", d, !want)
		}
	}
}

// TestConsumerAdvisoryOrderUnderChurn has consumers come and go while
// subscribers of their advisories arrive: each subscriber must hear of
// every consumer at most once as added, never of its removal first, and
// end up knowing exactly the consumers that exist.
func TestConsumerAdvisoryOrderUnderChurn(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	const workers, rounds, listeners = 4, 60, 6
	var wg sync.WaitGroup
	live := make([]map[string]bool, workers)
	for w := range workers {
		c, _ := connect(t, b, "")
		live[w] = map[string]bool{}
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range rounds {
				id := fmt.Sprint(i % 7)
				key := c.ID() + "/" + id
				if live[w][key] {
					if err := c.Unsubscribe(id); err != nil {
						t.Error(err)
					}
					delete(live[w], key)
				} else {
					dest := q(fmt.Sprint("churn.", r.IntN(3)))
					if r.IntN(2) == 0 {
						dest = topic(fmt.Sprint("churn.", r.IntN(3)))
					}
					if _, err := c.Subscribe(context.Background(), SubOptions{ID: id, Dest: dest}); err != nil {
						t.Error(err)
					}
					live[w][key] = true
				}
			}
		})
	}
	var sinks []*sink
	for range listeners {
		sinks = append(sinks, listen(t, b, "ActiveMQ.Advisory.Consumer.>"))
	}
	wg.Wait()
	want := map[string]bool{}
	for _, m := range live {
		for k := range m {
			want[k] = true
		}
	}
	for i, k := range sinks {
		known := map[string]bool{}
	drain:
		for {
			select {
			case d := <-k.ch:
				a, _ := ConsumerAdvisoryOf(d.Msg)
				key := a.ConnectionID + "/" + a.ConsumerID
				switch {
				case a.Op == AdvisoryAdd && known[key]:
					t.Fatalf("listener %d: %s added twice", i, key)
				case a.Op == AdvisoryAdd:
					known[key] = true
				case !known[key]:
					t.Fatalf("listener %d: %s removed before it was added", i, key)
				default:
					delete(known, key)
				}
			default:
				break drain
			}
		}
		if !reflect.DeepEqual(known, want) {
			t.Errorf("listener %d knows %d consumers, %d exist", i, len(known), len(want))
		}
	}
}
