package wsserve

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// chunkSize is the size of the buffers the pump reads messages into; they
// come from a pool, so an idle connection holds none.
const chunkSize = 32 << 10

var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// chunk is what the pump hands to Read: part of a message, or the error
// that ended the reading.
type chunk struct {
	buf *[]byte // from chunks; (*buf)[:n] is data
	n   int
	err error
}

// conn is the net.Conn a protocol's session reads and writes: the data of
// the client's messages, text or binary, as one byte stream, and one
// message per Write.
//
// websocket.NetConn is not used because it does not fit a session's
// expectations of a net.Conn: it accepts only one message type, and a
// read deadline that passes during a read — a STOMP session's first-byte
// sniff, an idle heart-beat interval, Shutdown — closes the whole
// WebSocket, losing the ERROR frame the session then writes. Here a pump
// goroutine reads the WebSocket without a deadline and hands the data to
// Read, which waits for it until its deadline; a deadline ends only that
// Read, as on a TCP connection. Write deadlines are those of the
// connection beneath (a write that times out ends the connection, as on
// TCP).
type conn struct {
	srv  *Server
	ws   *websocket.Conn
	raw  net.Conn // the hijacked connection, TLS or TCP
	text bool     // writes valid UTF-8 as text messages (STOMP); else binary (MQTT)
	tls  *tls.ConnectionState

	data   chan chunk    // pump -> Read
	closed chan struct{} // closed by Close: the pump and Read give up

	rd deadline

	mu struct {
		sync.Mutex
		rest []byte  // what Read has not returned of cur
		cur  *[]byte // the chunk rest belongs to
		err  error   // sticky: the reading is over
	}
	closeOnce sync.Once // the close handshake
	closeFlag sync.Once // closed
}

func newConn(srv *Server, ws *websocket.Conn, raw net.Conn, text bool, st *tls.ConnectionState) *conn {
	return &conn{srv: srv, ws: ws, raw: raw, text: text, tls: st,
		data: make(chan chunk), closed: make(chan struct{}), rd: makeDeadline()}
}

// pump reads the client's messages and hands their data to Read until the
// WebSocket ends or the conn is closed. It reads without a deadline:
// cancelling a read of a *websocket.Conn closes it.
func (c *conn) pump() {
	for {
		_, r, err := c.ws.Reader(context.Background())
		if err != nil {
			c.hand(chunk{err: readError(err)})
			return
		}
		for {
			bp := chunks.Get().(*[]byte)
			n, err := r.Read(*bp)
			if n > 0 {
				if !c.hand(chunk{buf: bp, n: n}) {
					return
				}
			} else {
				chunks.Put(bp)
			}
			if errors.Is(err, io.EOF) {
				break // the next message
			}
			if err != nil {
				c.hand(chunk{err: readError(err)})
				return
			}
		}
	}
}

// hand gives ch to Read; it reports false once the conn is closed.
func (c *conn) hand(ch chunk) bool {
	select {
	case c.data <- ch:
		return true
	case <-c.closed:
		if ch.buf != nil {
			chunks.Put(ch.buf)
		}
		return false
	}
}

// readError is what Read returns for the error that ended the pump: io.EOF
// for a normal close by the client, as a TCP connection's FIN.
func readError(err error) error {
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return io.EOF
	}
	if errors.Is(err, net.ErrClosed) {
		return net.ErrClosed
	}
	return err
}

// Read reads the data of the client's messages as one stream.
func (c *conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mu.rest) == 0 {
		if c.mu.err != nil {
			return 0, c.mu.err
		}
		select {
		case ch := <-c.data:
			if ch.err != nil {
				c.mu.err = ch.err
				return 0, ch.err
			}
			c.mu.cur, c.mu.rest = ch.buf, (*ch.buf)[:ch.n]
		case <-c.rd.wait():
			return 0, os.ErrDeadlineExceeded
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.mu.rest)
	c.mu.rest = c.mu.rest[n:]
	if len(c.mu.rest) == 0 {
		chunks.Put(c.mu.cur)
		c.mu.cur = nil
	}
	return n, nil
}

// Write writes p as one message: text when it may (STOMP) and p is valid
// UTF-8, binary otherwise — a browser fails a WebSocket whose text message
// is not UTF-8, so a binary body goes as a binary message.
func (c *conn) Write(p []byte) (int, error) {
	typ := websocket.MessageBinary
	if c.text && utf8.Valid(p) {
		typ = websocket.MessageText
	}
	if err := c.ws.Write(context.Background(), typ, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite starts the close handshake: a close frame to the client,
// which answers with its own, after which Read returns io.EOF. It is the
// WebSocket's half-close, which netserve.CloseAfterError uses so that the
// client reads the last frame written before the connection ends.
func (c *conn) CloseWrite() error {
	c.closeOnce.Do(func() {
		code, reason := websocket.StatusNormalClosure, ""
		if c.srv.shuttingDown() {
			code, reason = websocket.StatusGoingAway, "server shutting down"
		}
		go func() {
			// Bounded by the library: 5 s to write the close frame, 5 s
			// to wait for the client's.
			c.ws.Close(code, reason)
			c.srv.release(c)
		}()
	})
	return nil
}

// Close closes the conn at once for its user (Read returns net.ErrClosed)
// and ends the WebSocket with a close handshake in the background.
func (c *conn) Close() error {
	c.closeFlag.Do(func() {
		close(c.closed)
		c.rd.set(time.Time{})
	})
	return c.CloseWrite()
}

// kill ends the connection without a handshake (Shutdown's last resort).
func (c *conn) kill() {
	c.Close()
	c.raw.Close()
}

func (c *conn) LocalAddr() net.Addr  { return c.raw.LocalAddr() }
func (c *conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

func (c *conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	return c.raw.SetWriteDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.rd.set(t)
	return nil
}

func (c *conn) SetWriteDeadline(t time.Time) error { return c.raw.SetWriteDeadline(t) }

// ConnectionState returns the TLS state of a wss:// connection (zero on
// ws://), through which netserve.PeerCertificates finds the client's
// certificate.
func (c *conn) ConnectionState() tls.ConnectionState {
	if c.tls == nil {
		return tls.ConnectionState{}
	}
	return *c.tls
}

// deadline is a read deadline as a channel closed when it passes (as
// net.Pipe's).
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{}
}

func makeDeadline() deadline { return deadline{cancel: make(chan struct{})} }

// set makes wait's channel close at t (never for a zero t).
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer's function is closing it
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

// wait returns a channel closed once the deadline has passed.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
