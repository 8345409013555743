package server

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// leakCheck makes the test fail if it leaves a goroutine behind, once its
// cleanups have run.
func leakCheck(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// opener returns an OpenStore that hands over st and gate (a nil Gate:
// always master).
func opener(st store.Store, gate Gate) func(context.Context) (store.Store, Gate, error) {
	return func(context.Context) (store.Store, Gate, error) { return st, gate, nil }
}

// harness runs a server in the background.
type harness struct {
	t      *testing.T
	srv    *Server
	cancel context.CancelFunc
	done   chan error
	ended  bool
	err    error
}

func start(t *testing.T, deps Deps) *harness {
	t.Helper()
	srv, err := New(broker.Config{Name: "test", MaxRedeliveries: broker.DefaultMaxRedeliveries}, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, srv: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		h.wait()
	})
	return h
}

// wait returns what Run returned, failing the test if it does not return.
func (h *harness) wait() error {
	h.t.Helper()
	if !h.ended {
		select {
		case h.err = <-h.done:
			h.ended = true
		case <-time.After(10 * time.Second):
			h.t.Fatal("Run did not return")
		}
	}
	return h.err
}

// stop cancels Run's context and returns what Run returned.
func (h *harness) stop() error {
	h.t.Helper()
	h.cancel()
	return h.wait()
}

// returned reports whether Run has returned, without waiting.
func (h *harness) returned() bool {
	if !h.ended {
		select {
		case h.err = <-h.done:
			h.ended = true
		default:
		}
	}
	return h.ended
}

// ready waits until the server is ready.
func (h *harness) ready() {
	h.t.Helper()
	select {
	case <-h.srv.Ready():
	case err := <-h.done:
		h.ended, h.err = true, err
		h.t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(10 * time.Second):
		h.t.Fatal("not ready")
	}
}

// awaitsAgain waits until the server asks g again (its span over), failing
// the test if Run returns instead.
func (h *harness) awaitsAgain(g *fakeGate) {
	h.t.Helper()
	select {
	case <-g.awaiting:
	case err := <-h.done:
		h.ended, h.err = true, err
		h.t.Fatalf("Run returned when mastership ended: %v", err)
	case <-time.After(10 * time.Second):
		h.t.Fatal("the server did not wait to be master again")
	}
}

