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

// Gate decides when a broker of a master/slave group may serve: it is
// opened with the store (Deps.OpenStore) and asked before every span of
// service. A store opened without one is always master.
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
	// OpenStore opens (and recovers) the store, and returns with it the
	// gate that decides when a broker over it may serve (a replicated
	// store's replica, the claim of a shared-directory or SQL group), or
	// nil for a broker that is always master. When ctx ends before it
	// returns, it returns ctx's error.
	OpenStore func(ctx context.Context) (store.Store, Gate, error)
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
	mu        struct {
		sync.Mutex
		addrs map[string]net.Addr
		gate  Gate // set once the store is open; nil: always master
		// broker is the current span of service's, from the moment
		// every listener is open until its shutdown begins; nil
		// otherwise.
		broker *broker.Broker
	}
}

// New checks the wiring and returns a server; Run starts it.
func New(bcfg broker.Config, deps Deps) (*Server, error) {
	if deps.OpenStore == nil {
		return nil, errors.New("server: no store")
	}
	for i, l := range deps.Listeners {
		if l.Name == "" || l.New == nil {
			return nil, fmt.Errorf("server: listener %d (%q): a name and a protocol are required", i, l.Name)
		}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{bcfg: bcfg, deps: deps, log: deps.Log.With("component", "server"), ready: make(chan struct{})}
	s.mu.addrs = map[string]net.Addr{}
	return s, nil
}

// Serving reports whether the broker is serving clients: every listener is
// open, shutdown has not begun and the gate, if any, is valid.
func (s *Server) Serving() bool {
	s.mu.Lock()
	b, gate := s.mu.broker, s.mu.gate
	s.mu.Unlock()
	if b == nil {
		return false
	}
	return gate == nil || gate.Valid()
}

// Broker returns the broker of the current span of service, or nil while
// the server is not serving (opening the store, waiting to be master,
// between spans, stopping). The console reaches the broker through it. A
// broker kept past its span is closed: calls that need it open fail with
// broker.ErrClosed.
func (s *Server) Broker() *broker.Broker {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.broker
}

func (s *Server) setBroker(b *broker.Broker) {
	s.mu.Lock()
	s.mu.broker = b
	s.mu.Unlock()
}

// Ready is closed once every listener accepts connections.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the bound address of the named listener (after Ready).
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.addrs[name]
}

// span is one span of service: a broker over the store, the listeners
// serving it and the services beside them.
type span struct {
	b        *broker.Broker
	rs       []*running
	failed   chan error  // the first listener that stopped on its own
	stopping atomic.Bool // set before the listeners are shut down
	svcStop  context.CancelFunc
	svcs     sync.WaitGroup
}

// running is one open listener and its protocol's server.
type running struct {
	name string
	ln   net.Listener
	p    Protocol
	done chan struct{} // closed once Serve has returned
}

