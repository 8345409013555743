package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/store/storetest"
)

// restartable is an in-process Pier broker that can be stopped and started
// again on the same port over the same (reopened) memory store.
type restartable struct {
	t    testing.TB
	addr string
	cfg  openwire.Config
	mem  *storetest.Memory
	b    *broker.Broker
	srv  *openwire.Server
	done chan error
}

func startRestartable(t testing.TB) *restartable {
	t.Helper()
	return startRestartableAt(t, "127.0.0.1:0", openwire.Config{})
}

// startRestartableAt starts a restartable broker serving cfg on addr.
func startRestartableAt(t testing.TB, addr string, cfg openwire.Config) *restartable {
	t.Helper()
	p := &restartable{t: t, addr: addr, cfg: cfg, mem: storetest.NewMemory(0)}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *restartable) start() {
	p.t.Helper()
	b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries}, p.mem, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		p.t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old socket may linger for a moment
		if ln, err = net.Listen("tcp", p.addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.b, p.srv, p.done = b, openwire.NewServer(p.cfg, b, nil), make(chan error, 1)
	go func() { p.done <- p.srv.Serve(ln) }()
}

// stop shuts the server and broker down; the store keeps its data.
func (p *restartable) stop() {
	if p.srv == nil {
		return
	}
	p.srv.Shutdown(context.Background())
	if err := <-p.done; !errors.Is(err, netserve.ErrServerClosed) {
		p.t.Errorf("Serve: %v", err)
	}
	p.b.Close()
	p.srv, p.mem = nil, p.mem.Reopen()
}

func (p *restartable) restart() {
	p.t.Helper()
	p.stop()
	p.start()
}

// hooks counts OnInterrupted and OnResumed calls and signals each resume.
type hooks struct {
	interrupted, resumed atomic.Int32
	resumedC             chan string
}

func newHooks(opts *Options) *hooks {
	h := &hooks{resumedC: make(chan string, 10)}
	opts.OnInterrupted = func(error) { h.interrupted.Add(1) }
	opts.OnResumed = func(b string) { h.resumed.Add(1); h.resumedC <- b }
	return h
}

func (h *hooks) waitResumed(t testing.TB) string {
	t.Helper()
	select {
	case b := <-h.resumedC:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("connection not resumed")
		return ""
	}
}

func fastFailover(addrs ...string) string {
	u := "failover:("
	for i, a := range addrs {
		if i > 0 {
			u += ","
		}
		u += "tcp://" + a
	}
	return u + ")?randomize=false&initialReconnectDelay=5&maxReconnectDelay=50"
}

