package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/store/storetest"
)

func startBroker(t *testing.T, name string) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{Name: name, MaxRedeliveries: broker.DefaultMaxRedeliveries}, storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// serve runs OpenWire for b on addr ("127.0.0.1:0" for any port) and
// returns the address and a function that stops it (also run at cleanup).
func serve(t *testing.T, b *broker.Broker, addr string) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, b, ln, openwire.Config{})
}

// serveOn is serve on ln (a TLS listener, say) with cfg.
func serveOn(t *testing.T, b *broker.Broker, ln net.Listener, cfg openwire.Config) (string, func()) {
	t.Helper()
	srv := openwire.NewServer(cfg, b, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Shutdown(context.Background())
			if err := <-done; !errors.Is(err, netserve.ErrServerClosed) {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// testSender is a Sender with the connection loop a bridge gives it
// (bridge.session): dial, Pump until something fails, dial again.
type testSender struct {
	*Sender
	dial func(ctx context.Context) (*client.Conn, error)
}

// Run pumps over one connection after another until ctx ends.
func (s testSender) Run(ctx context.Context) error {
	for {
		if conn, err := s.dial(ctx); err == nil {
			s.Pump(ctx, conn)
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			conn.Close(cctx)
			cancel()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// fill sends n persistent messages to queue work on a and moves them all
// into a's outbox, as a bridge's local side does.
func fill(t *testing.T, a *broker.Broker, o *broker.Outbox, n int) []string {
	t.Helper()
	ctx := context.Background()
	p, err := a.Connect(context.Background(), broker.ConnOptions{Sink: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var bodies []string
	for i := range n {
		bodies = append(bodies, fmt.Sprintf("m%03d", i))
		m := &message.Message{Dest: message.Destination{Kind: message.Queue, Name: "work"}, Body: []byte(bodies[i]),
			BodyKind: message.Text, Persistent: true, Priority: 4, Properties: map[string]any{"i": int32(i)}}
		if err := p.Send(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	k := &collect{ch: make(chan *broker.Delivery, n)}
	bc, err := a.Connect(context.Background(), broker.ConnOptions{Sink: k})
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	if _, err := bc.Subscribe(ctx, broker.SubOptions{ID: "bridge", Dest: message.Destination{Kind: message.Queue, Name: "work"},
		Ack: broker.AckIndividual, Prefetch: n, Priority: -5, Network: true}); err != nil {
		t.Fatal(err)
	}
	var tags []uint64
	for range n {
		select {
		case d := <-k.ch:
			tags = append(tags, d.Tag)
		case <-time.After(5 * time.Second):
			t.Fatal("bridge subscription got no delivery")
		}
	}
	if err := bc.Forward(ctx, "bridge", tags, o); err != nil {
		t.Fatal(err)
	}
	return bodies
}

type discard struct{}

func (discard) Deliver(*broker.Delivery) {}

type collect struct{ ch chan *broker.Delivery }

func (k *collect) Deliver(d *broker.Delivery) { k.ch <- d }

// run starts s and returns a function that stops it and returns Run's error.
func run(t *testing.T, s testSender) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func outboxLen(t *testing.T, o Outbox) int {
	t.Helper()
	recs, err := o.Read(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func pending(b *broker.Broker, q string) int {
	st, _ := b.QueueStats(q)
	return st.Pending
}

// receiveAll consumes queue work on the broker at addr and checks it
// holds exactly want, each once, forwarded by a.
func receiveAll(t *testing.T, addr string, want []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "tcp://"+addr, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	sess, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	k, err := sess.Consumer(ctx, client.Queue("work"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range want {
		m, err := k.Receive(ctx)
		if err != nil {
			t.Fatalf("received %d of %d: %v", len(got), len(want), err)
		}
		text, _ := m.Text()
		got = append(got, text)
		if !slices.Equal(m.BrokerPath, []string{"ID:a"}) || !m.Persistent {
			t.Errorf("%s: broker path %v, persistent %v", text, m.BrokerPath, m.Persistent)
		}
		if i, err := m.IntProperty("i"); err != nil || fmt.Sprintf("m%03d", i) != text {
			t.Errorf("%s: property i = %d, %v", text, i, err)
		}
	}
	qctx, qcancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer qcancel()
	if m, err := k.Receive(qctx); err == nil {
		text, _ := m.Text()
		t.Fatalf("extra message %q (a duplicate)", text)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}

func newSender(t *testing.T, ob Outbox, addr string) testSender {
	t.Helper()
	return newSenderBatch(t, ob, addr, 7)
}

func newSenderBatch(t *testing.T, ob Outbox, addr string, batch int) testSender {
	t.Helper()
	return newSenderWith(t, ob, addr, SenderConfig{Poll: 20 * time.Millisecond, Batch: batch}, client.Options{})
}

func newSenderWith(t *testing.T, ob Outbox, addr string, cfg SenderConfig, opts client.Options) testSender {
	t.Helper()
	s, err := NewSender(cfg, ob, nil)
	if err != nil {
		t.Fatal(err)
	}
	return testSender{s, func(ctx context.Context) (*client.Conn, error) { return client.Dial(ctx, "tcp://"+addr, opts) }}
}

// outboxPair starts brokers a and b, b served on OpenWire at addr (stop
// stops that), and fills a's outbox c/b with n messages (want).
func outboxPair(t *testing.T, n int) (a, b *broker.Broker, addr string, stop func(), o *broker.Outbox, want []string) {
	t.Helper()
	a, b = startBroker(t, "a"), startBroker(t, "b")
	addr, stop = serve(t, b, "127.0.0.1:0")
	o, err := a.Outbox("c/b")
	if err != nil {
		t.Fatal(err)
	}
	return a, b, addr, stop, o, fill(t, a, o, n)
}

func TestSenderForwardsOutboxOnce(t *testing.T) {
	a, _, addr, _, o, want := outboxPair(t, 20)
	s := newSender(t, o, addr)
	stop := run(t, s)
	waitFor(t, "the outbox to drain", func() bool { return outboxLen(t, o) == 0 })
	// Entries moved while the sender waits are sent too.
	more := fill(t, a, o, 5)
	s.Notify()
	waitFor(t, "the outbox to drain again", func() bool { return outboxLen(t, o) == 0 })
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if st := s.Stats(); st.Sent != 25 || st.DeadLettered != 0 || st.Connects != 1 {
		t.Fatalf("stats %+v", st)
	}
	if n := pending(a, "work"); n != 0 {
		t.Fatalf("%d left in a's queue", n)
	}
	all := append(want, more...)
	slices.Sort(all)
	receiveAll(t, addr, all)
}

// crashAfter is an outbox whose Remove fails (and stops the sender) from
// its n+1st call on: the sender stops after the remote acknowledged an
// entry and before it is removed, as when the local broker crashes there.
type crashAfter struct {
	Outbox
	n       int
	stop    context.CancelFunc
	mu      sync.Mutex
	refused []uint64
}

func (c *crashAfter) Remove(ctx context.Context, seqs ...uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.refused = append(c.refused, seqs...)
		c.stop()
		return errors.New("crashed")
	}
	c.n--
	return c.Outbox.Remove(ctx, seqs...)
}

// TestSenderResendAfterRestartIsDropped stops a sender after the remote
// stored what it sent and before it was removed from the outbox: one
// entry sent on its own, or a transaction of seven.
func TestSenderResendAfterRestartIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name         string
		batch, n     int // Read size, and Remove calls before the crash
		stored, left int // on b and in a's outbox after the crash
	}{
		{"one by one", 1, 5, 6, 15},
		{"transactions", 7, 1, 14, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, b, addr, _, o, want := outboxPair(t, 20)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			crash := &crashAfter{Outbox: o, n: tc.n, stop: cancel}
			s1 := newSenderBatch(t, crash, addr, tc.batch)
			if err := s1.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v", err)
			}
			if want := tc.stored - (20 - tc.left); len(crash.refused) != want {
				t.Fatalf("refused removes %v, want %d", crash.refused, want)
			}
			// b stored what a still holds at the head of its outbox: it
			// is in both for now.
			if n := pending(b, "work"); n != tc.stored {
				t.Fatalf("b holds %d after the crash, want %d", n, tc.stored)
			}
			recs, err := o.Read(context.Background(), 0, 100)
			if err != nil || len(recs) != tc.left || recs[0].Seq != crash.refused[0] {
				t.Fatalf("outbox after the crash: %d entries, first %v, refused %v (%v)", len(recs), recs[0].Seq, crash.refused, err)
			}

			// A restarted sender resends those first; b drops them.
			s2 := newSenderBatch(t, o, addr, tc.batch)
			stop := run(t, s2)
			waitFor(t, "the outbox to drain", func() bool { return outboxLen(t, o) == 0 })
			stop()
			if st := s2.Stats(); st.Sent != int64(tc.left) {
				t.Fatalf("restarted sender sent %d, want %d (the resends included)", st.Sent, tc.left)
			}
			if n := pending(b, "work"); n != 20 {
				t.Fatalf("b holds %d, want 20: a resend was stored again", n)
			}
			receiveAll(t, addr, want)
		})
	}
}
