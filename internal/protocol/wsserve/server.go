// Package wsserve owns the WebSocket transport (ws:// and wss://): an HTTP
// server that upgrades requests on any path, picks the protocol by the
// WebSocket subprotocol the client offers (STOMP or MQTT, as ActiveMQ's
// ws:// transport), and hands a net.Conn view of each WebSocket to that
// protocol's server, which serves it as it serves a TCP connection.
package wsserve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/piermq/pier/internal/protocol/netserve"
)

// The protocols a WebSocket can carry, as keys of New's handlers.
const (
	STOMP = "stomp"
	MQTT  = "mqtt"
)

// subprotocols maps each WebSocket subprotocol to the protocol it carries
// (ActiveMQ's list). A client that offers none speaks STOMP.
var subprotocols = []struct{ name, proto string }{
	{"v12.stomp", STOMP}, {"v11.stomp", STOMP}, {"v10.stomp", STOMP}, {"stomp", STOMP},
	{"mqtt", MQTT}, {"mqttv3.1", MQTT},
}

// DefaultReadLimit bounds a client's WebSocket message when Config does not.
const DefaultReadLimit = 100 << 20

// Config holds the transport's settings.
type Config struct {
	// ReadLimit is the largest WebSocket message a client may send, in
	// bytes; a larger one closes the connection with status 1009.
	ReadLimit int64
	// HandshakeTimeout bounds reading the HTTP request that opens a
	// WebSocket.
	HandshakeTimeout time.Duration
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
}

// ConnServer serves connections accepted elsewhere; netserve.Server is one.
type ConnServer interface {
	// ServeConn serves nc until it ends, and closes it; it returns at once.
	ServeConn(nc net.Conn)
	// Shutdown ends the connections it serves and waits for them, or ctx.
	Shutdown(ctx context.Context) error
}

// Server is the WebSocket transport of one broker span; it implements
// server.Protocol.
type Server struct {
	cfg      Config
	handlers map[string]ConnServer
	offer    []string // the subprotocols served, in preference order
	log      *slog.Logger
	http     *http.Server
	// wg counts the upgrades under way and, per connection, its pump and
	// its close handshake.
	wg sync.WaitGroup

	closing atomic.Bool
	mu      struct {
		sync.Mutex
		closed bool
		conns  map[*conn]struct{}
	}
}

// New returns a server that hands WebSockets to handlers, keyed by
// protocol (STOMP, MQTT); a protocol without a handler is not offered.
func New(cfg Config, handlers map[string]ConnServer, log *slog.Logger) (*Server, error) {
	cfg.EnsureDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, handlers: map[string]ConnServer{}, log: log.With("component", "ws")}
	for proto, h := range handlers {
		if proto != STOMP && proto != MQTT {
			return nil, fmt.Errorf("ws: unknown protocol %q (want %q or %q)", proto, STOMP, MQTT)
		}
		if h != nil {
			s.handlers[proto] = h
		}
	}
	if len(s.handlers) == 0 {
		return nil, errors.New("ws: no protocol to serve")
	}
	for _, sp := range subprotocols {
		if s.handlers[sp.proto] != nil {
			s.offer = append(s.offer, sp.name)
		}
	}
	s.mu.conns = map[*conn]struct{}{}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: cfg.HandshakeTimeout,
		IdleTimeout:       cfg.HandshakeTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Serve accepts connections on ln (a TLS listener for wss://) until
// Shutdown, then returns netserve.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return netserve.ErrServerClosed
	}
	return fmt.Errorf("ws: %w", err)
}

// closeGrace is how long Shutdown waits for the clients to answer the close
// frames (a client reading its WebSocket answers at once).
const closeGrace = time.Second

// Shutdown stops accepting, shuts the protocols' servers down (which ends
// their sessions and so their WebSockets, with status 1001) and waits for
// the close handshakes, up to closeGrace or ctx; then it cuts the
// connections left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	err := s.http.Shutdown(ctx)
	for _, h := range s.handlers {
		if herr := h.Shutdown(ctx); err == nil {
			err = herr
		}
	}
	s.mu.Lock()
	s.mu.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	select {
	case <-done:
		return err
	case <-grace.C:
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.mu.conns {
		c.kill()
	}
	s.mu.Unlock()
	<-done // prompt: every read and write beneath has failed
	return err
}