func TestFailoverProducerThroughRestarts(t *testing.T) {
	p := startRestartable(t)
	var opts Options
	var logbuf syncBuffer
	opts.Logger = slog.New(slog.NewTextHandler(&logbuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	defer func() {
		if t.Failed() {
			t.Log(logbuf.String())
		}
	}()
	h := newHooks(&opts)
	c := dial(t, fastFailover(p.addr), opts)
	s := session(t, c, AutoAck)
	q := Queue("fo.produce")
	prod := producer(t, s, q)
	const n = 300
	errc := make(chan error, 1)
	sent := make(chan int, n)
	go func() {
		for i := range n {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := prod.Send(ctx, NewTextMessage(fmt.Sprint(i)))
			cancel()
			if err != nil {
				errc <- fmt.Errorf("send %d: %w", i, err)
				return
			}
			sent <- i
		}
		errc <- nil
	}()
	for restarts := 0; restarts < 2; restarts++ {
		for range 50 { // let some sends through, then restart under load
			<-sent
		}
		p.restart()
		h.waitResumed(t)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if i, r := h.interrupted.Load(), h.resumed.Load(); i != 2 || r != 2 {
		t.Errorf("OnInterrupted called %d times, OnResumed %d, want 2 each", i, r)
	}
	check := dial(t, p.addr, Options{})
	k := consumer(t, session(t, check, AutoAck), q)
	seen := map[string]bool{}
	for range n {
		m, err := k.Receive(testCtx(t))
		if err != nil {
			t.Fatalf("after %d messages: %v", len(seen), err)
		}
		text, _ := m.Text()
		if seen[text] {
			t.Fatalf("duplicate %q", text)
		}
		seen[text] = true
	}
	expectNone(t, k, 300*time.Millisecond)
}

func TestFailoverConsumerDurableTemp(t *testing.T) {
	p := startRestartable(t)
	var opts Options
	opts.ClientID = "fo-cons"
	h := newHooks(&opts)
	c := dial(t, fastFailover(p.addr), opts)
	s := session(t, c, AutoAck)
	q, topic := Queue("fo.consume"), Topic("fo.news")
	k := consumer(t, s, q)
	dur := consumer(t, s, topic, Durable("sub"))
	tmp, err := c.TempQueue(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	tk := consumer(t, s, tmp)

	other := dialPlain(t, p.addr)
	op := producer(t, session(t, other, AutoAck), nil)
	for i := range 5 {
		send(t, op, fmt.Sprint("q", i), To(q))
	}
	for i := range 5 {
		receiveText(t, k, fmt.Sprint("q", i))
	}
	other.Close(testCtx(t))

	p.restart()
	if got := h.waitResumed(t); got != p.addr {
		t.Errorf("resumed on %s, want %s", got, p.addr)
	}
	other = dialPlain(t, p.addr)
	op = producer(t, session(t, other, AutoAck), nil)
	for i := 5; i < 10; i++ {
		send(t, op, fmt.Sprint("q", i), To(q))
	}
	send(t, op, "news", To(topic))
	for i := 5; i < 10; i++ {
		receiveText(t, k, fmt.Sprint("q", i))
	}
	receiveText(t, dur, "news")
	// The temporary queue was recreated: the failover connection sends to
	// it and its consumer receives.
	send(t, producer(t, s, tmp), "to temp")
	receiveText(t, tk, "to temp")
	expectNone(t, k, 200*time.Millisecond)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// dialPlain connects with tcp:// and closes at the end of the test.
func dialPlain(t testing.TB, addr string) *Conn { return dial(t, "tcp://"+addr, Options{}) }

func TestFailoverTransactionWithConsumedMessagesRollsBack(t *testing.T) {
	p := startRestartable(t)
	var opts Options
	h := newHooks(&opts)
	c := dial(t, fastFailover(p.addr), opts)
	s := session(t, c, Transacted)
	q := Queue("fo.tx")
	k := consumer(t, s, q)
	txProd := producer(t, s, Queue("fo.tx.out"))
	plain := dialPlain(t, p.addr)
	pp := producer(t, session(t, plain, AutoAck), q)
	for i := range 3 {
		send(t, pp, fmt.Sprint("m", i))
	}
	receiveText(t, k, "m0")
	receiveText(t, k, "m1")
	send(t, txProd, "sent in the lost transaction")

	p.restart()
	h.waitResumed(t)
	if err := s.Commit(testCtx(t)); !errors.Is(err, ErrTransactionRolledBack) {
		t.Fatalf("Commit after failover: %v, want ErrTransactionRolledBack", err)
	}
	for i := range 3 {
		receiveText(t, k, fmt.Sprint("m", i))
	}
	if err := s.Commit(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	check := dialPlain(t, p.addr)
	ck := consumer(t, session(t, check, AutoAck), Queue("fo.tx.out"))
	expectNone(t, ck, 300*time.Millisecond) // the rolled-back send is gone
	expectNone(t, consumer(t, session(t, check, AutoAck), q), 300*time.Millisecond)
}

func TestFailoverTransactionWithSendsIsReplayed(t *testing.T) {
	p := startRestartable(t)
	var opts Options
	h := newHooks(&opts)
	c := dial(t, fastFailover(p.addr), opts)
	s := session(t, c, Transacted)
	out := Queue("fo.txsend")
	txProd := producer(t, s, out)
	send(t, txProd, "a")
	send(t, txProd, "b")
	p.restart()
	h.waitResumed(t)
	send(t, txProd, "c")
	if err := s.Commit(testCtx(t)); err != nil {
		t.Fatalf("Commit of a replayed transaction: %v", err)
	}
	k := consumer(t, session(t, dialPlain(t, p.addr), AutoAck), out)
	for _, w := range []string{"a", "b", "c"} {
		receiveText(t, k, w)
	}
	expectNone(t, k, 200*time.Millisecond)
}

func TestFailoverTimeoutWhileNoBroker(t *testing.T) {
	p := startRestartable(t)
	var opts Options
	h := newHooks(&opts)
	c := dial(t, fastFailover(p.addr)+"&timeout=200", opts)
	s := session(t, c, AutoAck)
	prod := producer(t, s, Queue("fo.timeout"))
	p.stop()
	ctx := testCtx(t)
	if err := prod.Send(ctx, NewTextMessage("persistent")); !errors.Is(err, ErrFailoverTimeout) || !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("persistent send while no broker: %v, want ErrFailoverTimeout", err)
	}
	if err := prod.Send(ctx, NewTextMessage("async"), NonPersistent()); !errors.Is(err, ErrFailoverTimeout) {
		t.Fatalf("non-persistent send while no broker: %v, want ErrFailoverTimeout", err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("connection ended: %v", err)
	}
	p.start()
	h.waitResumed(t)
	send(t, prod, "after")
	receiveText(t, consumer(t, s, Queue("fo.timeout")), "after")
}

func TestFailoverContextBoundsWait(t *testing.T) {
	p := startRestartable(t)
	c := dial(t, fastFailover(p.addr), Options{})
	prod := producer(t, session(t, c, AutoAck), Queue("fo.ctx"))
	p.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := prod.Send(ctx, NewTextMessage("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send: %v, want context.DeadlineExceeded", err)
	}
}

// recordSleeps replaces the back-off sleep: it records the waits and
// returns at once.
type recordSleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recordSleeps) install(opts *Options) {
	opts.sleep = func(ctx context.Context, d time.Duration) error {
		r.mu.Lock()
		r.waits = append(r.waits, d)
		r.mu.Unlock()
		return ctx.Err()
	}
}

func (r *recordSleeps) get() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

func TestFailoverGivesUp(t *testing.T) {
	p := startRestartable(t)
	var opts Options
	var rec recordSleeps
	rec.install(&opts)
	h := newHooks(&opts)
	c := dial(t, "failover:(tcp://"+p.addr+")?maxReconnectAttempts=3", opts)
	prod := producer(t, session(t, c, AutoAck), Queue("fo.giveup"))
	p.stop()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection did not give up")
	}
	if err := c.Err(); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Err() = %v, want ErrConnectionLost", err)
	}
	var oe *net.OpError
	if !errors.As(c.Err(), &oe) {
		t.Errorf("Err() %v does not wrap the last dial error", c.Err())
	}
	if err := prod.Send(testCtx(t), NewTextMessage("x")); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("send after giving up: %v", err)
	}
	// ActiveMQ's sequence: initialReconnectDelay before the first pass,
	// then doubled after each failed pass; three passes in all.
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	if got := rec.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if h.interrupted.Load() != 1 || h.resumed.Load() != 0 {
		t.Errorf("hooks: %d interrupted, %d resumed", h.interrupted.Load(), h.resumed.Load())
	}
}

func TestFailoverPendingRequestFailsWhenGivingUp(t *testing.T) {
	p := startRestartable(t)
	c := dial(t, "failover:(tcp://"+p.addr+")?maxReconnectAttempts=2&initialReconnectDelay=50", Options{})
	s := session(t, c, AutoAck)
	p.stop()
	_, err := s.Consumer(testCtx(t), Queue("fo.pending"))
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("consumer while giving up: %v, want ErrConnectionLost", err)
	}
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFailoverSecondBroker(t *testing.T) {
	p := startRestartable(t)
	down := freeAddr(t)
	c := dial(t, fastFailover(down, p.addr), Options{})
	c.fo.mu.Lock()
	cur := c.fo.mu.current
	c.fo.mu.Unlock()
	if cur != p.addr {
		t.Fatalf("connected to %s, want %s", cur, p.addr)
	}
	s := session(t, c, AutoAck)
	send(t, producer(t, s, Queue("fo.second")), "ok")
	receiveText(t, consumer(t, s, Queue("fo.second")), "ok")
}

func TestFailoverStartupAttempts(t *testing.T) {
	var opts Options
	var rec recordSleeps
	rec.install(&opts)
	a, b := freeAddr(t), freeAddr(t)
	for b == a { // the system may hand out the same free port twice
		b = freeAddr(t)
	}
	u := "failover:(tcp://" + a + ",tcp://" + b + ")?startupMaxReconnectAttempts=3"
	_, err := Dial(testCtx(t), u, opts)
	if !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Dial: %v, want ErrConnectionLost", err)
	}
	// At startup the first pass is immediate.
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	if got := rec.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}
