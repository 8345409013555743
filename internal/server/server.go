// Package server owns a broker process's life cycle: it opens the store,
// recovers the broker core, opens the client listeners, and on shutdown
// stops accepting, drains and closes connections, flushes the core and
// closes the store, in that order. Concrete stores and protocol adapters are
// handed in by cmd/pier, so this package knows only their interfaces.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/store"
)

// Protocol is a protocol adapter's server: it serves connections accepted on
// listeners until Shutdown.
type Protocol interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// Listener is one client transport to open: a protocol name (stomp,
// openwire, ...), the address to listen on, and how to build its server.
type Listener struct {
	Name string
	Addr string
	New  func(b *broker.Broker) Protocol
	// TLS, when set, makes it a TLS listener (ssl://, stomp+ssl://).
	TLS *tls.Config
}

// Gate decides when a broker of a master/slave group may serve. A store
// that implements it (the replicated store) is asked before every span of
// service; a store that does not is always master.
type Gate interface {
	// Await blocks until this broker is master and caught up, and returns
	// a context that ends when it stops being master.
	Await(ctx context.Context) (context.Context, error)
	// Handoff is called at shutdown while still master: it hands
	// mastership to another member, so clients move at once.
	Handoff() error
	// Valid reports whether this broker may serve at this instant (a
	// master that was stalled may have been replaced without knowing it
	// yet). While it is false, the listeners close new connections at once
	// and Serving reports false.
	Valid() bool
}

// Deps are what cmd/pier wires in.
type Deps struct {
	// OpenStore opens (and recovers) the store. If it implements Gate,
	// the broker serves only while the gate says it is master.
	OpenStore func(ctx context.Context) (store.Store, error)
	Listeners []Listener
	// Services run beside the listeners in every span of service, over
	// that span's broker (the network bridges: only a master runs them).
	// Each is started once the listeners are open and stopped (its
	// context ended, its return awaited) before they close.
	Services []Service
	Log      *slog.Logger
}

// Service is work a master does besides serving clients.
type Service struct {
	Name string
	// Run runs until ctx ends; an error it returns before that is logged.
	Run func(ctx context.Context, b *broker.Broker) error
}

// Server runs one broker.
type Server struct {
	bcfg broker.Config
	deps Deps
	log  *slog.Logger

	ready     chan struct{}
	readyOnce sync.Once
	serving   atomic.Bool
	gate      atomic.Pointer[Gate]
	mu        struct {
		sync.Mutex
		addrs map[string]net.Addr
	}
}

// New checks the wiring and returns a server; Run starts it.
func New(bcfg broker.Config, deps Deps) (*Server, error) {
	if deps.OpenStore == nil {
		return nil, errors.New("server: no store")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{bcfg: bcfg, deps: deps, log: deps.Log.With("component", "server"), ready: make(chan struct{})}
	s.mu.addrs = map[string]net.Addr{}
	return s, nil
}

// Serving reports whether the broker is serving clients: every listener is
// open and shutdown has not begun.
func (s *Server) Serving() bool {
	if !s.serving.Load() {
		return false
	}
	if g := s.gate.Load(); g != nil {
		return (*g).Valid()
	}
	return true
}

// Ready is closed once every listener accepts connections.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the bound address of the named listener (after Ready).
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.addrs[name]
}

type running struct {
	name string
	ln   net.Listener
	p    Protocol
	done chan error
}

