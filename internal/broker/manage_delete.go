package broker

import (
	"context"
	"fmt"
	"slices"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// DeleteDestination deletes a destination. A queue's messages go, from
// the store too; its consumers stay open but are detached, and attached
// again if the queue is made again (as ActiveMQ's removeQueue). A topic
// holds nothing: its counters go (it is listed again once used) and its
// subscriptions, durable ones included, stay. A temporary destination is
// deleted as its connection would.
func (b *Broker) DeleteDestination(ctx context.Context, d message.Destination) error {
	switch d.Kind {
	case message.Queue:
		return b.deleteQueue(ctx, d.Name)
	case message.Topic:
		if !b.topicStats.remove(d.Name) {
			return fmt.Errorf("%w: %s", ErrNoSuchDestination, d)
		}
		return nil
	case message.TempQueue, message.TempTopic:
		b.mu.RLock()
		owner := b.mu.temps[d]
		b.mu.RUnlock()
		if owner == nil {
			return fmt.Errorf("%w: %s", ErrNoSuchDestination, d)
		}
		if err := owner.DeleteTemp(d); err != nil {
			return fmt.Errorf("%w: %s", ErrNoSuchDestination, d)
		}
		return nil
	}
	return fmt.Errorf("%w: %v", message.ErrBadDestination, d)
}

// deleteQueue removes a queue from the broker, detaches its consumers and
// removes its stored messages (in flight ones too).
func (b *Broker) deleteQueue(ctx context.Context, name string) error {
	b.mu.Lock()
	q := b.mu.queues[name]
	if q == nil {
		b.mu.Unlock()
		return fmt.Errorf("%w: queue://%s", ErrNoSuchDestination, name)
	}
	delete(b.mu.queues, name)
	b.unregisterVirtualLocked(q)
	subs := q.consumerSlice()
	for _, s := range subs {
		if !s.matchesWild(name) { // a wildcard consumer comes back on its own
			if b.mu.detached == nil {
				b.mu.detached = map[string][]*Subscription{}
			}
			b.mu.detached[name] = append(b.mu.detached[name], s)
		}
	}
	b.mu.Unlock()
	q.delete()
	for _, s := range subs {
		s.detach(q)
		q.leave(s, nil) // its groups' records go
	}
	q.releaseHeldGroups() // so are those of groups waiting for their consumers
	if q.key == "" {
		return nil
	}
	// After the queue is marked deleted: what is stored now is all it
	// will have (a write still in progress removes its own, see settle).
	if err := b.wipe(ctx, q.key); err != nil {
		return fmt.Errorf("broker: delete queue %s: %w (deleted here; the rest of its stored messages come back at the next start)", name, err)
	}
	return nil
}

// wipe removes every message stored under key, a page at a time.
func (b *Broker) wipe(ctx context.Context, key string) error {
	var after uint64
	for {
		recs, err := b.st.Scan(ctx, key, after, 1000, 4<<20)
		if err != nil || len(recs) == 0 {
			return err
		}
		var batch store.Batch
		for _, r := range recs {
			batch.Remove(key, r.Seq)
			after = r.Seq
		}
		if err := b.st.Apply(ctx, &batch); err != nil {
			return err
		}
	}
}

// unregisterVirtualLocked forgets a deleted consumer queue of a virtual
// topic, and its record. Called with b.mu held.
func (b *Broker) unregisterVirtualLocked(q *queue) {
	topic, ok := virtualTopicOf(q.dest.Name)
	if !ok {
		return
	}
	b.records.del(virtualRecord(q.dest.Name))
	qs := slices.DeleteFunc(slices.Clone(b.mu.virtual[topic]), func(x *queue) bool { return x == q })
	if len(qs) == 0 {
		delete(b.mu.virtual, topic)
	} else {
		b.mu.virtual[topic] = qs
	}
}

// consumerSlice returns the queue's consumers.
func (q *queue) consumerSlice() []*Subscription {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*Subscription
	for _, bd := range q.mu.consumers.bands {
		out = append(out, bd.subs...)
	}
	return out
}

// detach forgets that s consumes from q.
func (s *Subscription) detach(q *queue) {
	s.mu.Lock()
	s.mu.queues = slices.DeleteFunc(s.mu.queues, func(x *queue) bool { return x == q })
	s.mu.Unlock()
}

// reattachLocked attaches to a queue made again the consumers detached
// when it was deleted. Called with b.mu held.
func (b *Broker) reattachLocked(q *queue) {
	subs, ok := b.mu.detached[q.dest.Name]
	if !ok {
		return
	}
	delete(b.mu.detached, q.dest.Name)
	for _, s := range subs {
		s.attach(q)
		q.addConsumer(s)
	}
}

// forgetDetachedLocked drops a closing subscription from the detached
// consumers. Called with b.mu held.
func (b *Broker) forgetDetachedLocked(s *Subscription) {
	if len(b.mu.detached) == 0 {
		return
	}
	for _, p := range s.patterns {
		subs := slices.DeleteFunc(b.mu.detached[p], func(x *Subscription) bool { return x == s })
		if len(subs) == 0 {
			delete(b.mu.detached, p)
		} else {
			b.mu.detached[p] = subs
		}
	}
}

// forget removes from the store entries written to a queue as it was
// deleted.
func (q *queue) forget(es []*entry) {
	if len(es) == 0 {
		return
	}
	ops := make([]store.Op, 0, len(es))
	for _, e := range es {
		ops = append(ops, store.Op{Kind: store.OpRemove, Dest: q.key, Seq: e.seq})
	}
	q.b.acks.push(ops, nil)
}
