// Package stompclient is a small STOMP 1.2 client for Pier's own tools
// (produce, consume, bench) and tests. It is not the public Go client.
//
// A Conn runs one read-loop goroutine that dispatches MESSAGE frames to
// subscriptions and RECEIPT/ERROR frames to waiting calls, one optional
// heart-beat goroutine, and one delivery goroutine per subscription. Writes
// are serialized by a mutex. Close (or Disconnect) stops and awaits every
// goroutine.
//
// Calls that carry a receipt header wait for the server's RECEIPT; a
// persistent Send always does. An ERROR frame answering a receipt fails that
// call with a *ServerError; any other ERROR ends the connection.
package stompclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/piermq/pier/internal/protocol/stomp"
)

// Errors.
var (
	// ErrClosed is returned by calls on a connection that has been closed
	// by Close or Disconnect.
	ErrClosed = errors.New("stompclient: connection closed")
	// ErrProtocol reports a server that broke the protocol (e.g. did not
	// negotiate 1.2).
	ErrProtocol = errors.New("stompclient: protocol error")
	// ErrNoAck is returned by Ack/Nack for a message received on an
	// auto-acknowledged subscription.
	ErrNoAck = errors.New("stompclient: message has no ack id (auto ack)")
)

// ServerError is an ERROR frame sent by the server.
type ServerError struct {
	Message string // the message header
	Body    string
}

// Error is one line: the message header, and the body's first line
// when it says more (ActiveMQ puts a stack trace there).
func (e *ServerError) Error() string {
	body, _, _ := strings.Cut(strings.TrimSpace(e.Body), "\n")
	body = strings.TrimSpace(body)
	if body == "" || body == e.Message {
		return "stompclient: server error: " + e.Message
	}
	if e.Message == "" {
		return "stompclient: server error: " + body
	}
	return fmt.Sprintf("stompclient: server error: %s: %s", e.Message, body)
}

// Options configure a connection. The zero value connects anonymously
// without heart-beats.
type Options struct {
	Login    string
	Passcode string
	// ClientID is sent as client-id (ActiveMQ's JMS client ID, required for
	// durable subscriptions).
	ClientID string
	// Host is the virtual host header; default: the host part of addr.
	Host string
	// HeartBeat is offered in both directions; 0 disables heart-beats.
	HeartBeat time.Duration
	// Limits bound incoming frames; zero fields take the codec defaults.
	Limits stomp.Limits
	// Logger receives connection-level events; nil discards them.
	Logger *slog.Logger
	// TLS configures connections to stomp+ssl:// addresses (plain ones
	// ignore it): the CAs trusted (RootCAs), a client certificate, and so
	// on. Nil: the system's roots and no client certificate. Without a
	// ServerName the server's certificate must name the host dialled.
	TLS *tls.Config
}

// Conn is a STOMP 1.2 connection.
type Conn struct {
	nc     net.Conn
	r      *stomp.Reader
	log    *slog.Logger
	server string

	wmu sync.Mutex // serializes writes; guards bw and w
	bw  *bufio.Writer
	w   *stomp.Writer

	sendEvery time.Duration // client → server heart-beat interval
	recvEvery time.Duration // server → client heart-beat interval

	wg        sync.WaitGroup
	quit      chan struct{} // closed by Close: stop everything now
	done      chan struct{} // closed when the read loop has exited
	closeOnce sync.Once

	mu struct {
		sync.Mutex
		err      error // why the connection ended
		closing  bool  // Close or Disconnect was called
		nextID   uint64
		receipts map[string]chan error
		subs     map[string]*Subscription
	}
}

