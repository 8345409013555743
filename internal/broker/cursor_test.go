package broker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/storetest"
)

// cursorConfig makes a small window, so that a few hundred messages are a
// backlog mostly in the store.
func cursorConfig() Config { return Config{Window: 10, PageSize: 4} }

// windowOf reports how many entries the queue holds in its pending list and
// whether its cursor is on.
func windowOf(t *testing.T, b *Broker, name string) (int, bool) {
	t.Helper()
	b.mu.RLock()
	qq := b.mu.queues[name]
	b.mu.RUnlock()
	if qq == nil {
		t.Fatalf("no queue %s", name)
	}
	qq.mu.Lock()
	defer qq.mu.Unlock()
	return qq.mu.pending.len(), qq.mu.cur.on
}

// sendPersistent sends n persistent messages with bodies from, from+1, ...
func sendPersistent(t *testing.T, c *Conn, d message.Destination, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		send(t, c, d, fmt.Sprint(i), true)
	}
}

// drain receives n messages on a new consumer, acknowledging each, and
// checks they are from, from+1, ... in order.
func drain(t *testing.T, b *Broker, d message.Destination, from, n int) {
	t.Helper()
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "drain", Dest: d, Ack: AckIndividual, Prefetch: 7})
	for i := from; i < from+n; i++ {
		got := k.next(t)
		if string(got.Msg.Body) != fmt.Sprint(i) {
			t.Fatalf("got %q, want %d", got.Msg.Body, i)
		}
		ack(t, c, got)
	}
	k.none(t)
	c.Close()
}

func TestBacklogStaysInStore(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, cursorConfig())
	p, _ := connect(t, b, "")
	sendPersistent(t, p, q("deep"), 0, 500)
	n, on := windowOf(t, b, "deep")
	if n > 10 || !on {
		t.Fatalf("pending list holds %d entries (cursor on: %v); want at most the window of 10, cursor on", n, on)
	}
	if s, _ := b.QueueStats("deep"); s.Pending != 500 {
		t.Fatalf("stats say %d pending, want 500", s.Pending)
	}
	drain(t, b, q("deep"), 0, 500)
	if n, on := windowOf(t, b, "deep"); n != 0 || on {
		t.Fatalf("after the drain: %d held, cursor on %v", n, on)
	}
	if u := st.Usage(); u.Messages != 0 {
		t.Fatalf("store still holds %d messages", u.Messages)
	}
	// Caught up, the queue holds new messages again.
	sendPersistent(t, p, q("deep"), 500, 3)
	if n, on := windowOf(t, b, "deep"); n != 3 || on {
		t.Fatalf("after catching up: %d held, cursor on %v; want 3, off", n, on)
	}
	drain(t, b, q("deep"), 500, 3)
}

func TestBacklogRecoveredAWindowAtATime(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, cursorConfig())
	p, _ := connect(t, b, "")
	sendPersistent(t, p, q("deep"), 0, 300)
	b, _ = restart(t, b, st, cursorConfig())
	if n, on := windowOf(t, b, "deep"); n > 10 || !on {
		t.Fatalf("recovered %d entries into memory (cursor on %v); want at most the window", n, on)
	}
	if s, _ := b.QueueStats("deep"); s.Pending != 300 {
		t.Fatalf("stats say %d pending, want 300", s.Pending)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("deep"), Ack: AckIndividual, Prefetch: 5})
	p = p2(t, b)
	for i := 0; i < 300; i++ {
		d := k.next(t)
		wantCount(t, d, fmt.Sprint(i), recoveredDeliveries)
		ack(t, c, d)
		if i == 150 {
			send(t, p, q("deep"), "new", true)
		}
	}
	wantCount(t, k.next(t), "new", 0)
}

