package network

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/broker"
)

// node is one broker of a test network: the core, its OpenWire address and
// its bridges.
type node struct {
	b    *broker.Broker
	addr string
	net  *Network
	// login is what test clients log in with (a broker with users).
	login client.Options
}

// nodes starts brokers with OpenWire listeners.
func nodes(t *testing.T, names ...string) []*node {
	t.Helper()
	var out []*node
	for _, n := range names {
		b := startBroker(t, n)
		addr, _ := serve(t, b, "127.0.0.1:0")
		out = append(out, &node{b: b, addr: addr})
	}
	return out
}

// link runs a connector on from toward each of to, with ttl, until the
// end of the test.
func link(t *testing.T, from *node, ttl int, to ...*node) {
	t.Helper()
	linkStoppable(t, from, ttl, to...)
}

// linkStoppable is link, returning a function that stops the bridges
// (idempotent; also run at the end of the test).
func linkStoppable(t *testing.T, from *node, ttl int, to ...*node) (stop func()) {
	t.Helper()
	c := Connector{Name: "net", TTL: ttl, Conduit: true}
	for _, n := range to {
		c.Members = append(c.Members, []string{n.addr})
	}
	nw, err := New(Config{Connectors: []Connector{c}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	from.net = nw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nw.Run(ctx, from.b) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// demandOf returns the remote consumers from's bridges serve.
func demandOf(n *node) int {
	total := 0
	for _, s := range n.net.Status() {
		total += s.Demand
	}
	return total
}

func dial(t *testing.T, n *node) *client.Conn {
	t.Helper()
	c, err := client.Dial(context.Background(), n.addr, n.login)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// producer returns a producer to d on a new connection to n.
func producer(t *testing.T, n *node, d *client.Destination) *client.Producer {
	t.Helper()
	ctx := context.Background()
	s, err := dial(t, n).Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Producer(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func produce(t *testing.T, n *node, d *client.Destination, from, to int) {
	t.Helper()
	ctx := context.Background()
	p := producer(t, n, d)
	for i := from; i < to; i++ {
		if err := p.Send(ctx, client.NewTextMessage(fmt.Sprintf("m%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

// ledger counts what consumers received, by body.
type ledger struct {
	mu  sync.Mutex
	got map[string]int
	by  map[string]int // consumer name → messages
}

func newLedger() *ledger { return &ledger{got: map[string]int{}, by: map[string]int{}} }

func (l *ledger) add(who string, m *client.Message) {
	text, _ := m.Text()
	l.mu.Lock()
	l.got[text]++
	l.by[who]++
	l.mu.Unlock()
}

func (l *ledger) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.got)
}

// exactlyOnce fails unless bodies from..to-1 each arrived once.
func (l *ledger) exactlyOnce(t *testing.T, from, to int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := from; i < to; i++ {
		if n := l.got[fmt.Sprintf("m%04d", i)]; n != 1 {
			t.Errorf("m%04d received %d times", i, n)
		}
	}
	if len(l.got) != to-from {
		t.Errorf("received %d distinct messages, want %d", len(l.got), to-from)
	}
}

// consume receives on d at n into l until stop is closed; each message is
// acknowledged after delay. It returns a function that closes the consumer.
func consume(t *testing.T, n *node, d *client.Destination, who string, l *ledger, prefetch int, delay time.Duration,
	opts ...client.ConsumerOption) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := dial(t, n)
	s, err := c.Session(ctx, client.IndividualAck)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Consumer(ctx, d, append([]client.ConsumerOption{client.Prefetch(prefetch)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := k.Receive(ctx)
			if err != nil || ctx.Err() != nil {
				return // unacknowledged: redelivered
			}
			time.Sleep(delay)
			if err := m.Ack(context.Background()); err != nil {
				return
			}
			l.add(who, m)
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
			k.Close(context.Background())
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestBridgeForwardsToRemoteConsumers(t *testing.T) {
	ns := nodes(t, "a", "b")
	a, b := ns[0], ns[1]
	link(t, a, 1, b)
	link(t, b, 1, a)
	l := newLedger()
	consume(t, b, client.Queue("work"), "b", l, 10, 0)
	waitFor(t, "a's bridge to see b's consumer", func() bool { return demandOf(a) == 1 })
	produce(t, a, client.Queue("work"), 0, 200)
	waitFor(t, "200 messages on b", func() bool { return l.distinct() == 200 })
	l.exactlyOnce(t, 0, 200)
	st := a.net.Status()[0]
	if st.State != StateConnected || st.RemoteBroker != b.b.ID() || st.Forwarded != 200 {
		t.Errorf("a's bridge: %+v", st)
	}
	waitFor(t, "a's outbox to empty", func() bool {
		ob, _ := a.b.Outbox(st.Outbox)
		recs, _ := ob.Read(context.Background(), 0, 1)
		return len(recs) == 0
	})
}

func TestBridgeSharesLoad(t *testing.T) {
	ns := nodes(t, "a", "b")
	a, b := ns[0], ns[1]
	link(t, a, 1, b)
	link(t, b, 1, a)
	l := newLedger()
	// a's own consumer is slow, so a's queue backs up and the bridge (a
	// lower-priority consumer) takes what it has no room for.
	consume(t, a, client.Queue("work"), "a", l, 1, 20*time.Millisecond)
	consume(t, b, client.Queue("work"), "b", l, 1, 0)
	waitFor(t, "demand both ways", func() bool { return demandOf(a) == 1 && demandOf(b) == 1 })
	produce(t, a, client.Queue("work"), 0, 300)
	waitFor(t, "300 messages", func() bool { return l.distinct() == 300 })
	l.exactlyOnce(t, 0, 300)
	if l.by["a"] == 0 || l.by["b"] == 0 {
		t.Errorf("consumers got %v: the load is not shared", l.by)
	}
	t.Logf("shared: %v", l.by)
}

// Messages forwarded to b whose consumer leaves go back to a consumer on a.
func TestBridgeNoStrandedMessages(t *testing.T) {
	ns := nodes(t, "a", "b")
	a, b := ns[0], ns[1]
	link(t, a, 1, b)
	link(t, b, 1, a)
	l := newLedger()
	stopB := consume(t, b, client.Queue("work"), "b", l, 1, 20*time.Millisecond)
	waitFor(t, "a's bridge to see b's consumer", func() bool { return demandOf(a) == 1 })
	produce(t, a, client.Queue("work"), 0, 200)
	waitFor(t, "everything forwarded to b", func() bool { return a.net.Status()[0].Forwarded == 200 })
	waitFor(t, "b's consumer to start", func() bool { return l.distinct() >= 10 })
	stopB()
	if n := l.distinct(); n == 200 {
		t.Fatal("b's consumer took everything; nothing left to strand")
	}
	consume(t, a, client.Queue("work"), "a", l, 10, 0)
	waitFor(t, "the rest on a", func() bool { return l.distinct() == 200 })
	l.exactlyOnce(t, 0, 200)
	if l.by["a"] == 0 {
		t.Errorf("consumers got %v", l.by)
	}
	if st, _ := b.b.QueueStats("work"); st.Pending != 0 {
		t.Errorf("b still holds %d", st.Pending)
	}
}

func TestBridgeTopicFanOut(t *testing.T) {
	ns := nodes(t, "a", "b", "c")
	a, b, c := ns[0], ns[1], ns[2]
	link(t, a, 1, b, c)
	link(t, b, 1, a, c)
	link(t, c, 1, a, b)
	ls := map[string]*ledger{}
	for _, x := range []struct {
		who string
		n   *node
	}{{"a1", a}, {"b1", b}, {"b2", b}, {"c1", c}} {
		ls[x.who] = newLedger()
		consume(t, x.n, client.Topic("news"), x.who, ls[x.who], 100, 0)
	}
	// a sees b's and c's merged subscriptions: one per remote broker.
	waitFor(t, "demand on a", func() bool { return demandOf(a) == 3 })
	produce(t, a, client.Topic("news"), 0, 50)
	for who, l := range ls {
		waitFor(t, who+" to get 50", func() bool { return l.distinct() == 50 })
		l.exactlyOnce(t, 0, 50)
	}
	var fwd int64
	for _, s := range a.net.Status() {
		fwd += s.Forwarded
	}
	if fwd != 100 {
		t.Errorf("a forwarded %d, want 50 per remote broker", fwd)
	}
	time.Sleep(200 * time.Millisecond)
	for _, l := range ls {
		l.exactlyOnce(t, 0, 50) // nothing came round again
	}
}

func TestBridgeRequestReply(t *testing.T) {
	ns := nodes(t, "a", "b")
	a, b := ns[0], ns[1]
	link(t, a, 1, b)
	link(t, b, 1, a)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The responder on b answers to whatever reply-to the request names.
	rc := dial(t, b)
	rs, err := rc.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rs.Consumer(ctx, client.Queue("requests"))
	if err != nil {
		t.Fatal(err)
	}
	rp, err := rs.Producer(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64
	go func() {
		for {
			m, err := rk.Receive(ctx)
			if err != nil {
				return
			}
			text, _ := m.Text()
			seen.Add(1)
			t.Logf("request %q redelivered=%v", text, m.Redelivered)
			reply := client.NewTextMessage("re: " + text)
			reply.CorrelationID = m.CorrelationID
			if err := rp.Send(ctx, reply, client.To(m.ReplyTo)); err != nil && ctx.Err() == nil {
				t.Errorf("reply: %v", err)
			}
		}
	}()
	waitFor(t, "a's bridge to see the responder", func() bool { return demandOf(a) == 1 })

	qc := dial(t, a)
	qs, err := qc.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := qc.TempQueue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replies, err := qs.Consumer(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's bridge to see the requester's temporary queue", func() bool { return demandOf(b) == 1 })
	qp, err := qs.Producer(ctx, client.Queue("requests"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		req := client.NewTextMessage(fmt.Sprint("q", i))
		req.ReplyTo, req.CorrelationID = tmp, fmt.Sprint("c", i)
		if err := qp.Send(ctx, req); err != nil {
			t.Fatal(err)
		}
		m, err := replies.Receive(ctx)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if text, _ := m.Text(); text != fmt.Sprint("re: q", i) || m.CorrelationID != fmt.Sprint("c", i) {
			t.Fatalf("reply %q (%s), want re: q%d", text, m.CorrelationID, i)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := seen.Load(); n != 5 {
		t.Errorf("the responder got %d requests, want 5", n)
	}
}

// A line a—b—c: with network_ttl 2 a producer on a reaches a consumer on c
// (through b); with 1 it does not.
func TestBridgeLineTTL(t *testing.T) {
	for _, ttl := range []int{1, 2} {
		t.Run(fmt.Sprint("ttl", ttl), func(t *testing.T) {
			ns := nodes(t, "a", "b", "c")
			a, b, c := ns[0], ns[1], ns[2]
			link(t, a, ttl, b)
			link(t, b, ttl, a, c)
			link(t, c, ttl, b)
			l := newLedger()
			consume(t, c, client.Queue("work"), "c", l, 10, 0)
			waitFor(t, "b to see c's consumer", func() bool { return demandOf(b) == 1 })
			if ttl == 1 {
				time.Sleep(300 * time.Millisecond)
				if d := demandOf(a); d != 0 {
					t.Fatalf("a sees %d consumers beyond its ttl", d)
				}
				produce(t, a, client.Queue("work"), 0, 20)
				time.Sleep(300 * time.Millisecond)
				if n := l.distinct(); n != 0 {
					t.Fatalf("c got %d messages over two hops with ttl 1", n)
				}
				return
			}
			waitFor(t, "a to see c's consumer through b", func() bool { return demandOf(a) == 1 })
			produce(t, a, client.Queue("work"), 0, 100)
			waitFor(t, "100 on c", func() bool { return l.distinct() == 100 })
			l.exactlyOnce(t, 0, 100)
		})
	}
}

// In a full mesh with a generous TTL, every message reaches the consumer
// once and no broker path repeats a broker.
func TestBridgeFullMeshNoCircles(t *testing.T) {
	ns := nodes(t, "a", "b", "c", "d")
	for i, n := range ns {
		var others []*node
		for j, o := range ns {
			if j != i {
				others = append(others, o)
			}
		}
		link(t, n, 4, others...)
	}
	a, d := ns[0], ns[3]
	l := newLedger()
	var paths sync.Map
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := dial(t, d)
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Consumer(ctx, client.Queue("work"), client.Prefetch(5))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			m, err := k.Receive(ctx)
			if err != nil {
				return
			}
			text, _ := m.Text()
			paths.Store(text, m.BrokerPath)
			l.add("d", m)
		}
	}()
	waitFor(t, "a to see d's consumer", func() bool { return demandOf(a) >= 1 })
	produce(t, a, client.Queue("work"), 0, 300)
	deadline := time.Now().Add(10 * time.Second)
	for l.distinct() < 300 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if l.distinct() < 300 {
		for _, n := range ns {
			st, _ := n.b.QueueStats("work")
			t.Logf("%s: queue %+v", n.b.ID(), st)
			for _, s := range n.net.Status() {
				t.Logf("  %+v", s)
			}
		}
		t.Fatalf("d got %d of 300", l.distinct())
	}
	time.Sleep(300 * time.Millisecond)
	l.exactlyOnce(t, 0, 300)
	paths.Range(func(k, v any) bool {
		p := v.([]string)
		sorted := slices.Clone(p)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(p) || len(p) == 0 || p[0] != a.b.ID() {
			t.Errorf("%s travelled %v", k, p)
		}
		return true
	})
	var fwd int64
	for _, n := range ns {
		for _, s := range n.net.Status() {
			fwd += s.Forwarded
		}
	}
	t.Logf("forwards for 300 messages: %d", fwd)
	if fwd > 3*300 {
		t.Errorf("%d forwards for 300 messages", fwd)
	}
}

// A non-persistent message stays non-persistent on the remote broker.
func TestBridgeKeepsDeliveryMode(t *testing.T) {
	ns := nodes(t, "a", "b")
	a, b := ns[0], ns[1]
	link(t, a, 1, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dial(t, b)
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Consumer(ctx, client.Queue("work"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a's bridge to see b's consumer", func() bool { return demandOf(a) == 1 })
	p := producer(t, a, client.Queue("work"))
	if err := p.Send(ctx, client.NewTextMessage("np"), client.NonPersistent()); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, client.NewTextMessage("p")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		text       string
		persistent bool
	}{{"np", false}, {"p", true}} {
		m, err := k.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if text, _ := m.Text(); text != want.text || m.Persistent != want.persistent {
			t.Errorf("got %q persistent=%v, want %q persistent=%v", text, m.Persistent, want.text, want.persistent)
		}
	}
}

// With conduit subscriptions, a queue's remote consumers that all have
// selectors get only what one of them selects: the rest stays here rather
// than be stranded there.
func TestBridgeConduitSelectors(t *testing.T) {
	ns := nodes(t, "a", "b")
	a, b := ns[0], ns[1]
	link(t, a, 1, b)
	lr, lg := newLedger(), newLedger()
	consume(t, b, client.Queue("work"), "red", lr, 10, 0, client.Selector("color = 'red'"))
	consume(t, b, client.Queue("work"), "green", lg, 10, 0, client.Selector("color = 'green'"))
	waitFor(t, "a's bridge to see both", func() bool { return demandOf(a) == 2 })
	ctx := context.Background()
	p := producer(t, a, client.Queue("work"))
	for i, color := range []string{"red", "blue", "green", "blue", "red"} {
		m := client.NewTextMessage(fmt.Sprintf("m%04d", i))
		m.SetProperty("color", color)
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "red and green on b", func() bool { return lr.distinct() == 2 && lg.distinct() == 1 })
	time.Sleep(200 * time.Millisecond)
	if st, _ := a.b.QueueStats("work"); st.Pending != 2 {
		t.Errorf("a holds %d, want the two blue ones", st.Pending)
	}
	if st, _ := b.b.QueueStats("work"); st.Pending != 0 {
		t.Errorf("b holds %d stranded", st.Pending)
	}
	// A consumer that takes everything: blue goes too.
	lall := newLedger()
	consume(t, b, client.Queue("work"), "all", lall, 10, 0)
	waitFor(t, "blue on b", func() bool { return lall.distinct() == 2 })
}

// A durable subscriber on b gets, exactly once, what is published on a
// while it is offline and while a's bridge is down; deleting it ends the
// bridge's durable subscription on a.
func TestBridgeDurableSubscriber(t *testing.T) {
	ns := nodes(t, "a", "b")
	a, b := ns[0], ns[1]
	stopA := linkStoppable(t, a, 1, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	news := client.Topic("news")
	subscribe := func() (*client.Conn, *client.Consumer) {
		c, err := client.Dial(ctx, b.addr, client.Options{ClientID: "app"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Session(ctx, client.AutoAck)
		if err != nil {
			t.Fatal(err)
		}
		k, err := s.Consumer(ctx, news, client.Durable("d1"))
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	receive := func(k *client.Consumer, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			m, err := k.Receive(ctx)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if text, _ := m.Text(); text != fmt.Sprintf("m%04d", i) {
				t.Fatalf("got %q, want m%04d", text, i)
			}
		}
	}
	c, k := subscribe()
	waitFor(t, "a's bridge to see the durable subscriber", func() bool { return demandOf(a) == 1 })
	produce(t, a, news, 0, 10)
	receive(k, 0, 10)

	// Offline: the bridge keeps forwarding; b keeps them for d1.
	c.Close(ctx)
	waitFor(t, "the subscriber to go", func() bool { return demandOf(a) == 0 })
	if st := a.net.Status()[0]; st.Subs != 1 {
		t.Fatalf("a's bridge dropped its subscription for the offline durable subscriber: %+v", st)
	}
	produce(t, a, news, 10, 20)
	waitFor(t, "b to keep 10 for d1", func() bool { st, _ := b.b.DurableStats("app", "d1"); return st.Pending == 10 })

	// The bridge down: a keeps them in the bridge's durable subscription.
	stopA()
	produce(t, a, news, 20, 30)
	durables := a.b.Durables("pier-bridge:net/b")
	if len(durables) != 1 || durables[0].Remote != b.b.ID() {
		t.Fatalf("a's bridge durables: %+v", durables)
	}
	link(t, a, 1, b)
	waitFor(t, "b to keep 20 for d1", func() bool { st, _ := b.b.DurableStats("app", "d1"); return st.Pending == 20 })

	c, k = subscribe()
	receive(k, 10, 30)
	rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer rcancel()
	if m, err := k.Receive(rctx); err == nil {
		t.Fatalf("one more: %v", m)
	}

	// Deleted: a's bridge deletes its durable subscription.
	if err := k.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Unsubscribe(ctx, "d1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a's bridge durable to go", func() bool { return len(a.b.Durables("pier-bridge:net/b")) == 0 })
	c.Close(ctx)
}