// Run opens the store, then serves whenever this broker is master (always,
// for a store that is not a Gate): it recovers the broker core from the
// store, opens the listeners, and when mastership ends closes them and every
// connection and waits to be master again. When ctx is cancelled it shuts
// down in order; it returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	start := time.Now()
	st, err := s.deps.OpenStore(ctx)
	if err != nil {
		return fmt.Errorf("server: open store: %w", err)
	}
	gate, _ := st.(Gate)
	if gate != nil {
		s.gate.Store(&gate)
	}
	for {
		term := ctx
		if gate != nil {
			// Said only when it takes a while: a lone broker becomes
			// master at once and has nothing to wait for.
			waiting := time.AfterFunc(2*time.Second, func() { s.log.Info("waiting to be master") })
			term, err = gate.Await(ctx)
			waiting.Stop()
			if err != nil {
				break
			}
			s.log.Info("master")
		}
		err = s.serve(ctx, term, st, gate, start)
		if err != nil || ctx.Err() != nil {
			break
		}
		s.log.Warn("no longer master; listeners and connections closed")
	}
	if ctx.Err() != nil {
		err = nil
	}
	if cerr := st.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("server: close store: %w", cerr)
	}
	if err == nil {
		s.log.Info("stopped")
	}
	return err
}

// serve runs the broker over st until term or ctx ends, or a listener fails.
func (s *Server) serve(ctx, term context.Context, st store.Store, gate Gate, start time.Time) error {
	b, err := broker.New(s.bcfg, st, s.deps.Log)
	if err != nil {
		return err
	}
	if err := b.Start(term); err != nil {
		return err
	}
	var rs []*running
	var stopping atomic.Bool
	svcCtx, svcStop := context.WithCancel(term)
	var svcs sync.WaitGroup
	stop := func() {
		stopping.Store(true)
		s.serving.Store(false)
		svcStop()
		svcs.Wait()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, r := range rs {
			if err := r.p.Shutdown(sctx); err != nil {
				s.log.Warn("shutdown did not finish", "proto", r.name, "err", err)
			}
			<-r.done
		}
		b.Close()
	}
	for _, l := range s.deps.Listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			stop()
			return fmt.Errorf("server: %s listener: %w", l.Name, err)
		}
		if gate != nil {
			ln = leasedListener{ln, gate, s.log}
		}
		if l.TLS != nil {
			ln = tls.NewListener(ln, l.TLS)
		}
		r := &running{name: l.Name, ln: ln, p: l.New(b), done: make(chan error, 1)}
		rs = append(rs, r)
		s.mu.Lock()
		s.mu.addrs[l.Name] = ln.Addr()
		s.mu.Unlock()
		go func() { r.done <- r.p.Serve(ln) }()
		s.log.Info("listening", "proto", l.Name, "addr", ln.Addr().String(), "tls", l.TLS != nil)
	}
	for _, sv := range s.deps.Services {
		svcs.Add(1)
		go func() {
			defer svcs.Done()
			if err := sv.Run(svcCtx, b); err != nil && svcCtx.Err() == nil {
				s.log.Error("service stopped", "service", sv.Name, "err", err)
			}
		}()
	}
	s.readyOnce.Do(func() { close(s.ready) })
	s.serving.Store(true)
	s.log.Info("ready", "broker", s.bcfg.Name, "startup", time.Since(start).Round(time.Millisecond).String())
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
		if gate != nil {
			if err := gate.Handoff(); err != nil {
				s.log.Warn("could not hand mastership over", "err", err)
			}
		}
	case <-term.Done():
	case err := <-firstFailure(rs, &stopping):
		stop()
		return err
	}
	stop()
	return nil
}

// firstFailure reports a listener that stopped on its own (not because the
// server is stopping).
func firstFailure(rs []*running, stopping *atomic.Bool) <-chan error {
	ch := make(chan error, 1)
	for _, r := range rs {
		go func() {
			err := <-r.done
			r.done <- err // give it back to the shutdown path
			if !stopping.Load() {
				select {
				case ch <- fmt.Errorf("server: %s listener stopped: %w", r.name, err):
				default:
				}
			}
		}()
	}
	return ch
}

// leasedListener closes connections accepted while the gate is not valid.
type leasedListener struct {
	net.Listener
	gate Gate
	log  *slog.Logger
}

func (l leasedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.gate.Valid() {
			return c, err
		}
		l.log.Info("connection refused: mastership not confirmed", "remote", c.RemoteAddr().String())
		c.Close()
	}
}
