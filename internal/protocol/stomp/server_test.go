package stomp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is a broker with a STOMP server on a loopback port.
type rig struct {
	t    *testing.T
	addr string
	b    *broker.Broker
	st   *storetest.Memory
}

func newRig(t *testing.T, cfg Config, bcfg broker.Config) *rig {
	t.Helper()
	st := storetest.NewMemory(0)
	if bcfg.MaxRedeliveries == 0 {
		bcfg.MaxRedeliveries = broker.DefaultMaxRedeliveries
	}
	b, err := broker.New(bcfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, b, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		b.Close()
	})
	return &rig{t: t, addr: ln.Addr().String(), b: b, st: st}
}

// client is a raw STOMP client for tests.
type client struct {
	t  *testing.T
	nc net.Conn
	r  *Reader
	w  *Writer
}

func (r *rig) dial() *client {
	r.t.Helper()
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { nc.Close() })
	return &client{t: r.t, nc: nc, r: NewReader(bufio.NewReader(nc), Limits{}), w: NewWriter(nc, V10)}
}

// connect opens a session of version v ("1.2", "1.1" or "1.0") with extra
// CONNECT headers.
func (r *rig) connect(v string, kv ...string) *client {
	r.t.Helper()
	c := r.dial()
	hdrs := append([]string{"accept-version", v, "host", "localhost"}, kv...)
	c.send(NewFrame(CmdConnect, hdrs...))
	f := c.read()
	if f.Command != CmdConnected {
		r.t.Fatalf("CONNECT answered with %s %v %q", f.Command, f.Headers, f.Body)
	}
	ver, _ := ParseVersion(v)
	c.r.SetVersion(ver)
	c.w.SetVersion(ver)
	return c
}

func (c *client) send(f *Frame) {
	c.t.Helper()
	if err := c.w.WriteFrame(f); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) raw(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next frame, skipping heart-beats.
func (c *client) read() *Frame {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if f != nil {
			return f
		}
	}
}

// expect reads a frame and checks its command and headers.
func (c *client) expect(cmd string, kv ...string) *Frame {
	c.t.Helper()
	f := c.read()
	if f.Command != cmd {
		c.t.Fatalf("got %s %v %q, want %s", f.Command, f.Headers, f.Body, cmd)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if got, ok := f.Lookup(kv[i]); !ok || got != kv[i+1] {
			c.t.Fatalf("%s header %s = %q (present %v), want %q; headers %v", cmd, kv[i], got, ok, kv[i+1], f.Headers)
		}
	}
	return f
}

// closed asserts the server closes the connection (after any frames).
func (c *client) closed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
				return
			}
			c.t.Fatalf("want the connection closed, got %v", err)
		}
		if f != nil && f.Command != CmdError {
			c.t.Fatalf("want the connection closed, got %s", f.Command)
		}
	}
}

// quiet asserts no frame arrives for a short while.
func (c *client) quiet() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	f, err := c.r.ReadFrame()
	if err == nil && f != nil {
		c.t.Fatalf("unexpected %s %v %q", f.Command, f.Headers, f.Body)
	}
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		c.t.Fatalf("unexpected error %v", err)
	}
	c.nc.SetReadDeadline(time.Time{})
	// A timed-out read may have consumed part of a frame; tests only call
	// quiet when nothing is expected at all.
}

func deadline(seconds int) time.Time { return time.Now().Add(time.Duration(seconds) * time.Second) }

// receiptAndMessage reads a RECEIPT with the given id and a MESSAGE, which
// may come in either order, and returns the MESSAGE.
func (c *client) receiptAndMessage(receiptID string) *Frame {
	c.t.Helper()
	var m *Frame
	for i := 0; i < 2; i++ {
		switch f := c.read(); f.Command {
		case CmdMessage:
			if m != nil {
				c.t.Fatalf("two MESSAGEs, no RECEIPT %s", receiptID)
			}
			m = f
		case CmdReceipt:
			if f.Get("receipt-id") != receiptID {
				c.t.Fatalf("receipt %v, want %s", f.Headers, receiptID)
			}
		default:
			c.t.Fatalf("unexpected %s %v %q", f.Command, f.Headers, f.Body)
		}
	}
	if m == nil {
		c.t.Fatal("no MESSAGE")
	}
	return m
}
