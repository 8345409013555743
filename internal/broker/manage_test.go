package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/message"
)

// sendMany sends n persistent messages "prefix-i" to d.
func sendMany(t *testing.T, c *Conn, d message.Destination, prefix string, n int) {
	t.Helper()
	for i := range n {
		send(t, c, d, fmt.Sprintf("%s-%d", prefix, i), true)
	}
}

// destInfo returns the management view of d, failing if it is unknown.
func destInfo(t *testing.T, b *Broker, d message.Destination) DestInfo {
	t.Helper()
	in, ok := b.Destination(d)
	if !ok {
		t.Fatalf("%s is not listed", d)
	}
	return in
}

func names(p DestPage) []string {
	var out []string
	for _, in := range p.Items {
		out = append(out, in.Dest.String())
	}
	return out
}

func TestManageDestinationsFilterSortPage(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	sendMany(t, p, q("orders.eu"), "m", 3)
	sendMany(t, p, q("orders.us"), "m", 1)
	sendMany(t, p, q("billing"), "m", 2)
	c, _ := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "t", Dest: topic("Orders.events")})

	all := b.Destinations(DestQuery{})
	if want := []string{"topic://Orders.events", "queue://billing", "queue://orders.eu", "queue://orders.us"}; fmt.Sprint(names(all)) != fmt.Sprint(want) || all.Total != 4 {
		t.Fatalf("all by name: %v (total %d), want %v", names(all), all.Total, want)
	}
	queues := b.Destinations(DestQuery{Kind: message.Queue, Contains: "ORDERS", Sort: "depth", Desc: true})
	if want := []string{"queue://orders.eu", "queue://orders.us"}; fmt.Sprint(names(queues)) != fmt.Sprint(want) {
		t.Fatalf("queues containing ORDERS by depth desc: %v, want %v", names(queues), want)
	}
	page := b.Destinations(DestQuery{Kind: message.Queue, Sort: "depth", Offset: 1, Limit: 1})
	if page.Total != 3 || len(page.Items) != 1 || page.Items[0].Dest != q("billing") || page.Items[0].Depth != 2 {
		t.Fatalf("second queue by depth: %+v", page)
	}
	if p := b.Destinations(DestQuery{Offset: 10}); p.Total != 4 || len(p.Items) != 0 {
		t.Fatalf("past the end: %+v", p)
	}
	topics := b.Destinations(DestQuery{Kind: message.Topic, Sort: "consumers"})
	if len(topics.Items) != 1 || topics.Items[0].Consumers != 1 {
		t.Fatalf("topics: %+v", topics)
	}
	if _, ok := b.Destination(q("nowhere")); ok {
		t.Fatal("an unknown queue is listed")
	}
}

func TestManageDestinationsScale(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	for i := range 10000 {
		m := &message.Message{Dest: q(fmt.Sprintf("scale.%05d", i)), Body: []byte("x")}
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	page := b.Destinations(DestQuery{Sort: "depth", Desc: true, Limit: 50})
	if page.Total != 10000 || len(page.Items) != 50 {
		t.Fatalf("page: total %d, %d items", page.Total, len(page.Items))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("listing 10,000 destinations took %v", took)
	}
}

func TestManageCounters(t *testing.T) {
	now := time.Now()
	b := startBroker(t, newMemStore(), Config{Now: func() time.Time { return now }})
	p, _ := connect(t, b, "")
	p.ProducerOpened(q("work"))
	p.ProducerOpened(message.Destination{}) // anonymous
	sendMany(t, p, q("work"), "w", 3)
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("work"), Ack: AckIndividual})
	ack(t, c, k.next(t))
	ack(t, c, k.next(t))
	k.next(t) // in flight
	in := destInfo(t, b, q("work"))
	if in.Enqueued != 3 || in.Dequeued != 2 || in.Depth != 1 || in.InFlight != 1 || in.Consumers != 1 || in.Producers != 1 || in.Memory <= 0 {
		t.Fatalf("queue: %+v", in)
	}
	for _, ci := range b.Connections() {
		if ci.ID == p.ID() && ci.Producers != 2 {
			t.Fatalf("producing connection: %+v", ci)
		}
	}
	p.ProducerClosed(q("work"))
	if in := destInfo(t, b, q("work")); in.Producers != 0 {
		t.Fatalf("producer closed, still %d", in.Producers)
	}

	m := &message.Message{Dest: q("stale"), Body: []byte("old"), Expiration: now.Add(-time.Second).UnixMilli()}
	if err := p.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
	if in := destInfo(t, b, q("stale")); in.Expired != 1 || in.Dequeued != 1 || in.Depth != 0 || in.Memory != 0 {
		t.Fatalf("expired: %+v", in)
	}

	s1, k1 := connect(t, b, "")
	subscribe(t, s1, SubOptions{ID: "a", Dest: topic("news"), Ack: AckIndividual})
	subscribe(t, s1, SubOptions{ID: "b", Dest: topic("news"), Ack: AckIndividual})
	d, _ := connect(t, b, "dur")
	subscribe(t, d, SubOptions{ID: "d", Dest: topic("news"), DurableName: "keep"})
	d.Close()
	send(t, p, topic("news"), "hello", true)
	ack(t, s1, k1.next(t))
	ack(t, s1, k1.next(t))
	in = destInfo(t, b, topic("news"))
	if in.Enqueued != 1 || in.Dequeued != 2 || in.Consumers != 2 || in.Depth != 1 || in.Memory <= 0 {
		t.Fatalf("topic: %+v", in)
	}

	o := b.Overview()
	if o.Queues != 2 || o.Topics != 1 || o.Enqueued != 3+1+1 || o.Dequeued != 2+1+2 || o.Connections["unknown"] != 3 ||
		o.MemoryUsed != b.MemoryUsed() || o.Name != "localhost" || o.Started.IsZero() {
		t.Fatalf("overview: %+v", o)
	}
}