func (s *Server) shuttingDown() bool { return s.closing.Load() }

// ServeHTTP upgrades a request to a WebSocket and hands it to the protocol
// its subprotocol names.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	proto, sub, ok := s.choose(r.Header)
	if !ok {
		offered := strings.Join(offeredSubprotocols(r.Header), ", ")
		s.log.Debug("upgrade refused: no supported subprotocol", "peer", r.RemoteAddr, "offered", offered)
		msg := "no WebSocket subprotocol offered"
		if offered != "" {
			msg = fmt.Sprintf("none of the WebSocket subprotocols offered (%s) is supported", offered)
		}
		http.Error(w, msg+"; this server speaks "+strings.Join(s.offer, ", "), http.StatusBadRequest)
		return
	}
	hw := &hijackWriter{ResponseWriter: w}
	// Any Origin: the broker authenticates every connection at the
	// protocol level (CONNECT's login, a client certificate), and no
	// cookie or other ambient credential opens a session, so a page from
	// another site gains nothing a plain client does not have. ActiveMQ
	// accepts any Origin too.
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true}
	if sub != "" {
		opts.Subprotocols = []string{sub}
	}
	ws, err := websocket.Accept(hw, r, opts)
	if err != nil {
		s.log.Debug("upgrade failed", "peer", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(s.cfg.ReadLimit)
	var st *tls.ConnectionState
	if r.TLS != nil {
		cs := *r.TLS
		st = &cs
	}
	hw.raw.SetDeadline(time.Time{}) // the HTTP server's, if any
	c := newConn(s, ws, hw.raw, proto == STOMP, st)
	s.track(c)
	go func() {
		defer s.wg.Done()
		c.pump()
	}()
	s.handlers[proto].ServeConn(c)
}

// choose picks, in the client's order of preference, the first offered
// subprotocol served; no offer at all means STOMP without a subprotocol.
func (s *Server) choose(h http.Header) (proto, sub string, ok bool) {
	offered := offeredSubprotocols(h)
	if len(offered) == 0 {
		return STOMP, "", s.handlers[STOMP] != nil
	}
	for _, o := range offered {
		for _, sp := range subprotocols {
			if strings.EqualFold(o, sp.name) && s.handlers[sp.proto] != nil {
				return sp.proto, sp.name, true
			}
		}
	}
	return "", "", false
}

// offeredSubprotocols lists the Sec-WebSocket-Protocol tokens, in order.
func offeredSubprotocols(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// enter counts an upgrade under way, unless the server is shut down; the
// upgrade's count keeps Shutdown waiting for the connection it makes,
// which the protocol's server, shut down already, then ends with a close
// frame.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// track registers c for Shutdown, counting its pump and its close
// handshake (during an upgrade: the count is not zero).
func (s *Server) track(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.conns[c] = struct{}{}
	s.wg.Add(2)
}

// release ends c's count once its close handshake is over.
func (s *Server) release(c *conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// bufSize is the size of the buffers a WebSocket reads frames through and
// writes them through (the library keeps the hijacked connection's for
// good): the HTTP server's 4 KiB each way were a quarter of an idle
// connection's memory. A larger message is read and written past them.
const bufSize = 1 << 10

// hijackWriter keeps the connection websocket.Accept hijacks: its
// addresses are the client's and its deadlines bound writes. It hands the
// library smaller buffers than the HTTP server's.
type hijackWriter struct {
	http.ResponseWriter
	raw net.Conn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nc, brw, err
	}
	w.raw = nc
	// What the client sent after its request is in the HTTP server's
	// buffer: the new one starts with it.
	n := brw.Reader.Buffered()
	pending, _ := brw.Reader.Peek(n)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(pending)), nc), max(bufSize, n))
	if n > 0 {
		br.Peek(n) // from the copy: the library takes what is buffered
	}
	if err := brw.Writer.Flush(); err != nil {
		return nc, brw, err
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, bufSize)), nil
}
