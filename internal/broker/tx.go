package broker

import (
	"context"
	"fmt"
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
