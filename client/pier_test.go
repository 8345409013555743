package client

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startPier runs a Pier broker (memory store, OpenWire on 127.0.0.1:0) for
// the test and returns its address.
func startPier(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startPierOn(t, ln)
}

// startPierOn runs a Pier broker (memory store) serving OpenWire on ln
// (a TLS listener, say) for the test and returns ln's address.
func startPierOn(t testing.TB, ln net.Listener) string {
	t.Helper()
	b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries}, storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	srv := openwire.NewServer(openwire.Config{}, b, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, netserve.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		b.Close()
	})
	return ln.Addr().String()
}

// testCtx is a context bounded for one test step.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, addr string, opts Options) *Conn {
	t.Helper()
	c, err := Dial(testCtx(t), addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func session(t testing.TB, c *Conn, mode AckMode) *Session {
	t.Helper()
	s, err := c.Session(testCtx(t), mode)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func producer(t testing.TB, s *Session, d *Destination) *Producer {
	t.Helper()
	p, err := s.Producer(testCtx(t), d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func consumer(t testing.TB, s *Session, d *Destination, opts ...ConsumerOption) *Consumer {
	t.Helper()
	k, err := s.Consumer(testCtx(t), d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func send(t testing.TB, p *Producer, text string, opts ...SendOption) *Message {
	t.Helper()
	m := NewTextMessage(text)
	if err := p.Send(testCtx(t), m, opts...); err != nil {
		t.Fatal(err)
	}
	return m
}

// receiveText receives one message and checks its text.
func receiveText(t testing.TB, k *Consumer, want string) *Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := k.Receive(ctx)
	if err != nil {
		t.Fatalf("receive (want %q): %v", want, err)
	}
	if got, _ := m.Text(); got != want {
		t.Fatalf("received %q, want %q", got, want)
	}
	return m
}

// expectNone checks that nothing arrives within d.
func expectNone(t testing.TB, k *Consumer, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := k.Receive(ctx); err == nil {
		text, _ := m.Text()
		t.Fatalf("unexpected message %q", text)
	}
}