// Run opens the store, then serves whenever this broker is master (always,
// for a store opened without a gate): it recovers the broker core from the
// store, opens the listeners, and when mastership ends closes them and every
// connection and waits to be master again. When ctx is cancelled it shuts
// down in order; it returns nil after a clean shutdown, a stop before the
// store was open included.
func (s *Server) Run(ctx context.Context) error {
	start := time.Now()
	st, gate, err := s.deps.OpenStore(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while opening: nothing is open
		}
		return fmt.Errorf("server: open store: %w", err)
	}
	s.mu.Lock()
	s.mu.gate = gate
	s.mu.Unlock()
	for ctx.Err() == nil {
		term := ctx
		if gate != nil {
			// Said only when it takes a while: a lone broker becomes
			// master at once and has nothing to wait for.
			waiting := time.AfterFunc(2*time.Second, func() { s.log.Info("waiting to be master") })
			term, err = gate.Await(ctx)
			waiting.Stop()
			if err != nil {
				err = fmt.Errorf("server: wait to be master: %w", err)
				break
			}
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
// A span that ends, or a stop, while the broker recovers is no failure.
func (s *Server) serve(ctx, term context.Context, st store.Store, gate Gate, start time.Time) error {
	b, err := broker.New(s.bcfg, st, s.deps.Log)
	if err != nil {
		return err
	}
	// Recovery ends with the span or with the server (a gate's term
	// need not end with ctx).
	rctx, rcancel := context.WithCancel(term)
	unhook := context.AfterFunc(ctx, rcancel)
	err = b.Start(rctx)
	unhook()
	rcancel()
	if err != nil {
		b.Close()
		if term.Err() != nil || ctx.Err() != nil {
			return nil
		}
		return err
	}
	sp := &span{b: b, failed: make(chan error, 1)}
	if err := s.listen(sp, gate); err != nil {
		s.stop(sp)
		return err
	}
	s.startServices(term, sp)
	s.setBroker(b)
	s.readyOnce.Do(func() { close(s.ready) })
	// A master that took over from another says how long the takeover
	// took (from the old master's loss, as its gate saw it, to serving);
	// otherwise, how long the process took to start.
	ready := []any{"broker", s.bcfg.Name, "startup", time.Since(start).Round(time.Millisecond).String()}
	if tg, ok := gate.(interface{ TakeoverStart() (time.Time, bool) }); ok {
		if from, took := tg.TakeoverStart(); took {
			ready = []any{"broker", s.bcfg.Name, "takeover", time.Since(from).Round(time.Millisecond).String()}
		}
	}
	s.log.Info("ready", ready...)
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
		if gate != nil {
			if err := gate.Handoff(); err != nil {
				s.log.Warn("could not hand mastership over", "err", err)
			}
		}
	case <-term.Done():
	case err := <-sp.failed:
		s.stop(sp)
		return err
	}
	s.stop(sp)
	return nil
}

// listen opens every listener of the span and starts serving it; on an
// error, the listeners already open are left for stop.
func (s *Server) listen(sp *span, gate Gate) error {
	for _, l := range s.deps.Listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			return fmt.Errorf("server: %s listener: %w", l.Name, err)
		}
		if gate != nil {
			ln = leasedListener{ln, gate, s.log}
		}
		if l.TLS != nil {
			ln = tls.NewListener(ln, l.TLS)
		}
		r := &running{name: l.Name, ln: ln, p: l.New(sp.b), done: make(chan struct{})}
		sp.rs = append(sp.rs, r)
		s.mu.Lock()
		s.mu.addrs[l.Name] = ln.Addr()
		s.mu.Unlock()
		go func() {
			defer close(r.done)
			err := r.p.Serve(r.ln)
			if sp.stopping.Load() {
				return
			}
			if err == nil {
				err = errors.New("serve returned without an error")
			}
			select {
			case sp.failed <- fmt.Errorf("server: %s listener stopped: %w", r.name, err):
			default:
			}
		}()
		s.log.Info("listening", "proto", l.Name, "addr", ln.Addr().String(), "tls", l.TLS != nil)
	}
	return nil
}

// startServices starts the services over the span's broker, and the
// trimmer (trim.go); they run until the span ends or stop.
func (s *Server) startServices(term context.Context, sp *span) {
	ctx, cancel := context.WithCancel(term)
	sp.svcStop = cancel
	for _, sv := range s.deps.Services {
		sp.svcs.Add(1)
		go func() {
			defer sp.svcs.Done()
			if err := sv.Run(ctx, sp.b); err != nil && ctx.Err() == nil {
				s.log.Error("service stopped", "service", sv.Name, "err", err)
			}
		}()
	}
	s.startTrim(ctx, sp)
}

// stop ends a span in order: the services, then the listeners (every one
// stops accepting, then each protocol closes its connections), then the
// broker.
func (s *Server) stop(sp *span) {
	sp.stopping.Store(true)
	s.setBroker(nil)
	if sp.svcStop != nil {
		sp.svcStop()
		sp.svcs.Wait()
	}
	for _, r := range sp.rs {
		r.ln.Close()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, r := range sp.rs {
		if err := r.p.Shutdown(sctx); err != nil {
			s.log.Warn("shutdown did not finish", "proto", r.name, "err", err)
		}
		<-r.done
	}
	sp.b.Close()
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