// closingSink is a Sink that is also a Closer.
type closingSink struct {
	*sink
	reasons chan string
}

func (k *closingSink) CloseFromBroker(reason string) { k.reasons <- reason }

func TestManageConnections(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	k := &closingSink{sink: newSink(), reasons: make(chan string, 1)}
	c, err := b.Connect(context.Background(), ConnOptions{ClientID: "app", Sink: k,
		Credentials: auth.Credentials{Protocol: "stomp", Remote: "10.0.0.7:5555"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	subscribe(t, c, SubOptions{ID: "s", Dest: q("x")})
	br, err := b.Connect(context.Background(), ConnOptions{Internal: true, Sink: newSink()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Close)

	conns := b.Connections()
	if len(conns) != 2 {
		t.Fatalf("connections: %+v", conns)
	}
	app, bridge := conns[0], conns[1]
	if app.ID != c.ID() || app.Protocol != "stomp" || app.Remote != "10.0.0.7:5555" || app.ClientID != "app" ||
		app.User != "anonymous" || app.Consumers != 1 || app.Since.IsZero() {
		t.Fatalf("client: %+v", app)
	}
	if bridge.Protocol != "bridge" {
		t.Fatalf("bridge: %+v", bridge)
	}
	if o := b.Overview(); o.Connections["stomp"] != 1 || o.Connections["bridge"] != 1 {
		t.Fatalf("by protocol: %v", o.Connections)
	}

	if err := b.CloseConnection(c.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-k.reasons:
		if r != AdminCloseReason {
			t.Fatalf("reason %q", r)
		}
	default:
		t.Fatal("the sink was not told")
	}
	if conns := b.Connections(); len(conns) != 1 || conns[0].ID != br.ID() {
		t.Fatalf("after the close: %+v", conns)
	}
	if in := destInfo(t, b, q("x")); in.Consumers != 0 {
		t.Fatalf("the closed connection's consumer stays: %+v", in)
	}
	// A plain sink: the broker closes the connection itself.
	if err := b.CloseConnection(br.ID()); err != nil || len(b.Connections()) != 0 {
		t.Fatalf("close of a plain sink's connection: %v, %d left", err, len(b.Connections()))
	}
	if err := b.CloseConnection(c.ID()); !errors.Is(err, ErrNoSuchConnection) {
		t.Fatalf("closing again: %v", err)
	}
}

func TestManageDurables(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	c, _ := connect(t, b, "app")
	subscribe(t, c, SubOptions{ID: "d", Dest: topic("news"), DurableName: "sub", Selector: "x > 1"})
	if err := b.DeleteDurable(context.Background(), "app", "sub"); !errors.Is(err, ErrDurableInUse) {
		t.Fatalf("deleting an active durable: %v", err)
	}
	c.Close()
	p, _ := connect(t, b, "")
	m := &message.Message{Dest: topic("news"), Body: []byte("kept"), Persistent: true, Properties: map[string]any{"x": int32(2)}}
	if err := p.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
	ds := b.DurableSubscriptions()
	if len(ds) != 1 || ds[0] != (DurableInfo{ClientID: "app", Name: "sub", Topic: "news", Selector: "x > 1", Backlog: 1}) {
		t.Fatalf("durables: %+v", ds)
	}
	if err := b.DeleteDurable(context.Background(), "app", "nope"); !errors.Is(err, ErrNoSuchDurable) {
		t.Fatalf("deleting an unknown durable: %v", err)
	}
	if err := b.DeleteDurable(context.Background(), "app", "sub"); err != nil {
		t.Fatal(err)
	}
	if ds := b.DurableSubscriptions(); len(ds) != 0 {
		t.Fatalf("after delete: %+v", ds)
	}
	b, _ = restart(t, b, st, Config{})
	if ds := b.DurableSubscriptions(); len(ds) != 0 {
		t.Fatalf("after a restart: %+v", ds)
	}
}

func TestManageDeleteDestination(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	sendMany(t, p, q("doomed"), "m", 4)
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("doomed"), Ack: AckIndividual, Prefetch: 1})
	held := k.next(t)
	if err := b.DeleteDestination(context.Background(), q("doomed")); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Destination(q("doomed")); ok {
		t.Fatal("deleted queue still listed")
	}
	if n := st.Count("queue://doomed"); n != 0 {
		t.Fatalf("store keeps %d messages of the deleted queue", n)
	}
	ack(t, c, held) // an acknowledgement of what it held still works
	k.none(t)
	// Made again by a send, the queue has its consumer back, as in ActiveMQ.
	send(t, p, q("doomed"), "again", true)
	if d := k.next(t); string(d.Msg.Body) != "again" {
		t.Fatalf("after re-creation got %q", d.Msg.Body)
	}
	if err := b.DeleteDestination(context.Background(), q("never")); !errors.Is(err, ErrNoSuchDestination) {
		t.Fatalf("deleting an unknown queue: %v", err)
	}

	send(t, p, topic("gone"), "x", false)
	if err := b.DeleteDestination(context.Background(), topic("gone")); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Destination(topic("gone")); ok {
		t.Fatal("deleted topic still listed")
	}
	if err := b.DeleteDestination(context.Background(), topic("gone")); !errors.Is(err, ErrNoSuchDestination) {
		t.Fatalf("deleting it again: %v", err)
	}

	// A virtual topic's consumer queue is recorded so that it exists after
	// a restart, empty; deleted, it does not.
	v, _ := connect(t, b, "")
	subscribe(t, v, SubOptions{ID: "v", Dest: q("Consumer.A.VirtualTopic.T")})
	v.Close()
	if err := b.DeleteDestination(context.Background(), q("Consumer.A.VirtualTopic.T")); err != nil {
		t.Fatal(err)
	}
	send(t, p, topic("VirtualTopic.T"), "to nobody", true)

	c.Close()
	b, st = restart(t, b, st, Config{})
	if in := destInfo(t, b, q("doomed")); in.Depth != 1 {
		t.Fatalf("after a restart the re-created queue holds %d, want 1", in.Depth)
	}
	if _, ok := b.Destination(q("Consumer.A.VirtualTopic.T")); ok {
		t.Fatal("the deleted consumer queue is back after a restart")
	}
}

func TestManageUnknownQueue(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	ctx := context.Background()
	calls := map[string]func() error{
		"browse": func() error { _, _, err := b.Browse(ctx, "none", 0, 10); return err },
		"purge":  func() error { _, err := b.Purge(ctx, "none"); return err },
		"remove": func() error { _, err := b.RemoveMessages(ctx, "none", []string{"a"}); return err },
		"move":   func() error { _, err := b.MoveMessages(ctx, "none", nil, q("x"), false); return err },
		"retry":  func() error { _, err := b.RetryMessages(ctx, "none", nil); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrNoSuchDestination) {
			t.Errorf("%s: %v, want ErrNoSuchDestination", name, err)
		}
	}
}

// AllDestinations gives every matching destination in one answer.
func TestManageAllDestinations(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, _ := connect(t, b, "")
	for i := range 1500 {
		send(t, c, q(fmt.Sprintf("all.%04d", i)), "x", false)
	}
	page := b.Destinations(DestQuery{Kind: message.Queue, Contains: "all.", Limit: AllDestinations})
	if page.Total != 1500 || len(page.Items) != 1500 {
		t.Fatalf("total %d, %d items", page.Total, len(page.Items))
	}
	seen := map[string]bool{}
	for _, d := range page.Items {
		seen[d.Dest.Name] = true
	}
	if len(seen) != 1500 {
		t.Errorf("%d distinct", len(seen))
	}
}

// Naming a queue in a producer does not make it (making one can need admin,
// checked at the first send); its producers are counted from the start
// once it is made, and a producer of a queue never made leaves nothing.
func TestProducerDoesNotMakeTheQueue(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, _ := connect(t, b, "")
	c.ProducerOpened(q("later"))
	if _, ok := b.Destination(q("later")); ok {
		t.Fatal("a producer made the queue")
	}
	send(t, c, q("later"), "x", false)
	if info, ok := b.Destination(q("later")); !ok || info.Producers != 1 {
		t.Fatalf("after the first send: %+v, %v", info, ok)
	}
	c.ProducerClosed(q("later"))
	if info, _ := b.Destination(q("later")); info.Producers != 0 {
		t.Errorf("producers %d after it closed", info.Producers)
	}
	c.ProducerOpened(q("never"))
	c.ProducerClosed(q("never"))
	c2, _ := connect(t, b, "")
	c2.ProducerOpened(q("never2"))
	c2.Close()
	b.mu.RLock()
	left := len(b.mu.waitingCtrs)
	b.mu.RUnlock()
	if left != 0 {
		t.Errorf("%d counters of queues never made left behind", left)
	}
}
