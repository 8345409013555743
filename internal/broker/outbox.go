package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// OutboxPrefix starts the store key of every outbox.
const OutboxPrefix = "bridge://"

// ErrBadOutbox reports an outbox name that cannot be a store key.
var ErrBadOutbox = errors.New("broker: invalid outbox name")

// Outbox is the store-and-forward list of a network bridge (docs/network.md):
// messages moved out of their queues (Conn.Forward), on their way to another
// broker. It lives in the store under "bridge://<name>" and is never
// dispatched to consumers; the bridge reads it in sequence order and removes
// what the remote broker has stored.
type Outbox struct {
	b        *Broker
	name     string
	key      string
	producer string
	// fwd serialises Forward into this outbox, from taking sequence numbers
	// to the store write, so that entries are stored in sequence order and
	// a sender never sees a lower sequence after a higher one. It is shared
	// by every Outbox value of the name and held across the store write
	// (docs/broker.md, lock order).
	fwd *sync.Mutex
}

// Outbox returns the outbox name (e.g. "<connector>/<remote>"), which exists
// from then on and across restarts while it holds messages (Outboxes).
func (b *Broker) Outbox(name string) (*Outbox, error) {
	if name == "" || strings.ContainsAny(name, "\x00\n") {
		return nil, fmt.Errorf("%w: %q", ErrBadOutbox, name)
	}
	b.mu.Lock()
	fwd := b.mu.outboxes[name]
	if fwd == nil {
		fwd = new(sync.Mutex)
		b.mu.outboxes[name] = fwd
	}
	b.mu.Unlock()
	return &Outbox{b: b, name: name, key: OutboxPrefix + name,
		producer: "ID:pier-bridge:" + b.ID() + ":" + name, fwd: fwd}, nil
}

// Outboxes lists the outboxes known to the broker, sorted: those recovered
// from the store at Start and those opened since.
func (b *Broker) Outboxes() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	names := make([]string, 0, len(b.mu.outboxes))
	for n := range b.mu.outboxes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Name returns the outbox's name.
func (o *Outbox) Name() string { return o.name }

// Key returns the outbox's store key.
func (o *Outbox) Key() string { return o.key }

// ProducerID returns the producer id stamped on every message moved into
// the outbox; with the outbox sequence as producer sequence it lets the
// remote broker's producer marks drop resends.
func (o *Outbox) ProducerID() string { return o.producer }

// Read returns up to max messages of the outbox with a sequence above
// after, in sequence order. Each message's ProducerSeq is its sequence.
func (o *Outbox) Read(ctx context.Context, after uint64, max int) ([]store.Record, error) {
	recs, err := o.b.st.Scan(ctx, o.key, after, max, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("broker: read outbox %s: %w", o.name, err)
	}
	return recs, nil
}

// Remove deletes entries of the outbox (the remote broker has them), in
// one synced batch.
func (o *Outbox) Remove(ctx context.Context, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	var batch store.Batch
	for _, s := range seqs {
		batch.Remove(o.key, s)
	}
	if err := o.b.st.Apply(ctx, &batch); err != nil {
		return fmt.Errorf("broker: remove from outbox %s: %w", o.name, err)
	}
	return nil
}

// DeadLetter moves an entry the remote broker cannot take to the dead
// letter queue, with reason as its dlqDeliveryFailureCause, in one synced
// batch.
func (o *Outbox) DeadLetter(ctx context.Context, r store.Record, reason string) error {
	m := r.Msg.Clone()
	if m.OriginalDest.IsZero() {
		m.OriginalDest = m.Dest
	}
	m.Dest = message.Destination{Kind: message.Queue, Name: o.b.cfg.DLQ}
	m.Expiration = 0
	if m.Properties == nil {
		m.Properties = map[string]any{}
	}
	m.Properties["dlqDeliveryFailureCause"] = reason
	ch := &change{sends: []*message.Message{m}, moved: true}
	ch.also.Remove(o.key, r.Seq)
	if err := o.b.apply(ctx, ch); err != nil {
		return fmt.Errorf("broker: dead-letter from outbox %s: %w", o.name, err)
	}
	return nil
}

// Forward moves the given deliveries of subscription subID into the outbox
// in one synced store batch: each is removed from its queue and added to
// the outbox, re-stamped with the outbox's producer id, its new sequence
// as producer sequence and this broker appended to its broker path. The
// deliveries are settled by the same batch. If the batch fails, they are
// redelivered and nothing is in the outbox. If any tag is unknown, nothing
// is moved.
func (c *Conn) Forward(ctx context.Context, subID string, tags []uint64, o *Outbox) error {
	s, _, hs, err := c.settle(subID, "", func(s *Subscription) ([]held, error) { return s.takeTags(tags) })
	if err != nil {
		return err
	}
	defer s.kickAll()
	if err := o.add(ctx, hs); err != nil {
		c.b.redeliver(hs)
		return err
	}
	for q, es := range groupByQueue(hs) {
		q.finish(es)
	}
	return nil
}

// add writes the batch that moves hs into the outbox.
func (o *Outbox) add(ctx context.Context, hs []held) error {
	o.fwd.Lock()
	defer o.fwd.Unlock()
	var batch store.Batch
	for _, h := range hs {
		m, err := o.b.heldMessage(ctx, h)
		if err != nil {
			return fmt.Errorf("broker: forward to outbox %s: %w", o.name, err)
		}
		if h.e.stored {
			batch.Remove(h.q.key, h.e.seq)
		}
		seq := o.b.seq.Add(1)
		m = m.Clone()
		m.ProducerID, m.ProducerSeq = o.producer, int64(seq)
		m.BrokerPath = append(slices.Clip(m.BrokerPath), o.b.ID())
		m.DeliveryCount = 0
		batch.Add(o.key, seq, m)
	}
	if err := o.b.st.Apply(ctx, &batch); err != nil {
		return fmt.Errorf("broker: forward to outbox %s: %w", o.name, err)
	}
	return nil
}

// heldMessage returns a delivery's message, read back from the store if
// its body is paged out.
func (b *Broker) heldMessage(ctx context.Context, h held) (*message.Message, error) {
	if m := h.e.msg; m != nil {
		return m, nil
	}
	recs, err := b.st.Scan(ctx, h.q.key, h.e.seq-1, 1, 1)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || recs[0].Seq != h.e.seq {
		return nil, fmt.Errorf("message %d of %s is not stored", h.e.seq, h.q.key)
	}
	return recs[0].Msg, nil
}
