package storetest

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// Memory is an in-memory store.Store: the reference implementation of the
// contract, for tests of the packages above the store. Its data outlives
// Close, so Reopen gives a new store over the same data (a "restart").
type Memory struct {
	data   *memData
	mu     sync.Mutex // guards closed
	closed bool
}

type memData struct {
	mu      sync.Mutex
	limit   int64
	bytes   int64
	lastSeq uint64
	mark    uint64                       // highest Batch.Mark applied
	dests   map[string]map[uint64][]byte // encoded messages
	subs    map[string]store.Subscription
	// prods holds every producer's high-water mark. It is never trimmed:
	// remembering all producers honours the store.MinProducers minimum,
	// and test stores do not live long enough for it to matter.
	prods    map[string]int64
	failNext error
}

var _ store.Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store with a size limit (0: none).
func NewMemory(limit int64) *Memory {
	return &Memory{data: &memData{limit: limit, dests: map[string]map[uint64][]byte{},
		subs: map[string]store.Subscription{}, prods: map[string]int64{}}}
}

// Reopen returns a new store over the same data, as after a restart.
func (m *Memory) Reopen() *Memory { return &Memory{data: m.data} }

// FailNext makes the next Apply fail with err, applying nothing.
func (m *Memory) FailNext(err error) {
	m.data.mu.Lock()
	m.data.failNext = err
	m.data.mu.Unlock()
}

// Count returns how many messages dest holds.
func (m *Memory) Count(dest string) int {
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	return len(m.data.dests[dest])
}

// Subscriptions returns how many durable subscriptions are stored.
func (m *Memory) Subscriptions() int {
	m.data.mu.Lock()
	defer m.data.mu.Unlock()
	return len(m.data.subs)
}

func (m *Memory) check() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return store.ErrClosed
	}
	return nil
}

// Recover implements store.Store.
func (m *Memory) Recover(context.Context) (*store.State, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	d := m.data
	d.mu.Lock()
	defer d.mu.Unlock()
	st := &store.State{LastSeq: d.lastSeq, Mark: d.mark}
	if len(d.prods) > 0 {
		st.ProducerSeqs = maps.Clone(d.prods)
	}
	for name, msgs := range d.dests {
		if len(msgs) == 0 {
			continue
		}
		ds := store.DestState{Dest: name, Count: len(msgs)}
		for _, b := range msgs {
			ds.Bytes += int64(len(b))
		}
		st.Dests = append(st.Dests, ds)
	}
	sort.Slice(st.Dests, func(i, j int) bool { return st.Dests[i].Dest < st.Dests[j].Dest })
	for _, s := range d.subs {
		st.Subscriptions = append(st.Subscriptions, s)
	}
	sort.Slice(st.Subscriptions, func(i, j int) bool { return st.Subscriptions[i].Key() < st.Subscriptions[j].Key() })
	return st, nil
}

// Apply implements store.Store.
func (m *Memory) Apply(_ context.Context, b *store.Batch) error {
	if err := m.check(); err != nil {
		return err
	}
	enc := make([][]byte, len(b.Ops))
	var adding int64
	for i, op := range b.Ops {
		if op.Kind == store.OpAdd {
			e, err := message.Marshal(nil, op.Msg)
			if err != nil {
				return fmt.Errorf("memory store: %w", err)
			}
			enc[i] = e
			adding += int64(len(e))
		}
	}
	d := m.data
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.failNext; err != nil {
		d.failNext = nil
		return err
	}
	if adding > 0 && d.limit > 0 && d.bytes+adding > d.limit {
		return fmt.Errorf("%w: %d of %d bytes used", store.ErrFull, d.bytes, d.limit)
	}
	for i, op := range b.Ops {
		switch op.Kind {
		case store.OpAdd:
			if d.dests[op.Dest] == nil {
				d.dests[op.Dest] = map[uint64][]byte{}
			}
			d.bytes -= int64(len(d.dests[op.Dest][op.Seq]))
			d.dests[op.Dest][op.Seq] = enc[i]
			d.bytes += int64(len(enc[i]))
			d.lastSeq = max(d.lastSeq, op.Seq)
			if id, pseq := op.Msg.ProducerID, op.Msg.ProducerSeq; id != "" && pseq > d.prods[id] {
				d.prods[id] = pseq
			}
		case store.OpRemove:
			d.bytes -= int64(len(d.dests[op.Dest][op.Seq]))
			delete(d.dests[op.Dest], op.Seq)
		case store.OpPutSub:
			d.subs[op.Sub.Key()] = *op.Sub
		case store.OpDeleteSub:
			delete(d.subs, op.Sub.Key())
			for _, e := range d.dests[op.Sub.Dest] {
				d.bytes -= int64(len(e))
			}
			delete(d.dests, op.Sub.Dest)
		default:
			return fmt.Errorf("memory store: unknown op kind %d", op.Kind)
		}
	}
	d.mark = max(d.mark, b.Mark)
	return nil
}

// Scan implements store.Store.
func (m *Memory) Scan(_ context.Context, dest string, after uint64, max int, maxBytes int64) ([]store.Record, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	d := m.data
	d.mu.Lock()
	defer d.mu.Unlock()
	var seqs []uint64
	for seq := range d.dests[dest] {
		if seq > after {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var out []store.Record
	var n int64
	for _, seq := range seqs {
		e := d.dests[dest][seq]
		if len(out) >= max || (len(out) > 0 && n+int64(len(e)) > maxBytes) {
			break
		}
		msg, err := message.Unmarshal(e)
		if err != nil {
			return nil, fmt.Errorf("memory store: %w", err)
		}
		out = append(out, store.Record{Seq: seq, Msg: msg})
		n += int64(len(e))
	}
	return out, nil
}

// Usage implements store.Store.
func (m *Memory) Usage() store.Usage {
	d := m.data
	d.mu.Lock()
	defer d.mu.Unlock()
	u := store.Usage{Bytes: d.bytes, Limit: d.limit}
	for _, msgs := range d.dests {
		u.Messages += int64(len(msgs))
	}
	return u
}

// Close implements store.Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return store.ErrClosed
	}
	m.closed = true
	return nil
}
