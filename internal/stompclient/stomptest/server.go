// Package stomptest provides a tiny in-process STOMP 1.2 server on a
// loopback listener, for testing stompclient and the tools built on it
// before the real broker exists. It is not a broker: destinations starting
// with /topic/ fan out to the current subscribers, every other destination
// is a queue delivered round-robin, nothing is persisted, and it records
// every frame it receives so tests can assert on the wire traffic.
package stomptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/piermq/pier/internal/protocol/stomp"
)

// Config changes how the server behaves. The zero value is a plain server.
type Config struct {
	// HeartBeat is the CONNECTED heart-beat header value (default "0,0").
	HeartBeat string
	// RejectLogin, when non-empty, answers CONNECT from this login with an
	// ERROR and closes the connection.
	RejectLogin string
	// ErrorDestination, when non-empty, answers SEND to it with an ERROR
	// (carrying receipt-id when the SEND had a receipt) and keeps going;
	// with CloseOnError it closes the connection after the ERROR, as
	// ActiveMQ and Pier do.
	ErrorDestination string
	CloseOnError     bool
	// NoReceipts drops every receipt request, for testing client timeouts.
	NoReceipts bool
	// TLS, when set, makes the server speak STOMP over TLS (stomp+ssl://).
	TLS *tls.Config
}

// Server is a running fake STOMP server.
type Server struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup
	mu  struct {
		sync.Mutex
		conns   map[*sconn]struct{}
		frames  []*stomp.Frame
		queued  map[string][]*stomp.Frame // queue name → undelivered MESSAGE frames
		subs    []*sub
		rr      int
		nextMsg int
		txs     map[string][]*stomp.Frame // transaction → buffered SEND frames
		beats   int
	}
}

type sconn struct {
	nc  net.Conn
	wmu sync.Mutex
	w   *stomp.Writer
}

type sub struct {
	c    *sconn
	id   string
	dest string
	ack  string
}

// Start listens on 127.0.0.1 with a random port and serves until Close.
func Start(cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stomptest: listen: %w", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s := &Server{cfg: cfg, ln: ln}
	s.mu.conns = make(map[*sconn]struct{})
	s.mu.queued = make(map[string][]*stomp.Frame)
	s.mu.txs = make(map[string][]*stomp.Frame)
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr returns the listening address, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, closes every connection and waits for all
// goroutines.
func (s *Server) Close() {
	s.ln.Close()
	s.CloseConns()
	s.wg.Wait()
}

// CloseConns closes every open connection, as a crashing broker would.
func (s *Server) CloseConns() {
	s.mu.Lock()
	for c := range s.mu.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
}

// Frames returns the frames received so far, in arrival order.
func (s *Server) Frames() []*stomp.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*stomp.Frame(nil), s.mu.frames...)
}

// FramesOf returns the received frames with the given command.
func (s *Server) FramesOf(command string) []*stomp.Frame {
	var out []*stomp.Frame
	for _, f := range s.Frames() {
		if f.Command == command {
			out = append(out, f)
		}
	}
	return out
}

// HeartBeats returns how many heart-beats the server has received.
func (s *Server) HeartBeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.beats
}

// Queued returns how many messages wait undelivered on a queue.
func (s *Server) Queued(dest string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.queued[dest])
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &sconn{nc: nc, w: stomp.NewWriter(nc, stomp.V12)}
		c.w.ContentLength = true
		s.mu.Lock()
		s.mu.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *Server) serve(c *sconn) {
	defer s.wg.Done()
	defer s.drop(c)
	r := stomp.NewReader(bufio.NewReader(c.nc), stomp.Limits{})
	for {
		f, err := r.ReadFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.write(stomp.NewFrame(stomp.CmdError, "message", err.Error()))
			}
			return
		}
		s.mu.Lock()
		if f == nil {
			s.mu.beats++
		} else {
			s.mu.frames = append(s.mu.frames, f)
		}
		s.mu.Unlock()
		if f == nil {
			continue
		}
		if f.Command == stomp.CmdConnect || f.Command == stomp.CmdStomp {
			r.SetVersion(stomp.V12)
		}
		if !s.handle(c, f) {
			return
		}
	}
}

// drop forgets a closed connection and its subscriptions.
func (s *Server) drop(c *sconn) {
	c.nc.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.conns, c)
	subs := s.mu.subs[:0]
	for _, sb := range s.mu.subs {
		if sb.c != c {
			subs = append(subs, sb)
		}
	}
	s.mu.subs = subs
}

