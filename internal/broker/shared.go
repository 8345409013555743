package broker

import (
	"errors"

	"github.com/piermq/pier/internal/message"
)

// Shared subscriptions (SubOptions.Share): the members of one shared
// subscription — the same share name and topic, from any connections —
// consume one queue that the topic's messages are placed on once, so each
// message goes to one member, in turn, and what a member leaves
// unacknowledged goes to the others. The queue lives while the
// subscription has members: like a non-durable subscription, it keeps
// nothing while none is attached. With a DurableName, the shared
// subscription is a durable subscription of SharedOwner(Share) that any
// number of members attach to (durable.go): it keeps the topic's messages
// while none is, and through restarts and failovers.

// ErrBadShare refuses a shared subscription that cannot be one.
var ErrBadShare = errors.New("broker: a shared subscription is on a topic, without selector or no-local")

type sharedSub struct {
	dest    message.Destination
	q       *queue
	members int
}

func sharedKey(share string, d message.Destination) string {
	return share + "\x00" + d.String()
}

// joinShared attaches s to its shared subscription, creating it.
func (b *Broker) joinShared(s *Subscription) error {
	o := s.opts
	key := sharedKey(o.Share, o.Dest)
	b.mu.Lock()
	sh := b.mu.shared[key]
	if sh == nil {
		sh = &sharedSub{dest: o.Dest, q: b.newQueue(o.Dest, "")}
		b.mu.shared[key] = sh
	}
	sh.members++
	s.shared = sh
	s.attach(sh.q)
	sh.q.addConsumer(s)
	b.mu.Unlock()
	sh.q.kick()
	return nil
}

// leaveSharedLocked counts s out of its shared subscription, and reports
// whether it was the last member (the caller deletes the queue once s has
// left it). Called with b.mu held.
func (b *Broker) leaveSharedLocked(s *Subscription) bool {
	sh := s.shared
	sh.members--
	if sh.members > 0 {
		return false
	}
	key := sharedKey(s.opts.Share, sh.dest)
	if b.mu.shared[key] == sh {
		delete(b.mu.shared, key)
	}
	return true
}
