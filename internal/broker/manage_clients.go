package broker

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/piermq/pier/internal/store"
)

// protocol returns what the connection's adapter called its protocol.
func (c *Conn) protocol() string {
	if c.proto == "" {
		return "unknown"
	}
	return c.proto
}

// Connections returns the open connections, oldest first.
func (b *Broker) Connections() []ConnInfo {
	b.mu.RLock()
	conns := make([]*Conn, 0, len(b.mu.conns))
	for c := range b.mu.conns {
		conns = append(conns, c)
	}
	b.mu.RUnlock()
	out := make([]ConnInfo, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		subs := len(c.mu.subs)
		c.mu.Unlock()
		out = append(out, ConnInfo{ID: c.name, Protocol: c.protocol(), Remote: c.remote, User: c.subject.User,
			ClientID: c.clientID, Since: c.since, Consumers: subs, Producers: c.producerCount()})
	}
	slices.SortFunc(out, func(x, y ConnInfo) int {
		return cmp.Or(x.Since.Compare(y.Since), strings.Compare(x.ID, y.ID))
	})
	return out
}

// CloseConnection closes the connection with id (ConnInfo.ID): its sink,
// if a Closer, tells the client and closes the socket; the connection is
// then closed in the broker (its unacknowledged messages are redelivered).
func (b *Broker) CloseConnection(id string) error {
	var c *Conn
	b.mu.RLock()
	for x := range b.mu.conns {
		if x.name == id {
			c = x
			break
		}
	}
	b.mu.RUnlock()
	if c == nil {
		return fmt.Errorf("%w: %s", ErrNoSuchConnection, id)
	}
	if k, ok := c.sink.(Closer); ok {
		k.CloseFromBroker(AdminCloseReason)
	}
	c.Close()
	return nil
}

// DurableSubscriptions returns the durable subscriptions, by client id and
// name.
func (b *Broker) DurableSubscriptions() []DurableInfo {
	type dur struct {
		sub    store.Subscription
		q      *queue
		online bool
	}
	b.mu.RLock()
	durs := make([]dur, 0, len(b.mu.durables))
	for _, d := range b.mu.durables {
		durs = append(durs, dur{d.sub, d.q, d.attached()})
	}
	b.mu.RUnlock()
	out := make([]DurableInfo, 0, len(durs))
	for _, d := range durs {
		st := d.q.stats()
		out = append(out, DurableInfo{ClientID: d.sub.ClientID, Name: d.sub.Name, Topic: d.sub.Topic,
			Selector: d.sub.Selector, Backlog: int64(st.Pending + st.InFlight), Online: d.online})
	}
	slices.SortFunc(out, func(x, y DurableInfo) int {
		return cmp.Or(strings.Compare(x.ClientID, y.ClientID), strings.Compare(x.Name, y.Name))
	})
	return out
}

// DeleteDurable deletes a durable subscription and its stored messages.
// One with a consumer attached is not deleted (ErrDurableInUse), as in
// ActiveMQ; an unknown one is ErrNoSuchDurable.
func (b *Broker) DeleteDurable(ctx context.Context, clientID, name string) error {
	return b.deleteDurable(ctx, clientID, name, "")
}
