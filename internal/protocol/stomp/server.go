package stomp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/piermq/pier/internal/broker"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("stomp: server closed")

// Config holds the adapter's settings.
type Config struct {
	Limits Limits
	// MaxConnections bounds concurrent connections; 0 means no limit.
	MaxConnections int
	// ServerName is sent in CONNECTED's server header.
	ServerName string
	// HeartBeatGrace multiplies the client's heart-beat interval before a
	// silent client is dropped.
	HeartBeatGrace float64
	// ConnectTimeout bounds how long a new connection may take to send CONNECT.
	ConnectTimeout time.Duration
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	c.Limits = c.Limits.EnsureDefaults()
	if c.ServerName == "" {
		c.ServerName = "Pier/0.1"
	}
	if c.HeartBeatGrace < 1 {
		c.HeartBeatGrace = 1.5
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 30 * time.Second
	}
}

// Server accepts STOMP connections for a broker.
type Server struct {
	cfg Config
	b   *broker.Broker
	log *slog.Logger
	wg  sync.WaitGroup

	mu struct {
		sync.Mutex
		listeners map[net.Listener]struct{}
		sessions  map[*session]struct{}
		closed    bool
	}
}

// NewServer returns a server for b.
func NewServer(cfg Config, b *broker.Broker, log *slog.Logger) *Server {
	cfg.EnsureDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, b: b, log: log.With("component", "stomp")}
	s.mu.listeners = map[net.Listener]struct{}{}
	s.mu.sessions = map[*session]struct{}{}
	return s
}

// Serve accepts connections on ln until Shutdown, then returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.mu.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.mu.listeners, ln)
		s.mu.Unlock()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.mu.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("stomp: accept: %w", err)
		}
		s.startSession(nc)
	}
}

// ServeConn runs one connection that was accepted elsewhere (e.g. a
// WebSocket) until it ends.
func (s *Server) startSession(nc net.Conn) {
	ss := newSession(s, nc)
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	tooMany := s.cfg.MaxConnections > 0 && len(s.mu.sessions) >= s.cfg.MaxConnections
	s.mu.sessions[ss] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.mu.sessions, ss)
			s.mu.Unlock()
		}()
		if tooMany {
			ss.refuse(fmt.Sprintf("too many connections (limit %d)", s.cfg.MaxConnections))
			return
		}
		ss.run()
	}()
}

// Shutdown stops accepting, closes every connection (unacknowledged
// deliveries are redelivered later) and waits for them, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.mu.closed = true
	for ln := range s.mu.listeners {
		ln.Close()
	}
	for ss := range s.mu.sessions {
		ss.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connections reports the number of open connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.sessions)
}