func isReady(s *Server) bool {
	select {
	case <-s.Ready():
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// closedByPeer reports whether c is closed by the other end at once (EOF
// or reset) rather than left open.
func closedByPeer(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// refused reports whether nothing accepts connections on addr any more.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func TestNewChecksWiring(t *testing.T) {
	for _, tc := range []struct {
		name string
		deps Deps
		want string
	}{
		{"no store", Deps{}, "no store"},
		{"listener without protocol", Deps{OpenStore: opener(newFakeStore(), nil),
			Listeners: []Listener{{Name: "stomp", Addr: "127.0.0.1:0"}}}, `listener 0 ("stomp")`},
		{"listener without name", Deps{OpenStore: opener(newFakeStore(), nil),
			Listeners: []Listener{newFakes().listener("", "127.0.0.1:0")}}, `listener 0 ("")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(broker.Config{}, tc.deps); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestServeAndStop: a broker that is always master serves its listeners
// and services until ctx ends, then stops them in order: the services
// while the listeners are still open, then the listeners and their
// connections, then the broker, then the store.
func TestServeAndStop(t *testing.T) {
	leakCheck(t)
	st, f := newFakeStore(), newFakes()
	var svcBroker atomic.Pointer[broker.Broker]
	openAtSvcEnd := make(chan bool, 1)
	svc := Service{Name: "svc", Run: func(ctx context.Context, b *broker.Broker) error {
		svcBroker.Store(b)
		<-ctx.Done()
		openAtSvcEnd <- !f.all()[0].isShutdown()
		return nil
	}}
	h := start(t, Deps{OpenStore: opener(st, nil), Listeners: []Listener{f.listener("fake", "127.0.0.1:0")},
		Services: []Service{svc}})
	h.ready()
	b := h.srv.Broker()
	if b == nil || !h.srv.Serving() {
		t.Fatalf("ready: Broker() = %v, Serving() = %v", b, h.srv.Serving())
	}
	p := receive(t, "the protocol server", f.made)
	if p.b != b {
		t.Fatal("the protocol serves another broker than Broker()")
	}
	waitFor(t, "the service", func() bool { return svcBroker.Load() == b })
	addr := h.srv.Addr("fake").String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "the connection", func() bool { return p.accepted.Load() == 1 })
	bc, err := b.Connect(context.Background(), broker.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bc.Close()

	if err := h.stop(); err != nil {
		t.Fatalf("Run after a clean stop: %v", err)
	}
	if !receive(t, "the service's end", openAtSvcEnd) {
		t.Error("the listener was shut down before the service ended")
	}
	if n := st.closes.Load(); n != 1 {
		t.Errorf("store closed %d times, want 1", n)
	}
	if h.srv.Broker() != nil || h.srv.Serving() {
		t.Errorf("stopped: Broker() = %v, Serving() = %v", h.srv.Broker(), h.srv.Serving())
	}
	if !closedByPeer(t, c) {
		t.Error("the client connection is still open")
	}
	if !refused(addr) {
		t.Error("the listener still accepts")
	}
	if _, err := b.Connect(context.Background(), broker.ConnOptions{}); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("the stopped broker: Connect: %v, want broker.ErrClosed", err)
	}
}

// TestListenerFails: a listener that cannot open fails Run with an error
// naming it; what was opened before is closed again, and nothing leaks.
func TestListenerFails(t *testing.T) {
	for _, gated := range []bool{false, true} {
		name := "always master"
		if gated {
			name = "gated"
		}
		t.Run(name, func(t *testing.T) {
			leakCheck(t)
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			st, f := newFakeStore(), newFakes()
			deps := Deps{OpenStore: opener(st, nil), Listeners: []Listener{
				f.listener("first", "127.0.0.1:0"), f.listener("second", taken.Addr().String())}}
			var g *fakeGate
			if gated {
				g = newFakeGate()
				deps.OpenStore = opener(st, g)
			}
			h := start(t, deps)
			if gated {
				t.Cleanup(g.grant())
			}
			err = h.wait()
			if err == nil || !strings.Contains(err.Error(), "server: second listener") || !errors.Is(err, syscall.EADDRINUSE) {
				t.Fatalf("Run: %v, want the second listener's address in use", err)
			}
			if ps := f.all(); len(ps) != 1 || !ps[0].isShutdown() {
				t.Errorf("the first listener's server: %d made, want 1, shut down", len(ps))
			}
			if !refused(h.srv.Addr("first").String()) {
				t.Error("the first listener still accepts")
			}
			if n := st.closes.Load(); n != 1 {
				t.Errorf("store closed %d times, want 1", n)
			}
			if isReady(h.srv) || h.srv.Broker() != nil {
				t.Error("ready or serving after a failed start")
			}
		})
	}
}

// TestListenerStopsOnItsOwn: a protocol server that stops serving while
// the server runs fails Run with an error naming it, after the others
// are shut down and the store closed.
func TestListenerStopsOnItsOwn(t *testing.T) {
	leakCheck(t)
	st, f := newFakeStore(), newFakes()
	h := start(t, Deps{OpenStore: opener(st, nil), Listeners: []Listener{
		f.listener("fake", "127.0.0.1:0"), f.listener("other", "127.0.0.1:0")}})
	h.ready()
	p := receive(t, "the first protocol server", f.made)
	waitFor(t, "Serve", func() bool { return p.listener() != nil })
	p.listener().Close()
	err := h.wait()
	if err == nil || !strings.Contains(err.Error(), "server: fake listener stopped") || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Run: %v, want the fake listener stopped", err)
	}
	if other := f.all()[1]; !other.isShutdown() {
		t.Error("the other listener was not shut down")
	}
	if n := st.closes.Load(); n != 1 {
		t.Errorf("store closed %d times, want 1", n)
	}
	if h.srv.Broker() != nil {
		t.Error("Broker() after Run returned")
	}
}

// TestStopDuringStart: a stop while the server opens its store, waits to
// be master or recovers the broker returns at once, without an error,
// leaving nothing open.
func TestStopDuringStart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		gated bool
		// setup makes the server block; it returns a channel that
		// signals when it does.
		setup func(t *testing.T, deps *Deps, st *fakeStore, g *fakeGate) <-chan struct{}
	}{
		{"opening the store", false, func(t *testing.T, deps *Deps, st *fakeStore, g *fakeGate) <-chan struct{} {
			opening := make(chan struct{}, 1)
			deps.OpenStore = func(ctx context.Context) (store.Store, Gate, error) {
				opening <- struct{}{}
				<-ctx.Done()
				return nil, nil, ctx.Err()
			}
			return opening
		}},
		{"waiting to be master", true, func(t *testing.T, deps *Deps, st *fakeStore, g *fakeGate) <-chan struct{} {
			return g.awaiting
		}},
		{"recovering as master", true, func(t *testing.T, deps *Deps, st *fakeStore, g *fakeGate) <-chan struct{} {
			st.hold.Store(true)
			return st.recovering
		}},
		{"recovering, always master", false, func(t *testing.T, deps *Deps, st *fakeStore, g *fakeGate) <-chan struct{} {
			st.hold.Store(true)
			return st.recovering
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			st, f, g := newFakeStore(), newFakes(), newFakeGate()
			deps := Deps{OpenStore: opener(st, nil), Listeners: []Listener{f.listener("fake", "127.0.0.1:0")}}
			if tc.gated {
				deps.OpenStore = opener(st, g)
			}
			blocked := tc.setup(t, &deps, st, g)
			h := start(t, deps)
			if tc.gated && tc.name != "waiting to be master" {
				t.Cleanup(g.grant())
			}
			receive(t, "the server to block", blocked)
			if h.returned() {
				t.Fatalf("Run returned before the stop: %v", h.err)
			}
			if err := h.stop(); err != nil {
				t.Fatalf("Run after a stop: %v", err)
			}
			if tc.name == "opening the store" {
				if n := st.closes.Load(); n != 0 {
					t.Errorf("a store never opened closed %d times", n)
				}
			} else if n := st.closes.Load(); n != 1 {
				t.Errorf("store closed %d times, want 1", n)
			}
			if len(f.all()) != 0 || isReady(h.srv) || h.srv.Broker() != nil {
				t.Error("a listener opened, or ready, after a stop during start")
			}
			if n := g.handoffs.Load(); n != 0 {
				t.Errorf("Handoff called %d times before serving", n)
			}
		})
	}
}

// TestSpanEndsWhileRecovering: mastership lost while the broker recovers
// is no failure: the server waits to be master again, and then serves.
func TestSpanEndsWhileRecovering(t *testing.T) {
	leakCheck(t)
	st, f, g := newFakeStore(), newFakes(), newFakeGate()
	st.hold.Store(true)
	h := start(t, Deps{OpenStore: opener(st, g), Listeners: []Listener{f.listener("fake", "127.0.0.1:0")}})
	end := g.grant()
	t.Cleanup(end)
	receive(t, "recovery", st.recovering)
	st.hold.Store(false)
	end()
	h.awaitsAgain(g)
	if len(f.all()) != 0 || isReady(h.srv) {
		t.Fatal("listeners opened by a broker that is not master")
	}
	t.Cleanup(g.grant())
	h.ready()
	if h.srv.Broker() == nil {
		t.Fatal("ready without a broker")
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestHandoff: a stop while master hands mastership over first, with the
// listeners and the store still open; a stop after mastership ended does
// not.
func TestHandoff(t *testing.T) {
	t.Run("while master", func(t *testing.T) {
		leakCheck(t)
		st, f, g := newFakeStore(), newFakes(), newFakeGate()
		h := start(t, Deps{OpenStore: opener(st, g), Listeners: []Listener{f.listener("fake", "127.0.0.1:0")}})
		var openAtHandoff atomic.Bool
		g.handoff = func() error {
			openAtHandoff.Store(st.closes.Load() == 0 && !f.all()[0].isShutdown() && h.srv.Broker() != nil)
			return errors.New("no other member")
		}
		t.Cleanup(g.grant())
		h.ready()
		if err := h.stop(); err != nil {
			t.Fatalf("Run (a failed handoff is no failure of the stop): %v", err)
		}
		if n := g.handoffs.Load(); n != 1 {
			t.Fatalf("Handoff called %d times, want 1", n)
		}
		if !openAtHandoff.Load() {
			t.Error("Handoff came after the listeners or the store closed")
		}
	})
	t.Run("after mastership ended", func(t *testing.T) {
		leakCheck(t)
		st, f, g := newFakeStore(), newFakes(), newFakeGate()
		h := start(t, Deps{OpenStore: opener(st, g), Listeners: []Listener{f.listener("fake", "127.0.0.1:0")}})
		end := g.grant()
		t.Cleanup(end)
		h.ready()
		end()
		h.awaitsAgain(g)
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		if n := g.handoffs.Load(); n != 0 {
			t.Errorf("Handoff called %d times by a slave", n)
		}
	})
}

// TestInvalidGateClosesNewConnections: while the gate is not valid (a
// master that may have been replaced), the listeners close new
// connections at once and Serving reports false.
func TestInvalidGateClosesNewConnections(t *testing.T) {
	leakCheck(t)
	st, f, g := newFakeStore(), newFakes(), newFakeGate()
	h := start(t, Deps{OpenStore: opener(st, g), Listeners: []Listener{f.listener("fake", "127.0.0.1:0")}})
	t.Cleanup(g.grant())
	h.ready()
	p := receive(t, "the protocol server", f.made)
	addr := h.srv.Addr("fake").String()

	g.valid.Store(false)
	if h.srv.Serving() {
		t.Error("Serving() while the gate is not valid")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedByPeer(t, c) {
		t.Error("a connection made while the gate is not valid was left open")
	}
	if n := p.accepted.Load(); n != 0 {
		t.Errorf("the protocol got %d connections while the gate is not valid", n)
	}

	g.valid.Store(true)
	if !h.srv.Serving() {
		t.Error("not Serving() once the gate is valid again")
	}
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	waitFor(t, "the connection to reach the protocol", func() bool { return p.accepted.Load() == 1 })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	// Read until the server's close: EOF, not data.
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c2); err != nil {
		t.Errorf("the connection after the stop: %v, want EOF", err)
	}
}
