package server

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/storetest"
)

// fakeGate is a gate the test drives: grant starts a span of service and
// returns what ends it (mastership lost).
type fakeGate struct {
	grants   chan context.Context
	awaiting chan struct{} // signalled each time Await starts waiting
	valid    atomic.Bool
	handoffs atomic.Int32
	// handoff, when set, runs inside Handoff and gives its result.
	handoff func() error
}

func newFakeGate() *fakeGate {
	return &fakeGate{grants: make(chan context.Context), awaiting: make(chan struct{}, 1)}
}

// grant waits for Await and makes it return a new term, as a replica that
// won an election; the function returned ends the term. The term does not
// end with Await's ctx: the replicated store's does not either.
func (g *fakeGate) grant() (end func()) {
	term, cancel := context.WithCancel(context.Background())
	g.valid.Store(true)
	g.grants <- term
	select { // Await's signal that it was waiting: taken
	case <-g.awaiting:
	default:
	}
	return func() {
		g.valid.Store(false)
		cancel()
	}
}

func (g *fakeGate) Await(ctx context.Context) (context.Context, error) {
	select {
	case g.awaiting <- struct{}{}:
	default:
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case term := <-g.grants:
		return term, nil
	}
}

func (g *fakeGate) Handoff() error {
	g.handoffs.Add(1)
	if g.handoff != nil {
		return g.handoff()
	}
	return nil
}

func (g *fakeGate) Valid() bool { return g.valid.Load() }

// fakeStore is the in-memory store, counting Close and able to hold
// Recover until ctx ends (a slow recovery).
type fakeStore struct {
	*storetest.Memory
	closes     atomic.Int32
	hold       atomic.Bool
	recovering chan struct{} // signalled when a held Recover starts
}

func newFakeStore() *fakeStore {
	return &fakeStore{Memory: storetest.NewMemory(0), recovering: make(chan struct{}, 1)}
}

func (s *fakeStore) Recover(ctx context.Context) (*store.State, error) {
	if s.hold.Load() {
		select {
		case s.recovering <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Memory.Recover(ctx)
}

func (s *fakeStore) Close() error {
	s.closes.Add(1)
	return s.Memory.Close()
}

var errFakeClosed = errors.New("fake: server closed")

// fakeProto accepts connections and holds them open, without a word of any
// protocol, until Shutdown closes its listener and every connection.
type fakeProto struct {
	b        *broker.Broker
	accepted atomic.Int32
	mu       struct {
		sync.Mutex
		ln       net.Listener
		conns    []net.Conn
		shutdown bool
	}
}

func (p *fakeProto) Serve(ln net.Listener) error {
	p.mu.Lock()
	if p.mu.shutdown {
		p.mu.Unlock()
		ln.Close()
		return errFakeClosed
	}
	p.mu.ln = ln
	p.mu.Unlock()
	for {
		c, err := ln.Accept()
		p.mu.Lock()
		shutdown := p.mu.shutdown
		if err == nil && !shutdown {
			p.accepted.Add(1)
			p.mu.conns = append(p.mu.conns, c)
		}
		p.mu.Unlock()
		switch {
		case shutdown:
			if c != nil {
				c.Close()
			}
			return errFakeClosed
		case err != nil:
			return err
		}
	}
}

func (p *fakeProto) Shutdown(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.shutdown = true
	if p.mu.ln != nil {
		p.mu.ln.Close()
	}
	for _, c := range p.mu.conns {
		c.Close()
	}
	return nil
}

func (p *fakeProto) isShutdown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.shutdown
}

// listener returns the listener Serve was given (nil before).
func (p *fakeProto) listener() net.Listener {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.ln
}

// fakes records the protocol servers made for a listener, one a span.
type fakes struct {
	mu     sync.Mutex
	protos []*fakeProto
	made   chan *fakeProto
}

func newFakes() *fakes { return &fakes{made: make(chan *fakeProto, 16)} }

func (f *fakes) listener(name, addr string) Listener {
	return Listener{Name: name, Addr: addr, New: func(b *broker.Broker) Protocol {
		p := &fakeProto{b: b}
		f.mu.Lock()
		f.protos = append(f.protos, p)
		f.mu.Unlock()
		f.made <- p
		return p
	}}
}

func (f *fakes) all() []*fakeProto {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeProto(nil), f.protos...)
}