// handle acts on one frame and reports whether to keep the connection.
func (s *Server) handle(c *sconn, f *stomp.Frame) bool {
	switch f.Command {
	case stomp.CmdConnect, stomp.CmdStomp:
		if s.cfg.RejectLogin != "" && f.Get("login") == s.cfg.RejectLogin {
			c.write(stomp.NewFrame(stomp.CmdError, "message", "login failed"))
			return false
		}
		hb := s.cfg.HeartBeat
		if hb == "" {
			hb = "0,0"
		}
		c.write(stomp.NewFrame(stomp.CmdConnected, "version", "1.2", "server", "stomptest/0", "session", "s-1", "heart-beat", hb))
		return true
	case stomp.CmdSend:
		if d := f.Get("destination"); d == s.cfg.ErrorDestination && d != "" {
			e := stomp.NewFrame(stomp.CmdError, "message", "rejected "+d)
			if r, ok := f.Lookup("receipt"); ok {
				e.Add("receipt-id", r)
			}
			c.write(e)
			return !s.cfg.CloseOnError
		}
		if tx := f.Get("transaction"); tx != "" {
			s.mu.Lock()
			s.mu.txs[tx] = append(s.mu.txs[tx], f)
			s.mu.Unlock()
		} else {
			s.publish(f)
		}
	case stomp.CmdSubscribe:
		s.mu.Lock()
		sb := &sub{c: c, id: f.Get("id"), dest: f.Get("destination"), ack: f.Get("ack")}
		s.mu.subs = append(s.mu.subs, sb)
		backlog := s.mu.queued[sb.dest]
		delete(s.mu.queued, sb.dest)
		s.mu.Unlock()
		s.receipt(c, f)
		for _, m := range backlog {
			s.deliver(sb, m)
		}
		return true
	case stomp.CmdUnsubscribe:
		s.mu.Lock()
		subs := s.mu.subs[:0]
		for _, sb := range s.mu.subs {
			if sb.c != c || sb.id != f.Get("id") {
				subs = append(subs, sb)
			}
		}
		s.mu.subs = subs
		s.mu.Unlock()
	case stomp.CmdCommit, stomp.CmdAbort:
		s.mu.Lock()
		sends := s.mu.txs[f.Get("transaction")]
		delete(s.mu.txs, f.Get("transaction"))
		s.mu.Unlock()
		if f.Command == stomp.CmdCommit {
			for _, m := range sends {
				s.publish(m)
			}
		}
	case stomp.CmdDisconnect:
		s.receipt(c, f)
		return false
	}
	s.receipt(c, f)
	return true
}

func (s *Server) receipt(c *sconn, f *stomp.Frame) {
	if r, ok := f.Lookup("receipt"); ok && !s.cfg.NoReceipts {
		c.write(stomp.NewFrame(stomp.CmdReceipt, "receipt-id", r))
	}
}

// publish turns a SEND into a MESSAGE and routes it.
func (s *Server) publish(send *stomp.Frame) {
	dest := send.Get("destination")
	m := &stomp.Frame{Command: stomp.CmdMessage, Body: send.Body}
	s.mu.Lock()
	s.mu.nextMsg++
	m.Add("message-id", "m-"+strconv.Itoa(s.mu.nextMsg))
	for _, h := range send.Headers {
		switch h.Key {
		case "receipt", "transaction", "content-length":
		default:
			m.Add(h.Key, h.Value)
		}
	}
	var targets []*sub
	for _, sb := range s.mu.subs {
		if sb.dest == dest {
			targets = append(targets, sb)
		}
	}
	if !strings.HasPrefix(dest, "/topic/") && len(targets) > 0 {
		s.mu.rr++
		targets = targets[s.mu.rr%len(targets) : s.mu.rr%len(targets)+1]
	}
	if len(targets) == 0 && !strings.HasPrefix(dest, "/topic/") {
		s.mu.queued[dest] = append(s.mu.queued[dest], m)
	}
	s.mu.Unlock()
	for _, sb := range targets {
		s.deliver(sb, m)
	}
}

func (s *Server) deliver(sb *sub, m *stomp.Frame) {
	out := &stomp.Frame{Command: m.Command, Headers: append([]stomp.Header(nil), m.Headers...), Body: m.Body}
	out.Set("subscription", sb.id)
	if sb.ack == "client" || sb.ack == "client-individual" {
		out.Set("ack", "ack-"+out.Get("message-id"))
	}
	sb.c.write(out)
}

func (c *sconn) write(f *stomp.Frame) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.w.WriteFrame(f); err != nil {
		c.nc.Close() // the read loop then ends the connection
	}
}
