package broker

import (
	"context"
	"fmt"

	"github.com/piermq/pier/internal/message"
)

// Begin starts local transaction txID.
func (c *Conn) Begin(txID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return err
	}
	if _, dup := c.mu.txs[txID]; dup {
		return fmt.Errorf("%w: %q", ErrTxExists, txID)
	}
	c.mu.txs[txID] = &change{origin: c}
	return nil
}

func (c *Conn) endTx(txID string) (*change, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	tx := c.mu.txs[txID]
	if tx == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoSuchTx, txID)
	}
	delete(c.mu.txs, txID)
	return tx, nil
}

// Commit applies every send, acknowledgement and rejection of txID as one
// durable step. If it fails, the transaction is rolled back.
func (c *Conn) Commit(ctx context.Context, txID string) error {
	tx, err := c.endTx(txID)
	if err != nil {
		return err
	}
	if err := c.b.apply(ctx, tx); err != nil {
		c.b.rollback(tx, true)
		return fmt.Errorf("broker: commit %q rolled back: %w", txID, err)
	}
	return nil
}

// Abort discards txID's sends. With redeliver (JMS rollback) the messages it
// acknowledged are redelivered; without (STOMP ABORT, as ActiveMQ does) they
// stay delivered to their consumers and may be acknowledged again.
func (c *Conn) Abort(txID string, redeliver bool) error {
	tx, err := c.endTx(txID)
	if err != nil {
		return err
	}
	c.b.rollback(tx, redeliver)
	return nil
}

func (b *Broker) rollback(tx *change, redeliver bool) {
	hs := append([]held(nil), tx.acks...)
	for _, d := range tx.dead {
		hs = append(hs, d.h)
	}
	if len(hs) == 0 {
		return
	}
	if redeliver {
		b.redeliver(hs)
		return
	}
	// Give each delivery back to its subscription under its tag.
	var orphans []held
	bySub := map[*Subscription][]held{}
	for _, h := range hs {
		bySub[h.s] = append(bySub[h.s], h)
	}
	for s, group := range bySub {
		if !s.giveBack(group) {
			orphans = append(orphans, group...)
		}
	}
	b.redeliver(orphans)
}

// TempDestination creates (or returns) a temporary destination of this
// connection. name must be unique broker-wide; adapters derive it from ID().
func (c *Conn) TempDestination(kind message.DestKind, name string) (message.Destination, error) {
	if !kind.IsTemp() {
		return message.Destination{}, fmt.Errorf("%w: %v is not a temporary kind", message.ErrBadDestination, kind)
	}
	if err := message.ValidateName(name); err != nil {
		return message.Destination{}, err
	}
	d := message.Destination{Kind: kind, Name: name}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return d, err
	}
	if _, ok := c.mu.temps[d]; ok {
		return d, nil
	}
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if owner := b.mu.temps[d]; owner != nil {
		return d, fmt.Errorf("%w: %s belongs to another connection", ErrTempNotOwner, d)
	}
	b.mu.temps[d] = c
	if kind == message.TempQueue {
		b.mu.tempQs[d] = b.newQueue(d, "")
	}
	c.mu.temps[d] = struct{}{}
	return d, nil
}

// DeleteTemp deletes one of the connection's temporary destinations.
func (c *Conn) DeleteTemp(d message.Destination) error {
	c.mu.Lock()
	_, ok := c.mu.temps[d]
	delete(c.mu.temps, d)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSuchTemp, d)
	}
	c.b.deleteTemp(d)
	return nil
}

func (b *Broker) deleteTemp(d message.Destination) {
	b.mu.Lock()
	q := b.mu.tempQs[d]
	delete(b.mu.tempQs, d)
	delete(b.mu.temps, d)
	b.mu.Unlock()
	if q != nil {
		q.delete()
	}
}
