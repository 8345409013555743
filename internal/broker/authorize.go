package broker

import (
	"strings"
	"sync"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/message"
)

// Authorization: every access of a connection to a destination comes
// through Conn.authorize, which asks the front door (auth.Guard). Adapters
// only translate its refusals (auth.ErrNotAuthorized) into their protocol.

// allowCache remembers what a connection was allowed: its subject and the
// authorization entries do not change while it lives, so a producer's
// every send after the first costs a map lookup.
type allowCache struct {
	mu sync.Mutex // a leaf: taken with no other lock held
	ok map[allowKey]struct{}
}

type allowKey struct {
	a auth.Action
	d message.Destination
}

// maxAllowCache bounds a connection's cache; it starts over when full.
const maxAllowCache = 1024

// authorize reports whether c may do a on d, one destination. Using a
// queue or topic that does not exist yet (a send or subscription creating
// it) also needs admin on it, as in ActiveMQ. A connection may always use
// its own temporary destinations; another's needs the temp_destinations
// entry's grant.
func (c *Conn) authorize(a auth.Action, d message.Destination) error {
	b := c.b
	if !b.guard.Enforced() || c.subject.IsSystem() {
		return nil
	}
	if d.Kind.IsTemp() {
		if c.ownsTemp(d) {
			return nil
		}
		return c.allow(a, d)
	}
	if err := c.allow(a, d); err != nil {
		return err
	}
	if d.IsWildcard() || b.exists(d) {
		return nil
	}
	if err := c.allow(auth.Admin, d); err != nil {
		return err
	}
	if d.Kind == message.Topic {
		b.mu.Lock()
		b.mu.topics[d.Name] = struct{}{}
		b.mu.Unlock()
	}
	return nil
}

// MaySend reports whether the connection may send to d (every member of a
// composite): for producers that name their destination up front, so that
// a JMS createProducer is refused as in ActiveMQ rather than its first
// send. It checks write only: creating the destination is checked at the
// first send.
func (c *Conn) MaySend(d message.Destination) error {
	dests, err := composite(d)
	if err != nil {
		return err
	}
	if !c.b.guard.Enforced() || c.subject.IsSystem() {
		return nil
	}
	for _, p := range dests {
		if p.Kind.IsTemp() && c.ownsTemp(p) {
			continue
		}
		if err := c.allow(auth.Write, p); err != nil {
			return err
		}
	}
	return nil
}

// allow asks the guard, unless it said yes before.
func (c *Conn) allow(a auth.Action, d message.Destination) error {
	k := allowKey{a, d}
	c.allowed.mu.Lock()
	_, ok := c.allowed.ok[k]
	c.allowed.mu.Unlock()
	if ok {
		return nil
	}
	if err := c.b.guard.Authorize(c.subject, a, d); err != nil {
		return err
	}
	c.allowed.mu.Lock()
	if c.allowed.ok == nil || len(c.allowed.ok) >= maxAllowCache {
		c.allowed.ok = map[allowKey]struct{}{}
	}
	c.allowed.ok[k] = struct{}{}
	c.allowed.mu.Unlock()
	return nil
}

// exists reports whether a queue or topic exists (topics: was created since
// the start, has a durable subscription, or is an advisory topic).
func (b *Broker) exists(d message.Destination) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	switch d.Kind {
	case message.Queue:
		_, ok := b.mu.queues[d.Name]
		return ok
	case message.Topic:
		if strings.HasPrefix(d.Name, auth.AdvisoryPrefix) {
			return true
		}
		_, ok := b.mu.topics[d.Name]
		return ok
	}
	return true
}
