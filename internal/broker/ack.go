package broker

import (
	"context"
	"fmt"

	"github.com/piermq/pier/internal/store"
)

// Ack acknowledges delivery tag of subscription subID (and, for AckClient,
// every earlier delivery). Within a transaction it takes effect at commit.
// With wait, it returns once the acknowledgement is durable.
func (c *Conn) Ack(ctx context.Context, subID string, tag uint64, txID string, wait bool) error {
	return c.ack(ctx, subID, txID, wait, nil, func(s *Subscription) ([]held, error) {
		return s.take(tag, s.opts.Ack == AckClient)
	})
}

// AckTags acknowledges exactly the given deliveries of subID (OpenWire names
// the range it acknowledges). If any is unknown, none is acknowledged.
func (c *Conn) AckTags(ctx context.Context, subID string, tags []uint64, txID string, wait bool) error {
	return c.ack(ctx, subID, txID, wait, nil, func(s *Subscription) ([]held, error) { return s.takeTags(tags) })
}

// ack settles what take returns; also are more operations for its store
// write (not in a transaction).
func (c *Conn) ack(ctx context.Context, subID, txID string, wait bool, also []store.Op, take func(*Subscription) ([]held, error)) error {
	s, tx, hs, err := c.settle(subID, txID, take)
	if err != nil {
		return err
	}
	defer s.kickAll()
	if tx != nil {
		return c.addToTx(txID, tx, hs, func() { tx.acks = append(tx.acks, hs...) })
	}
	ops := also
	for _, h := range hs {
		if h.e.stored {
			ops = append(ops, store.Op{Kind: store.OpRemove, Dest: h.q.key, Seq: h.e.seq})
		}
	}
	for q, es := range groupByQueue(hs) {
		q.finish(es)
	}
	if !wait {
		c.b.acks.push(ops, nil)
		return nil
	}
	done := make(chan error, 1)
	c.b.acks.push(ops, done)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Nack rejects a delivery (and, for AckClient, every earlier one): as
// ActiveMQ does for a STOMP NACK, the message goes to the dead letter queue.
func (c *Conn) Nack(ctx context.Context, subID string, tag uint64, txID string) error {
	return c.nack(ctx, subID, txID, "rejected by the consumer (NACK)", func(s *Subscription) ([]held, error) {
		return s.take(tag, s.opts.Ack == AckClient)
	})
}

// Poison sends exactly the given deliveries to the dead letter queue, with
// the consumer's reason (OpenWire's poison acknowledgement).
func (c *Conn) Poison(ctx context.Context, subID string, tags []uint64, reason string) error {
	if reason == "" {
		reason = "poison acknowledgement from the consumer"
	}
	return c.nack(ctx, subID, "", reason, func(s *Subscription) ([]held, error) { return s.takeTags(tags) })
}

func (c *Conn) nack(ctx context.Context, subID, txID, reason string, take func(*Subscription) ([]held, error)) error {
	s, tx, hs, err := c.settle(subID, txID, take)
	if err != nil {
		return err
	}
	defer s.kickAll()
	if tx != nil {
		return c.addToTx(txID, tx, hs, func() {
			for _, h := range hs {
				tx.dead = append(tx.dead, deadItem{h: h, reason: reason, rejected: true})
			}
		})
	}
	ch := &change{}
	for _, h := range hs {
		ch.dead = append(ch.dead, deadItem{h: h, reason: reason, rejected: true})
	}
	if err := c.b.apply(ctx, ch); err != nil {
		c.b.redeliver(hs)
		return err
	}
	return nil
}

// settle takes the deliveries an acknowledgement covers, with the
// transaction (if any) it belongs to.
func (c *Conn) settle(subID, txID string, take func(*Subscription) ([]held, error)) (*Subscription, *change, []held, error) {
	s, tx, err := c.ackTarget(subID, txID)
	if err != nil {
		return nil, nil, nil, err
	}
	hs, err := take(s)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, tx, hs, nil
}

func (c *Conn) ackTarget(subID, txID string) (*Subscription, *change, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return nil, nil, err
	}
	s := c.mu.subs[subID]
	if s == nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoSuchSub, subID)
	}
	var tx *change
	if txID != "" {
		if tx = c.mu.txs[txID]; tx == nil {
			return nil, nil, fmt.Errorf("%w: %q", ErrNoSuchTx, txID)
		}
	}
	return s, tx, nil
}

// addToTx records taken deliveries in a transaction, if it is still open;
// otherwise they are redelivered.
func (c *Conn) addToTx(txID string, tx *change, hs []held, add func()) error {
	c.mu.Lock()
	if c.mu.txs != nil && c.mu.txs[txID] == tx {
		add()
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	c.b.redeliver(hs)
	return fmt.Errorf("%w: %q", ErrNoSuchTx, txID)
}

// Redelivered records that the client redelivered these deliveries itself
// (a JMS session recover or rollback): when they come back from the broker
// their delivery count includes it.
func (c *Conn) Redelivered(subID string, tags []uint64) {
	s, ok := c.Subscription(subID)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tags {
		if h, ok := s.mu.inflight[t]; ok {
			h.e.deliveries++
		}
	}
}
