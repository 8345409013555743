package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/piermq/pier/internal/broker/selector"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// durable is a durable topic subscription: its backlog queue outlives the
// consumer.
type durable struct {
	sub store.Subscription
	sel *selector.Selector // parsed sub.Selector; nil: every message
	q   *queue
	// members are the attached subscriptions: at most one, or for a
	// shared durable subscription (SubOptions.Share) any number. Guarded
	// by Broker.mu.
	members map[*Subscription]struct{}
	limit   int         // the most messages it keeps (Config.DurableLimit); 0: no limit
	full    atomic.Bool // it is dropping messages (logged once per overflow)
}

// keeps reports whether the durable has room for one more message, and
// logs when it starts or stops dropping.
func (d *durable) keeps(log *slog.Logger) bool {
	if d.limit <= 0 {
		return true
	}
	st := d.q.stats()
	room := st.Pending+st.InFlight < d.limit
	if d.full.CompareAndSwap(room, !room) {
		if room {
			log.Info("durable subscription has room again", "client_id", d.sub.ClientID, "sub", d.sub.Name, "limit", d.limit)
		} else {
			log.Warn("durable subscription is full; messages for it are dropped", "client_id", d.sub.ClientID, "sub", d.sub.Name, "limit", d.limit)
		}
	}
	return room
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
	d := &durable{sub: s, sel: sel, q: b.newQueue(dest, s.Dest)}
	if b.cfg.DurableLimit != nil {
		d.limit = b.cfg.DurableLimit(s)
	}
	return d
}

// join counts s among d's members. Called with Broker.mu held.
func (d *durable) join(s *Subscription) {
	if d.members == nil {
		d.members = map[*Subscription]struct{}{}
	}
	d.members[s] = struct{}{}
}

// leave counts s out. Called with Broker.mu held.
func (d *durable) leave(s *Subscription) { delete(d.members, s) }

// attached reports whether a consumer is attached. Called with Broker.mu
// held.
func (d *durable) attached() bool { return len(d.members) > 0 }

// activeConn returns the connection consuming from d, if any (a durable
// subscription with no-local is never shared: one at most). Called with
// Broker.mu held.
func (d *durable) activeConn() *Conn {
	for m := range d.members {
		return m.conn
	}
	return nil
}

// subscribeDurable attaches s to its durable subscription, creating it (or
// replacing one whose topic or options changed).
func (b *Broker) subscribeDurable(ctx context.Context, c *Conn, s *Subscription) error {
	owner, shared := c.clientID, s.opts.Share != ""
	if shared {
		owner = SharedOwner(s.opts.Share)
	} else if owner == "" {
		return ErrNoClientID
	}
	want := store.Subscription{ClientID: owner, Name: s.opts.DurableName, Topic: s.dest.Name,
		Selector: s.opts.Selector, NoLocal: s.opts.NoLocal}
	if s.opts.Network {
		want.Remote, want.TTL = s.opts.Remote, s.opts.TTL
	}
	want.Dest = durableKey(want.ClientID, want.Name)
	b.mu.Lock()
	d := b.mu.durables[want.Key()]
	if d != nil && d.attached() && !(shared && d.sub == want) {
		b.mu.Unlock()
		return fmt.Errorf("%w: %s/%s", ErrDurableInUse, owner, s.opts.DurableName)
	}
	if d != nil && d.sub == want {
		d.join(s)
		b.mu.Unlock()
		return b.attachDurable(d, s)
	}
	// A bridge's durable whose TTL changed keeps its backlog: only the
	// record is rewritten.
	sameBacklog := d != nil && sameMessages(d.sub, want)
	b.mu.Unlock()

	var batch store.Batch
	if d != nil && !sameBacklog {
		batch.DeleteSub(d.sub)
	}
	batch.PutSub(want)
	if err := b.st.Apply(ctx, &batch); err != nil {
		return fmt.Errorf("broker: create durable subscription: %w", err)
	}
	if sameBacklog {
		b.mu.Lock()
		defer b.mu.Unlock()
		if cur := b.mu.durables[want.Key()]; cur != d || d.attached() {
			return fmt.Errorf("%w: %s/%s", ErrDurableInUse, owner, s.opts.DurableName)
		}
		d.sub = want
		d.join(s)
		return b.attachDurable(d, s)
	}
	nd := b.newDurable(want)
	b.mu.Lock()
	if old := b.mu.durables[want.Key()]; old != nil {
		defer old.q.delete()
		b.countDurable(old, -1)
	}
	nd.join(s)
	b.mu.durables[want.Key()] = nd
	b.countDurable(nd, 1)
	b.mu.Unlock()
	return b.attachDurable(nd, s)
}

// sameMessages reports whether two versions of a durable subscription
// select the same messages (they may differ in their network fields).
func sameMessages(a, b store.Subscription) bool {
	a.Remote, a.TTL, b.Remote, b.TTL = "", 0, "", 0
	return a == b
}

// forwards reports whether a message published on the durable's topic is
// kept for it: a network bridge's durable does not keep what came through
// its remote broker or crossed its TTL (see SubOptions.Remote).
func (d *durable) forwards(m *message.Message) bool {
	return d.sub.Remote == "" || onward(m, d.sub.Remote, d.sub.TTL)
}

// Durables returns the durable subscriptions of a client id (a network
// bridge finds its own this way after a restart).
func (b *Broker) Durables(clientID string) []store.Subscription {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []store.Subscription
	for _, d := range b.mu.durables {
		if d.sub.ClientID == clientID {
			out = append(out, d.sub)
		}
	}
	slices.SortFunc(out, func(x, y store.Subscription) int { return strings.Compare(x.Name, y.Name) })
	return out
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
	return c.b.deleteDurable(ctx, c.clientID, name, c.name)
}

// deleteDurable removes a durable subscription that no consumer is
// attached to, and its stored messages; by is the connection that asked
// ("" for the management interface).
func (b *Broker) deleteDurable(ctx context.Context, clientID, name, by string) error {
	key := store.Subscription{ClientID: clientID, Name: name}.Key()
	b.mu.Lock()
	d := b.mu.durables[key]
	switch {
	case d == nil:
		b.mu.Unlock()
		return fmt.Errorf("%w: %s/%s", ErrNoSuchDurable, clientID, name)
	case d.attached():
		b.mu.Unlock()
		return fmt.Errorf("%w: %s/%s", ErrDurableInUse, clientID, name)
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
	b.durableDeleted(by, d)
	return nil
}
