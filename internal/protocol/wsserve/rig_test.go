package wsserve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/store/storetest"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(clientsEnv); spec != "" {
		runClients(spec)
	}
	goleak.VerifyTestMain(m)
}

// waitFor bounds every wait of the tests.
const waitFor = 5 * time.Second

// rig is a broker with a STOMP server behind a WebSocket server on a
// loopback port.
type rig struct {
	t     *testing.T
	url   string // ws://127.0.0.1:port
	b     *broker.Broker
	srv   *Server
	stomp *stomp.Server
	done  chan error // Serve's result
	down  sync.Once
}

type rigOptions struct {
	cfg   Config
	scfg  stomp.Config // the STOMP server's
	stomp ConnServer   // instead of a STOMP server over a broker
	mqtt  ConnServer   // the MQTT handler, if any
	tls   *tls.Config  // wss:// with this configuration
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t, done: make(chan error, 1)}
	handlers := map[string]ConnServer{STOMP: o.stomp}
	if o.stomp == nil {
		st := storetest.NewMemory(0)
		b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries}, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.b = b
		r.stomp = stomp.NewServer(o.scfg, b, nil)
		handlers[STOMP] = r.stomp
	}
	if o.mqtt != nil {
		handlers[MQTT] = o.mqtt
	}
	srv, err := New(o.cfg, handlers, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.url = "ws://" + ln.Addr().String()
	if o.tls != nil {
		ln = tls.NewListener(ln, o.tls)
		r.url = "wss://" + ln.Addr().String()
	}
	go func() { r.done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		r.shutdown()
		if r.b != nil {
			r.b.Close()
		}
	})
	return r
}

// shutdown shuts the WebSocket server down and checks Serve's result.
func (r *rig) shutdown() {
	r.down.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := r.srv.Shutdown(ctx); err != nil {
			r.t.Errorf("Shutdown: %v", err)
		}
		if err := <-r.done; !errors.Is(err, netserve.ErrServerClosed) {
			r.t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
}

// dialOptions returns options offering subprotocols; client, when not nil,
// makes the HTTP requests.
func dialOptions(client *http.Client, subprotocols ...string) *websocket.DialOptions {
	return &websocket.DialOptions{Subprotocols: subprotocols, HTTPClient: client}
}

// dial opens a WebSocket offering subprotocols.
func (r *rig) dial(subprotocols ...string) *wsClient {
	r.t.Helper()
	return r.dialWith(dialOptions(nil, subprotocols...), "/")
}

func (r *rig) dialWith(opts *websocket.DialOptions, path string) *wsClient {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, r.url+path, opts)
	if err != nil {
		r.t.Fatalf("dial: %v (response %v)", err, resp)
	}
	c.SetReadLimit(-1)
	wc := &wsClient{t: r.t, c: c, sub: c.Subprotocol()}
	wc.r = stomp.NewReader(bufio.NewReader(&messageStream{c: wc}), stomp.Limits{})
	r.t.Cleanup(func() { c.CloseNow() })
	return wc
}

// wsClient is a STOMP client over a WebSocket, as a browser's: it writes
// frames as text messages, and reads frames from the messages it gets,
// noting their types.
type wsClient struct {
	t     *testing.T
	c     *websocket.Conn
	sub   string
	r     *stomp.Reader
	types []websocket.MessageType // of the messages read
	end   error                   // what ended the reading
}

// messageStream reads the client's messages, text or binary, as one stream.
type messageStream struct {
	c      *wsClient
	cur    io.Reader
	cancel context.CancelFunc // bounds reading cur
}

