package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// Producer sends messages to its destination, or, if it was created
// without one, to the destination given with each Send (To).
type Producer struct {
	sess *Session
	id   *wire.ProducerID
	dest *Destination
	seq  atomic.Int64

	mu     sync.Mutex
	closed bool
}

// SendOption adjusts one Send.
type SendOption func(*sendOptions)

type sendOptions struct {
	to          *Destination
	ttl         time.Duration
	priority    int
	hasPriority bool
	persistent  *bool
	fwdID       string // Forward: the message id's producer
	fwdSeq      int64  // Forward: the message id's sequence
}

// To names the destination of a send through an anonymous producer.
func To(d *Destination) SendOption { return func(o *sendOptions) { o.to = d } }

// TTL makes the message expire d after it is sent (JMS time to live).
func TTL(d time.Duration) SendOption { return func(o *sendOptions) { o.ttl = d } }

// Priority overrides the message's priority (0–9).
func Priority(p int) SendOption {
	return func(o *sendOptions) { o.priority, o.hasPriority = p, true }
}

// NonPersistent sends the message non-persistent (asynchronously, and lost
// if the broker fails), overriding Message.Persistent.
func NonPersistent() SendOption {
	return func(o *sendOptions) { f := false; o.persistent = &f }
}

// Forward sends the message as a network bridge forwards one: its message
// id is producerID and seq instead of the producer's own, and its
// Timestamp is kept if set. A broker's duplicate detection keeps, per
// producer id, the highest sequence it stored, so a bridge that names one
// stable producer id and sends growing sequences in order has every resend
// (from another connection, after a restart) dropped, not stored twice.
func Forward(producerID string, seq int64) SendOption {
	return func(o *sendOptions) { o.fwdID, o.fwdSeq = producerID, seq }
}

// Producer creates a producer for dest; a nil dest makes an anonymous
// producer whose sends name their destination with To.
func (s *Session) Producer(ctx context.Context, dest *Destination) (*Producer, error) {
	if err := s.checkOpen(); err != nil {
		return nil, fmt.Errorf("client: producer: %w", err)
	}
	c := s.conn
	p := &Producer{sess: s, dest: dest,
		id: &wire.ProducerID{ConnectionID: c.connID.Value, SessionID: s.id.Value, Value: c.ids.producer.Add(1)}}
	if _, err := c.request(ctx, &wire.ProducerInfo{ProducerID: p.id, Destination: dest.toWire()}); err != nil {
		return nil, fmt.Errorf("client: producer for %s: %w", dest, err)
	}
	s.mu.Lock()
	s.mu.producers[p.id.Value] = p
	s.mu.Unlock()
	return p, nil
}

// Destination returns the producer's destination (nil for an anonymous
// producer).
func (p *Producer) Destination() *Destination { return p.dest }

// Send sends msg. Persistent messages outside a transaction are sent
// synchronously: Send returns once the broker has stored the message, or
// with its error (a *BrokerError), or when ctx ends (the outcome is then
// unknown). Non-persistent and transacted messages are sent
// asynchronously, as the Java client does. Send sets msg's ID,
// Destination, Timestamp and (with TTL) Expiration.
func (p *Producer) Send(ctx context.Context, msg *Message, opts ...SendOption) error {
	var o sendOptions
	for _, f := range opts {
		f(&o)
	}
	dest := p.dest
	if dest == nil {
		dest = o.to
	} else if o.to != nil && !o.to.Equal(dest) {
		return fmt.Errorf("client: send: %w: producer is bound to %s", ErrInvalidDestination, dest)
	}
	if dest == nil {
		return fmt.Errorf("client: send: %w: no destination", ErrInvalidDestination)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return fmt.Errorf("client: send: %w", ErrClosed)
	}
	s, c := p.sess, p.sess.conn
	if dest.IsTemporary() && c.tempDeleted(dest) {
		return fmt.Errorf("client: send to %s: %w: cannot publish to a deleted destination", dest, ErrInvalidDestination)
	}
	if o.hasPriority {
		msg.Priority = o.priority
	}
	if o.persistent != nil {
		msg.Persistent = *o.persistent
	}
	now := time.Now()
	msg.Destination = dest
	if o.fwdID == "" || msg.Timestamp.IsZero() {
		msg.Timestamp = now
	}
	if o.ttl > 0 {
		msg.Expiration = now.Add(o.ttl)
	}
	w, err := msg.toWire()
	if err != nil {
		return err
	}
	w.ProducerID = p.id
	w.MessageID = &wire.MessageID{ProducerID: p.id, ProducerSequenceID: p.seq.Add(1)}
	if o.fwdID != "" {
		w.MessageID = &wire.MessageID{ProducerID: &wire.ProducerID{ConnectionID: o.fwdID}, ProducerSequenceID: o.fwdSeq}
	}
	msg.ID = messageIDString(w.MessageID)
	if s.mode == Transacted {
		if w.TransactionID, err = s.ensureTx(); err != nil {
			return fmt.Errorf("client: send: %w", err)
		}
	}
	sync := c.opts.AlwaysSyncSend || c.opts.SendTimeout > 0 || msg.Persistent && w.TransactionID == nil
	if !sync {
		if err := c.send(ctx, w); err != nil {
			return fmt.Errorf("client: send to %s: %w", dest, err)
		}
		return nil
	}
	if _, ok := ctx.Deadline(); !ok && c.opts.SendTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.SendTimeout)
		defer cancel()
	}
	if _, err := c.request(ctx, w); err != nil {
		return fmt.Errorf("client: send to %s: %w", dest, err)
	}
	return nil
}

// Close closes the producer (RemoveInfo, without waiting).
func (p *Producer) Close(ctx context.Context) error {
	if !p.dispose() {
		return nil
	}
	p.sess.mu.Lock()
	delete(p.sess.mu.producers, p.id.Value)
	p.sess.mu.Unlock()
	if err := p.sess.conn.oneway(&wire.RemoveInfo{ObjectID: p.id, LastDeliveredSequenceID: -2}); err != nil {
		return fmt.Errorf("client: close producer: %w", err)
	}
	return nil
}

// dispose marks the producer closed; false if it already was.
func (p *Producer) dispose() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.closed = true
	return true
}
