package bench

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/store/storetest"
)

// pier is an in-process Pier broker (memory store) with OpenWire and STOMP
// listeners on loopback.
type pier struct {
	openwire, stomp string // host:port
}

func startPier(t testing.TB) pier {
	t.Helper()
	b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries}, storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ow := openwire.NewServer(openwire.Config{}, b, nil)
	st := stomp.NewServer(stomp.Config{}, b, nil)
	return pier{
		openwire: serve(t, ow.Serve, ow.Shutdown),
		stomp:    serve(t, st.Serve, st.Shutdown),
	}
}

// serve runs a protocol server on a loopback port until the test ends.
func serve(t testing.TB, run func(net.Listener) error, shutdown func(context.Context) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run(ln) }()
	t.Cleanup(func() {
		shutdown(context.Background())
		if err := <-done; !errors.Is(err, netserve.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func openWireTransport(addr string) *OpenWire {
	return &OpenWire{Dial: func(ctx context.Context) (*client.Conn, error) {
		return client.Dial(ctx, addr, client.Options{})
	}}
}
