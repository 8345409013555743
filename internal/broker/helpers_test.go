package broker

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// memStore is a minimal in-memory store.Store for the core's tests.
type memStore struct {
	mu       sync.Mutex
	lastSeq  uint64
	dests    map[string]map[uint64]*message.Message
	subs     map[string]store.Subscription
	applies  int
	failNext error
}

func newMemStore() *memStore {
	return &memStore{dests: map[string]map[uint64]*message.Message{}, subs: map[string]store.Subscription{}}
}

func (s *memStore) Recover(context.Context) (*store.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &store.State{LastSeq: s.lastSeq}
	for d, ms := range s.dests {
		if len(ms) > 0 {
			st.Dests = append(st.Dests, store.DestState{Dest: d, Count: len(ms)})
		}
	}
	for _, sub := range s.subs {
		st.Subscriptions = append(st.Subscriptions, sub)
	}
	return st, nil
}

func (s *memStore) Apply(_ context.Context, b *store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failNext; err != nil {
		s.failNext = nil
		return err
	}
	s.applies++
	for _, op := range b.Ops {
		switch op.Kind {
		case store.OpAdd:
			if s.dests[op.Dest] == nil {
				s.dests[op.Dest] = map[uint64]*message.Message{}
			}
			s.dests[op.Dest][op.Seq] = op.Msg.Clone()
			s.lastSeq = max(s.lastSeq, op.Seq)
		case store.OpRemove:
			delete(s.dests[op.Dest], op.Seq)
		case store.OpPutSub:
			s.subs[op.Sub.Key()] = *op.Sub
		case store.OpDeleteSub:
			delete(s.subs, op.Sub.Key())
			delete(s.dests, op.Sub.Dest)
		}
	}
	return nil
}

func (s *memStore) Scan(_ context.Context, dest string, after uint64, n int, maxBytes int64) ([]store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var seqs []uint64
	for seq := range s.dests[dest] {
		if seq > after {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var out []store.Record
	var bytes int64
	for _, seq := range seqs {
		if len(out) >= n || (len(out) > 0 && bytes >= maxBytes) {
			break
		}
		m := s.dests[dest][seq]
		out = append(out, store.Record{Seq: seq, Msg: m.Clone()})
		bytes += int64(len(m.Body))
	}
	return out, nil
}

func (s *memStore) count(dest string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dests[dest])
}

func (s *memStore) Usage() store.Usage { return store.Usage{} }
func (s *memStore) Close() error       { return nil }

// sink collects deliveries.
type sink struct{ ch chan *Delivery }

func newSink() *sink                { return &sink{ch: make(chan *Delivery, 100000)} }
func (k *sink) Deliver(d *Delivery) { k.ch <- d }
func (k *sink) next(t *testing.T) *Delivery {
	t.Helper()
	select {
	case d := <-k.ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
		return nil
	}
}

// none asserts nothing arrives for a short while.
func (k *sink) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-k.ch:
		t.Fatalf("unexpected delivery %q on %s", d.Msg.Body, d.Sub.ID())
	case <-time.After(100 * time.Millisecond):
	}
}

func startBroker(t *testing.T, st store.Store, cfg Config) *Broker {
	t.Helper()
	if cfg.MaxRedeliveries == 0 {
		cfg.MaxRedeliveries = DefaultMaxRedeliveries
	}
	b, err := New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func connect(t *testing.T, b *Broker, clientID string) (*Conn, *sink) {
	t.Helper()
	k := newSink()
	c, err := b.Connect(ConnOptions{ClientID: clientID, Sink: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, k
}

func q(name string) message.Destination { return message.Destination{Kind: message.Queue, Name: name} }
func topic(name string) message.Destination {
	return message.Destination{Kind: message.Topic, Name: name}
}

func send(t *testing.T, c *Conn, d message.Destination, body string, persistent bool) {
	t.Helper()
	m := &message.Message{Dest: d, Body: []byte(body), BodyKind: message.Text, Persistent: persistent, Priority: 4}
	if err := c.Send(context.Background(), m, ""); err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
}

func subscribe(t *testing.T, c *Conn, o SubOptions) *Subscription {
	t.Helper()
	s, err := c.Subscribe(context.Background(), o)
	if err != nil {
		t.Fatalf("subscribe %+v: %v", o, err)
	}
	return s
}

func ack(t *testing.T, c *Conn, d *Delivery) {
	t.Helper()
	if err := c.Ack(context.Background(), d.Sub.ID(), d.Tag, "", true); err != nil {
		t.Fatalf("ack: %v", err)
	}
}