// Dial connects to addr and performs the CONNECT handshake. addr is
// anything ParseAddr accepts: host:port (plain TCP), or
// stomp+ssl://host:port (TLS, configured by opts.TLS).
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	hostport, secure, err := splitAddr(addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(hostport)
	nd := &net.Dialer{}
	var nc net.Conn
	if secure {
		cfg := &tls.Config{}
		if opts.TLS != nil {
			cfg = opts.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		nc, err = (&tls.Dialer{NetDialer: nd, Config: cfg}).DialContext(ctx, "tcp", hostport)
	} else {
		nc, err = nd.DialContext(ctx, "tcp", hostport)
	}
	if err != nil {
		return nil, fmt.Errorf("stompclient: dial %s: %w", addr, err)
	}
	if opts.Host == "" {
		opts.Host = host
	}
	c, err := NewConn(ctx, nc, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// NewConn performs the CONNECT handshake over an established connection
// and starts the read loop. On error the caller still owns nc.
func NewConn(ctx context.Context, nc net.Conn, opts Options) (*Conn, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bw := bufio.NewWriter(nc)
	c := &Conn{
		nc:   nc,
		r:    stomp.NewReader(bufio.NewReader(nc), opts.Limits),
		log:  log.With("component", "stompclient", "peer", nc.RemoteAddr().String()),
		bw:   bw,
		w:    stomp.NewWriter(bw, stomp.V12),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	c.w.ContentLength = true
	c.mu.receipts = make(map[string]chan error)
	c.mu.subs = make(map[string]*Subscription)
	if err := c.handshake(ctx, opts); err != nil {
		return nil, err
	}
	c.r.SetVersion(stomp.V12)
	c.wg.Add(1)
	go c.readLoop()
	if c.sendEvery > 0 {
		c.wg.Add(1)
		go c.heartBeatLoop()
	}
	return c, nil
}

func (c *Conn) handshake(ctx context.Context, opts Options) error {
	defer bindDeadline(ctx, c.nc.SetDeadline)()

	f := stomp.NewFrame(stomp.CmdConnect, "accept-version", "1.2", "host", opts.Host,
		"heart-beat", stomp.FormatHeartBeat(opts.HeartBeat, opts.HeartBeat))
	for _, h := range []stomp.Header{{Key: "login", Value: opts.Login}, {Key: "passcode", Value: opts.Passcode}, {Key: "client-id", Value: opts.ClientID}} {
		if h.Value != "" {
			f.Add(h.Key, h.Value)
		}
	}
	if err := c.flushFrame(f); err != nil {
		return ctxErr(ctx, fmt.Errorf("stompclient: send CONNECT: %w", err))
	}
	var resp *stomp.Frame
	for resp == nil {
		var err error
		if resp, err = c.r.ReadFrame(); err != nil {
			return ctxErr(ctx, fmt.Errorf("stompclient: read CONNECTED: %w", err))
		}
	}
	switch resp.Command {
	case stomp.CmdConnected:
	case stomp.CmdError:
		return serverError(resp)
	default:
		return fmt.Errorf("%w: got %s instead of CONNECTED", ErrProtocol, resp.Command)
	}
	if v := resp.Get("version"); v != "1.2" {
		return fmt.Errorf("%w: server speaks STOMP %q, want 1.2", ErrProtocol, v)
	}
	sx, sy, err := stomp.ParseHeartBeat(resp.Get("heart-beat"))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	c.sendEvery = stomp.HeartBeatInterval(opts.HeartBeat, sy)
	c.recvEvery = stomp.HeartBeatInterval(sx, opts.HeartBeat)
	c.server = resp.Get("server")
	return nil
}

// bindDeadline makes blocking I/O honour ctx: it sets ctx's deadline with
// set, and a past deadline if ctx is cancelled, until the returned function
// is called, which clears the deadline. Once that function has returned,
// a late cancellation can no longer touch the deadline.
func bindDeadline(ctx context.Context, set func(time.Time) error) (release func()) {
	dl, hasDeadline := ctx.Deadline()
	if hasDeadline {
		set(dl)
	}
	if ctx.Done() == nil {
		if !hasDeadline {
			return func() {}
		}
		return func() { set(time.Time{}) }
	}
	var mu sync.Mutex
	released := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !released {
			set(time.Unix(1, 0))
		}
	})
	return func() {
		stop()
		mu.Lock()
		released = true
		mu.Unlock()
		set(time.Time{})
	}
}

// ctxErr prefers the context's error when the context caused the failure.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// Server returns the server header of CONNECTED, e.g. "ActiveMQ/5.17.2".
func (c *Conn) Server() string { return c.server }

// Done is closed when the connection has ended, for any reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.err
}

// Close closes the connection at once, without DISCONNECT, and waits for
// every goroutine of the connection. Undelivered messages are dropped.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.mu.closing = true
		c.mu.Unlock()
		close(c.quit)
		c.nc.Close()
	})
	c.wg.Wait()
	return nil
}

// Disconnect sends DISCONNECT, waits for its receipt (so the server has
// processed everything sent before), then closes like Close.
func (c *Conn) Disconnect(ctx context.Context) error {
	c.mu.Lock()
	c.mu.closing = true
	c.mu.Unlock()
	err := c.request(ctx, stomp.NewFrame(stomp.CmdDisconnect), true)
	c.Close()
	if err != nil {
		return fmt.Errorf("stompclient: disconnect: %w", err)
	}
	return nil
}

func (c *Conn) newID(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.nextID++
	return prefix + strconv.FormatUint(c.mu.nextID, 10)
}

