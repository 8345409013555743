package broker

import (
	"context"
	"fmt"
	"net/url"

	"github.com/piermq/pier/internal/broker/selector"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// durable is a durable topic subscription: its backlog queue outlives the
// consumer.
type durable struct {
	sub    store.Subscription
	sel    *selector.Selector // parsed sub.Selector; nil: every message
	q      *queue
	active *Subscription // guarded by Broker.mu
}

func durableKey(clientID, name string) string {
	return "durable://" + url.PathEscape(clientID) + "/" + url.PathEscape(name)
}

func (b *Broker) newDurable(s store.Subscription) *durable {
	if s.Dest == "" {
		s.Dest = durableKey(s.ClientID, s.Name)
	}
	dest := message.Destination{Kind: message.Topic, Name: s.Topic}
	sel, err := selector.Parse(s.Selector)
	if err != nil {
		// Stored by an older version, or damaged: keep the backlog, take all.
		b.log.Warn("durable subscription has an invalid selector; it will receive every message",
			"client_id", s.ClientID, "sub", s.Name, "err", err)
	}
	return &durable{sub: s, sel: sel, q: b.newQueue(dest, s.Dest)}
}

// activeConn returns the connection consuming from d, if any. Called with
// Broker.mu held.
func (d *durable) activeConn() *Conn {
	if d.active == nil {
		return nil
	}
	return d.active.conn
}

// subscribeDurable attaches s to its durable subscription, creating it (or
// replacing one whose topic or options changed).
func (b *Broker) subscribeDurable(ctx context.Context, c *Conn, s *Subscription) error {
	if c.clientID == "" {
		return ErrNoClientID
	}
	want := store.Subscription{ClientID: c.clientID, Name: s.opts.DurableName, Topic: s.dest.Name,
		Selector: s.opts.Selector, NoLocal: s.opts.NoLocal}
	want.Dest = durableKey(want.ClientID, want.Name)
	b.mu.Lock()
	d := b.mu.durables[want.Key()]
	if d != nil && d.active != nil {
		b.mu.Unlock()
		return fmt.Errorf("%w: %s/%s", ErrDurableInUse, c.clientID, s.opts.DurableName)
	}
	if d != nil && d.sub == want {
		d.active = s
		b.mu.Unlock()
		return b.attachDurable(d, s)
	}
	b.mu.Unlock()

	var batch store.Batch
	if d != nil {
		batch.DeleteSub(d.sub)
	}
	batch.PutSub(want)
	if err := b.st.Apply(ctx, &batch); err != nil {
		return fmt.Errorf("broker: create durable subscription: %w", err)
	}
	nd := b.newDurable(want)
	b.mu.Lock()
	if old := b.mu.durables[want.Key()]; old != nil {
		defer old.q.delete()
		b.countDurable(old, -1)
	}
	nd.active = s
	b.mu.durables[want.Key()] = nd
	b.countDurable(nd, 1)
	b.mu.Unlock()
	return b.attachDurable(nd, s)
}

func (b *Broker) attachDurable(d *durable, s *Subscription) error {
	s.durable = d
	s.attach(d.q)
	d.q.addConsumer(s)
	d.q.kick()
	return nil
}

// DeleteDurable removes a durable subscription of the connection's client id
// and its stored messages.
func (c *Conn) DeleteDurable(ctx context.Context, name string) error {
	if c.clientID == "" {
		return ErrNoClientID
	}
	b := c.b
	key := store.Subscription{ClientID: c.clientID, Name: name}.Key()
	b.mu.Lock()
	d := b.mu.durables[key]
	switch {
	case d == nil:
		b.mu.Unlock()
		return fmt.Errorf("%w: %s/%s", ErrNoSuchDurable, c.clientID, name)
	case d.active != nil:
		b.mu.Unlock()
		return fmt.Errorf("%w: %s/%s", ErrDurableInUse, c.clientID, name)
	}
	delete(b.mu.durables, key)
	b.countDurable(d, -1)
	b.mu.Unlock()
	var batch store.Batch
	batch.DeleteSub(d.sub)
	if err := b.st.Apply(ctx, &batch); err != nil {
		b.mu.Lock()
		b.mu.durables[key] = d
		b.countDurable(d, 1)
		b.mu.Unlock()
		return fmt.Errorf("broker: delete durable subscription: %w", err)
	}
	d.q.delete()
	b.durableDeleted(c, d)
	return nil
}