// Producers and consumers at once: every message arrives once, and each
// producer's in its order, while the queue goes behind and catches up.
func TestBacklogConcurrentSendAndReceive(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, cursorConfig())
	const producers, each = 4, 300
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("busy"), Ack: AckIndividual, Prefetch: 3})
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		pc, _ := connect(t, b, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				m := &message.Message{Dest: q("busy"), Body: []byte(fmt.Sprintf("%d-%d", p, i)), Persistent: i%10 != 9, Priority: 4}
				if err := pc.Send(context.Background(), m, ""); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	next := make([]int, producers)
	persistentNext := make([]int, producers)
	for n := 0; n < producers*each; n++ {
		d := k.next(t)
		var p, i int
		if _, err := fmt.Sscanf(string(d.Msg.Body), "%d-%d", &p, &i); err != nil {
			t.Fatalf("body %q: %v", d.Msg.Body, err)
		}
		// Persistent messages keep their order; a non-persistent one may
		// overtake persistent ones waiting in the store (as ActiveMQ's
		// store cursor), never one of its own kind.
		if d.Msg.Persistent {
			if i < persistentNext[p] {
				t.Fatalf("producer %d: %d after %d", p, i, persistentNext[p])
			}
			persistentNext[p] = i + 1
		}
		if i < next[p] && !d.Msg.Persistent {
			t.Fatalf("producer %d: non-persistent %d after %d", p, i, next[p])
		}
		if !d.Msg.Persistent {
			next[p] = i + 1
		}
		ack(t, c, d)
	}
	wg.Wait()
	k.none(t)
	if u := st.Usage(); u.Messages != 0 {
		t.Fatalf("store still holds %d messages", u.Messages)
	}
}

func TestBrowsePastTheCursor(t *testing.T) {
	b := startBroker(t, newMemStore(), cursorConfig())
	p, _ := connect(t, b, "")
	sendPersistent(t, p, q("deep"), 0, 100)
	got, err := p.Browse(context.Background(), q("deep"), "", 60)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 60 {
		t.Fatalf("browsed %d, want 60", len(got))
	}
	for i, m := range got {
		if string(m.Body) != fmt.Sprint(i) {
			t.Fatalf("browse %d: %q", i, m.Body)
		}
	}
	infos, total, err := b.Browse(context.Background(), "deep", 50, 20)
	if err != nil {
		t.Fatal(err)
	}
	if total != 100 || len(infos) != 20 {
		t.Fatalf("management browse: %d of total %d, want 20 of 100", len(infos), total)
	}
	for i, m := range infos {
		if m.Position != int64(50+i) || string(m.BodyPreview) != fmt.Sprint(50+i) {
			t.Fatalf("management browse %d: position %d body %q", i, m.Position, m.BodyPreview)
		}
	}
	drain(t, b, q("deep"), 0, 100) // browsing took nothing
}

func TestPurgeAndRemovePastTheCursor(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, cursorConfig())
	p, _ := connect(t, b, "")
	var ids []string
	for i := 0; i < 200; i++ {
		m := &message.Message{Dest: q("deep"), Body: []byte(fmt.Sprint(i)), Persistent: true, Priority: 4, ID: fmt.Sprintf("id-%d", i)}
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	// Remove one in memory and two far past the cursor.
	n, err := b.RemoveMessages(context.Background(), "deep", []string{ids[1], ids[150], ids[199]})
	if err != nil || n != 3 {
		t.Fatalf("removed %d (%v), want 3", n, err)
	}
	if s, _ := b.QueueStats("deep"); s.Pending != 197 {
		t.Fatalf("stats say %d pending after removing 3, want 197", s.Pending)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("deep"), Ack: AckIndividual, Prefetch: 100})
	for i := 0; i < 200; i++ {
		if i == 1 || i == 150 || i == 199 {
			continue
		}
		d := k.next(t)
		if string(d.Msg.Body) != fmt.Sprint(i) {
			t.Fatalf("got %q, want %d", d.Msg.Body, i)
		}
		if i < 100 {
			ack(t, c, d)
		}
	}
	k.none(t)
	c.Close() // 98 back to the queue: 100..198 but 150
	sendPersistent(t, p, q("deep"), 1000, 300)
	purged, err := b.Purge(context.Background(), "deep")
	if err != nil || purged != 98+300 {
		t.Fatalf("purged %d (%v), want %d", purged, err, 98+300)
	}
	if u := st.Usage(); u.Messages != 0 {
		t.Fatalf("store still holds %d messages", u.Messages)
	}
	if s, _ := b.QueueStats("deep"); s.Pending != 0 {
		t.Fatalf("stats say %d pending after the purge", s.Pending)
	}
}