func (m *messageStream) Read(p []byte) (int, error) {
	for {
		if m.cur == nil {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			typ, r, err := m.c.c.Reader(ctx)
			if err != nil {
				cancel()
				m.c.end = err
				return 0, err
			}
			m.c.types = append(m.c.types, typ)
			m.cur, m.cancel = r, cancel
		}
		n, err := m.cur.Read(p)
		if errors.Is(err, io.EOF) {
			m.cancel()
			m.cur = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// send writes s as one text message.
func (c *wsClient) send(s string) {
	c.t.Helper()
	c.write(websocket.MessageText, s)
}

func (c *wsClient) write(typ websocket.MessageType, s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.c.Write(ctx, typ, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame, skipping heart-beats.
func (c *wsClient) read() *stomp.Frame {
	c.t.Helper()
	f, err := nextFrame(c.r)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// nextFrame reads r's next frame, skipping heart-beats.
func nextFrame(r *stomp.Reader) (*stomp.Frame, error) {
	f, err := r.ReadFrame()
	for err == nil && f == nil {
		f, err = r.ReadFrame()
	}
	return f, err
}

// expect reads a frame and checks its command.
func (c *wsClient) expect(cmd string) *stomp.Frame {
	c.t.Helper()
	f := c.read()
	if f.Command != cmd {
		c.t.Fatalf("got %s %v %q, want %s", f.Command, f.Headers, f.Body, cmd)
	}
	return f
}

// connect sends a STOMP 1.2 CONNECT with extra header lines and expects
// CONNECTED; then a receipt, which says that the session is done with the
// CONNECT. (It clears its read deadline after sending CONNECTED: a
// Shutdown in between is lost and the session waits for the client — a
// race of the STOMP session, over TCP as well.)
func (c *wsClient) connect(headers ...string) *stomp.Frame {
	c.t.Helper()
	c.send(frame("CONNECT", append([]string{"accept-version:1.2", "host:localhost"}, headers...), ""))
	f := c.expect(stomp.CmdConnected)
	c.send(frame("SUBSCRIBE", []string{"id:connected", "destination:/queue/connected", "receipt:connected"}, ""))
	if r := c.expect(stomp.CmdReceipt); r.Get("receipt-id") != "connected" {
		c.t.Fatalf("RECEIPT %v", r.Headers)
	}
	return f
}

// closeStatus reads until the WebSocket ends and returns its close status
// (-1: it ended without a close frame).
func (c *wsClient) closeStatus() websocket.StatusCode {
	c.t.Helper()
	st, err := c.readToClose()
	if err != nil {
		c.t.Fatal(err)
	}
	return st
}

// readToClose reads frames until the WebSocket ends and returns its close
// status; it may run in another goroutine than the test's.
func (c *wsClient) readToClose() (websocket.StatusCode, error) {
	for c.end == nil {
		if _, err := c.r.ReadFrame(); err != nil && c.end == nil {
			return 0, fmt.Errorf("read: %w", err)
		}
	}
	return websocket.CloseStatus(c.end), nil
}

// frame is a STOMP frame as text.
func frame(cmd string, headers []string, body string) string {
	var b strings.Builder
	b.WriteString(cmd + "\n")
	for _, h := range headers {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n" + body + "\x00")
	return b.String()
}

// echo is a ConnServer standing for another protocol: it keeps the conns it
// is given, writes greeting on each and then echoes what it reads. A conn
// handed over once Shutdown has begun (an upgrade under way when it was
// called) is closed at once.
type echo struct {
	greeting string
	conns    chan net.Conn
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     map[net.Conn]struct{}
	closed   bool
}

func newEcho(greeting string) *echo {
	return &echo{greeting: greeting, conns: make(chan net.Conn, 16), open: map[net.Conn]struct{}{}}
}

func (e *echo) ServeConn(nc net.Conn) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		nc.Close()
		return
	}
	e.open[nc] = struct{}{}
	e.wg.Add(1) // before Shutdown's Wait, under the same lock
	e.mu.Unlock()
	e.conns <- nc
	go func() {
		defer e.wg.Done()
		defer nc.Close()
		if _, err := io.WriteString(nc, e.greeting); err != nil {
			return
		}
		io.Copy(nc, nc)
	}()
}

func (e *echo) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	for nc := range e.open {
		nc.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

// next returns the next conn the server handed over.
func (e *echo) next(t *testing.T) net.Conn {
	t.Helper()
	select {
	case nc := <-e.conns:
		return nc
	case <-time.After(waitFor):
		t.Fatal("no connection handed over")
		return nil
	}
}
