// Package netserve owns what every protocol adapter's server does alike:
// accepting connections on listeners, bounding how many are open, and on
// Shutdown closing the listeners, asking every connection to end and
// waiting for them. The protocol-specific work is a Session per connection.
package netserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server closed")

// Session is one accepted connection's protocol handler.
type Session interface {
	// Run serves the connection until it ends, and closes it.
	Run()
	// Shutdown asks Run to end soon (the server is stopping).
	Shutdown()
}

// Handler makes sessions.
type Handler interface {
	// NewSession returns the session for a new connection.
	NewSession(nc net.Conn) Session
	// Refuse tells a connection over the limit why it is closed, and closes
	// it with CloseAfterError.
	Refuse(nc net.Conn, reason string)
}

// Server accepts connections for one protocol.
type Server struct {
	name     string
	h        Handler
	maxConns int
	wg       sync.WaitGroup

	mu struct {
		sync.Mutex
		listeners map[net.Listener]struct{}
		sessions  map[Session]struct{}
		closed    bool
	}
}

// New returns a server; maxConns <= 0 means no limit. name prefixes errors.
func New(name string, h Handler, maxConns int) *Server {
	s := &Server{name: name, h: h, maxConns: maxConns}
	s.mu.listeners = map[net.Listener]struct{}{}
	s.mu.sessions = map[Session]struct{}{}
	return s
}

// Serve accepts connections on ln until Shutdown, then returns
// ErrServerClosed.
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
			return fmt.Errorf("%s: accept: %w", s.name, err)
		}
		s.start(nc)
	}
}

// ServeConn serves one connection accepted elsewhere (a WebSocket carrying
// this protocol) as if Serve had accepted it: it counts toward the limit and
// Shutdown ends it. It returns at once; after Shutdown it closes nc.
func (s *Server) ServeConn(nc net.Conn) { s.start(nc) }

func (s *Server) start(nc net.Conn) {
	ss := s.h.NewSession(nc)
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	tooMany := s.maxConns > 0 && len(s.mu.sessions) >= s.maxConns
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
			s.h.Refuse(nc, fmt.Sprintf("too many connections (limit %d)", s.maxConns))
			return
		}
		ss.Run()
	}()
}

// Shutdown stops accepting, asks every session to end and waits for them,
// or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.mu.closed = true
	for ln := range s.mu.listeners {
		ln.Close()
	}
	for ss := range s.mu.sessions {
		ss.Shutdown()
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