// request writes f; with wait it adds a receipt header and waits for the
// RECEIPT (or an ERROR naming it).
func (c *Conn) request(ctx context.Context, f *stomp.Frame, wait bool) error {
	if !wait {
		return c.writeFrame(ctx, f)
	}
	id := c.newID("r-")
	f.Set("receipt", id)
	ch := make(chan error, 1)
	c.mu.Lock()
	if c.mu.err != nil {
		err := c.mu.err
		c.mu.Unlock()
		return err
	}
	c.mu.receipts[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.mu.receipts, id)
		c.mu.Unlock()
	}
	if err := c.writeFrame(ctx, f); err != nil {
		forget()
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		forget()
		return fmt.Errorf("stompclient: waiting for receipt of %s: %w", f.Command, ctx.Err())
	case <-c.done:
		select {
		case err := <-ch:
			return err
		default:
		}
		return c.Err()
	}
}

// writeFrame writes and flushes one frame under the write lock. The write
// is bounded by ctx; a failed write ends the connection, since a partial
// frame may be on the wire.
func (c *Conn) writeFrame(ctx context.Context, f *stomp.Frame) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.Err(); err != nil {
		return err
	}
	defer bindDeadline(ctx, c.nc.SetWriteDeadline)()
	if err := c.flushFrame(f); err != nil {
		if errors.Is(err, stomp.ErrMalformed) {
			return err // nothing was written
		}
		err = ctxErr(ctx, fmt.Errorf("stompclient: write %s: %w", f.Command, err))
		if ctx.Err() == nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// A server that refuses a frame sends ERROR and closes: the
			// write may fail before the read loop has taken the ERROR in.
			// Give it a moment to end, so the caller learns the server's
			// reason rather than the closed socket it left.
			select {
			case <-c.done:
			case <-time.After(writeFailGrace):
			}
		}
		c.fail(err)
		return c.Err()
	}
	return nil
}

// writeFailGrace is how long a failed write waits for the read loop to
// end with the server's reason.
const writeFailGrace = time.Second

func (c *Conn) flushFrame(f *stomp.Frame) error {
	if f == nil {
		if err := c.w.WriteHeartBeat(); err != nil {
			return err
		}
	} else if err := c.w.WriteFrame(f); err != nil {
		return err
	}
	return c.bw.Flush()
}

// fail records the first fatal error and closes the socket, which ends the
// read loop.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.mu.err == nil {
		c.mu.err = err
	}
	c.mu.Unlock()
	c.nc.Close()
}

func (c *Conn) heartBeatLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.sendEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := c.writeFrame(context.Background(), nil); err != nil {
				return
			}
		case <-c.done:
			return
		}
	}
}

func (c *Conn) readLoop() {
	defer c.wg.Done()
	err := c.readFrames()
	c.mu.Lock()
	if c.mu.closing && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)) {
		err = ErrClosed
	}
	if c.mu.err == nil {
		c.mu.err = err
	}
	err = c.mu.err
	subs := c.mu.subs
	c.mu.subs = map[string]*Subscription{}
	c.mu.Unlock()
	c.nc.Close()
	if !errors.Is(err, ErrClosed) {
		c.log.Warn("connection ended", "err", err)
	}
	for _, s := range subs {
		s.end()
	}
	close(c.done)
}

func (c *Conn) readFrames() error {
	for {
		if c.recvEvery > 0 {
			// Allow a generous margin: any data counts as liveness.
			c.nc.SetReadDeadline(time.Now().Add(2*c.recvEvery + time.Second))
		}
		f, err := c.r.ReadFrame()
		if err != nil {
			return fmt.Errorf("stompclient: read: %w", err)
		}
		if f == nil {
			continue
		}
		switch f.Command {
		case stomp.CmdMessage:
			c.dispatch(f)
		case stomp.CmdReceipt:
			c.resolve(f.Get("receipt-id"), nil)
		case stomp.CmdError:
			serr := serverError(f)
			if id, ok := f.Lookup("receipt-id"); ok && c.resolve(id, serr) {
				continue
			}
			return serr
		default:
			return fmt.Errorf("%w: unexpected %s frame", ErrProtocol, f.Command)
		}
	}
}

// resolve completes the call waiting for receipt id; it reports whether
// there was one.
func (c *Conn) resolve(id string, err error) bool {
	c.mu.Lock()
	ch, ok := c.mu.receipts[id]
	delete(c.mu.receipts, id)
	c.mu.Unlock()
	if ok {
		ch <- err
	}
	return ok
}

func serverError(f *stomp.Frame) error {
	return &ServerError{Message: f.Get("message"), Body: string(f.Body)}
}