// A durable subscription's backlog is a queue like any other.
func TestDurableBacklogPastTheCursor(t *testing.T) {
	st := newMemStore()
	cfg := cursorConfig()
	b := startBroker(t, st, cfg)
	c, _ := connect(t, b, "sub-client")
	subscribe(t, c, SubOptions{ID: "d", Dest: topic("news"), DurableName: "keep", Ack: AckIndividual})
	c.Close() // the subscription stays, inactive
	p, _ := connect(t, b, "")
	sendPersistent(t, p, topic("news"), 0, 120)
	b, _ = restart(t, b, st, cfg)
	c, k := connect(t, b, "sub-client")
	subscribe(t, c, SubOptions{ID: "d", Dest: topic("news"), DurableName: "keep", Ack: AckIndividual, Prefetch: 5})
	for i := 0; i < 120; i++ {
		d := k.next(t)
		wantCount(t, d, fmt.Sprint(i), recoveredDeliveries)
		ack(t, c, d)
	}
	k.none(t)
}

// Memory held by another queue does not starve a queue whose messages are
// all past its cursor: its consumer still gets them, a few at a time.
func TestBacklogReadWhileMemoryIsFull(t *testing.T) {
	cfg := cursorConfig()
	cfg.MemoryLimit = 1 << 20
	b := startBroker(t, newMemStore(), cfg)
	p, _ := connect(t, b, "")
	big := make([]byte, 100<<10)
	for b.MemoryUsed() < cfg.MemoryLimit { // non-persistent: held in memory, nobody consumes
		m := &message.Message{Dest: q("hog"), Body: big, Priority: 4}
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	sendPersistent(t, p, q("starved"), 0, 50)
	if n, on := windowOf(t, b, "starved"); n != 0 || !on {
		t.Fatalf("with memory full: %d held, cursor on %v; want 0, on", n, on)
	}
	drain(t, b, q("starved"), 0, 50)
}

// raceStore lets a test hold one message's write and act when a page read
// has found a given message.
type raceStore struct {
	*storetest.Memory
	holdBody  string        // an Apply adding this body waits for release
	release   chan struct{} // closed to let it go on
	onScan    func()
	scanMu    sync.Mutex
	scanFired bool
}

func (s *raceStore) Apply(ctx context.Context, b *store.Batch) error {
	for _, op := range b.Ops {
		if op.Kind == store.OpAdd && op.Msg != nil && string(op.Msg.Body) == s.holdBody {
			<-s.release
		}
	}
	return s.Memory.Apply(ctx, b)
}

func (s *raceStore) Scan(ctx context.Context, dest string, after uint64, max int, maxBytes int64) ([]store.Record, error) {
	recs, err := s.Memory.Scan(ctx, dest, after, max, maxBytes)
	s.scanMu.Lock()
	f := s.onScan
	if f != nil && !s.scanFired {
		for _, r := range recs {
			if string(r.Msg.Body) == "y" {
				s.scanFired = true
				s.scanMu.Unlock()
				f()
				return recs, err
			}
		}
	}
	s.scanMu.Unlock()
	return recs, err
}

// A message sent past the cursor whose write finishes while a page read is
// under way, after the read missed it but found a later one, is read by
// the next page, not skipped (the read stops before the first message that
// was being written when it began).
func TestWriteFinishingDuringPageRead(t *testing.T) {
	st := &raceStore{Memory: newMemStore(), holdBody: "x", release: make(chan struct{})}
	b := startBroker(t, st, cursorConfig())
	p, _ := connect(t, b, "")
	sendPersistent(t, p, q("race"), 0, 20) // the window is full: what follows goes past the cursor
	px, _ := connect(t, b, "")
	xSent := make(chan error, 1)
	go func() {
		xSent <- px.Send(context.Background(), &message.Message{Dest: q("race"), Body: []byte("x"), Persistent: true, Priority: 4}, "")
	}()
	for { // x is numbered and being written
		if s, _ := b.QueueStats("race"); s.Pending == 21 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	send(t, p, q("race"), "y", true) // written at once, after x in order
	st.scanMu.Lock()
	st.onScan = func() {
		// The read found y, not x: now x's write finishes.
		close(st.release)
		if err := <-xSent; err != nil {
			t.Errorf("send x: %v", err)
		}
	}
	st.scanMu.Unlock()
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("race"), Ack: AckIndividual, Prefetch: 50})
	for i := 0; i < 20; i++ {
		if d := k.next(t); string(d.Msg.Body) != fmt.Sprint(i) {
			t.Fatalf("got %q, want %d", d.Msg.Body, i)
		}
	}
	for _, want := range []string{"x", "y"} {
		if d := k.next(t); string(d.Msg.Body) != want {
			t.Fatalf("got %q, want %s", d.Msg.Body, want)
		}
	}
}
