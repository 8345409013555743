package broker

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/piermq/pier/internal/message"
)

// counters are a destination's statistics for the management interface
// (DestInfo), kept with atomics so that the paths they count pay a few
// atomic adds and take no lock.
type counters struct {
	enqueued  atomic.Uint64 // entries made visible (queue) or messages published (topic)
	dequeued  atomic.Uint64 // entries that left for good (acknowledged, purged, moved, dead-lettered)
	expired   atomic.Uint64
	producers atomic.Int64 // open producers naming the destination
	memory    atomic.Int64 // bytes of bodies held in memory
}

// count adds the memory change n to a queue's counters and to those of its
// topic, if it is a topic subscriber's queue.
func (q *queue) countMemory(n int64) {
	q.ctr.memory.Add(n)
	if q.up != nil {
		q.up.memory.Add(n)
	}
}

// countDequeued records n entries that left q for good.
func (q *queue) countDequeued(n int) {
	q.ctr.dequeued.Add(uint64(n))
	if q.up != nil {
		q.up.dequeued.Add(uint64(n))
	}
}

// countExpired records n entries of q that expired.
func (q *queue) countExpired(n int) {
	q.ctr.expired.Add(uint64(n))
	if q.up != nil {
		q.up.expired.Add(uint64(n))
	}
}

// topicRegistry keeps the counters of the topics that exist: published to,
// subscribed to by name, named by a producer or a durable subscription.
// Pier has no topic object otherwise. Its lock is a leaf: it may be taken
// with any other lock held, and nothing is called under it.
type topicRegistry struct {
	mu     sync.RWMutex
	topics map[string]*counters
}

// concreteTopic reports whether d names one topic (no wildcard, not a
// composite), the kind that has counters.
func concreteTopic(d message.Destination) bool {
	return d.Kind == message.Topic && !strings.Contains(d.Name, ",") && !d.IsWildcard()
}

// counters returns the counters of topic name, making them if needed.
func (r *topicRegistry) counters(name string) *counters {
	r.mu.RLock()
	c := r.topics[name]
	r.mu.RUnlock()
	if c != nil {
		return c
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c = r.topics[name]; c == nil {
		if r.topics == nil {
			r.topics = map[string]*counters{}
		}
		c = new(counters)
		r.topics[name] = c
	}
	return c
}

// lookup returns the counters of topic name, if it exists.
func (r *topicRegistry) lookup(name string) (*counters, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.topics[name]
	return c, ok
}

// remove forgets topic name, reporting whether it existed.
func (r *topicRegistry) remove(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.topics[name]
	delete(r.topics, name)
	return ok
}

// snapshot returns the topics and their counters.
func (r *topicRegistry) snapshot() map[string]*counters {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]*counters, len(r.topics))
	for k, v := range r.topics {
		out[k] = v
	}
	return out
}

// topicCounters returns the counters that a queue holding copies of d's
// messages also counts in: d's own, for a subscription to one topic.
func (b *Broker) topicCounters(d message.Destination) *counters {
	if !concreteTopic(d) {
		return nil
	}
	return b.topicStats.counters(d.Name)
}

// published counts messages published to topics.
func (b *Broker) published(topics []message.Destination) {
	for _, d := range topics {
		if c := b.topicCounters(d); c != nil {
			c.enqueued.Add(1)
		}
	}
}

// producer is one destination's open producers on a connection, and the
// counters they were counted in (a deleted and recreated queue has new
// ones: the old count leaves with the old queue).
type producer struct {
	n   int
	ctr *counters // nil for anonymous producers
}

// ProducerOpened records a producer of the connection (OpenWire's
// ProducerInfo) sending to d; a zero d is an anonymous producer, which
// names its destination per message. Destinations count their producers
// (DestInfo.Producers), connections theirs (ConnInfo.Producers).
func (c *Conn) ProducerOpened(d message.Destination) {
	dests, ok := producerDests(d)
	if !ok {
		return
	}
	ctrs := make([]*counters, len(dests)) // before Conn.mu: this may make the queue (Broker.mu)
	for i, pd := range dests {
		ctrs[i] = c.b.destCounters(pd)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return
	}
	if c.mu.producers == nil {
		c.mu.producers = map[message.Destination]*producer{}
	}
	for i, pd := range dests {
		p := c.mu.producers[pd]
		if p == nil {
			p = &producer{ctr: ctrs[i]}
			c.mu.producers[pd] = p
		}
		p.n++
		if p.ctr != nil {
			p.ctr.producers.Add(1)
		}
	}
}

// ProducerClosed records that a producer opened with ProducerOpened(d)
// closed.
func (c *Conn) ProducerClosed(d message.Destination) {
	dests, ok := producerDests(d)
	if !ok {
		return
	}
	type done struct {
		d message.Destination
		c *counters
	}
	var gone []done
	c.mu.Lock()
	for _, pd := range dests {
		p := c.mu.producers[pd]
		if p == nil {
			continue
		}
		p.n--
		if p.ctr != nil {
			p.ctr.producers.Add(-1)
		}
		if p.n == 0 {
			delete(c.mu.producers, pd)
			gone = append(gone, done{pd, p.ctr})
		}
	}
	c.mu.Unlock()
	for _, g := range gone { // after Conn.mu: Broker.mu comes first
		c.b.forgetWaiting(g.d, g.c)
	}
}

// producerDests splits a producer's destination (a composite names
// several); zero stays itself (an anonymous producer).
func producerDests(d message.Destination) ([]message.Destination, bool) {
	if d.IsZero() {
		return []message.Destination{d}, true
	}
	dests, err := composite(d)
	return dests, err == nil
}

// releaseProducersLocked uncounts the producers of a closing connection
// and returns the counters they were on (for forgetWaiting once c.mu is
// released). Called with c.mu held.
func (c *Conn) releaseProducersLocked() map[message.Destination]*counters {
	released := make(map[message.Destination]*counters, len(c.mu.producers))
	for d, p := range c.mu.producers {
		if p.ctr != nil {
			p.ctr.producers.Add(int64(-p.n))
			released[d] = p.ctr
		}
	}
	c.mu.producers = nil
	return released
}

// producerCount returns the connection's open producers.
func (c *Conn) producerCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.mu.producers {
		n += p.n
	}
	return n
}

// destCounters returns the counters of destination d; nil for a temporary
// or wildcard destination. Naming a queue does not make it (making one can
// need admin, which a producer's send is checked for): the producers of a
// queue that does not exist yet are counted aside until it is made.
func (b *Broker) destCounters(d message.Destination) *counters {
	switch {
	case d.Kind == message.Queue && !d.IsWildcard():
		b.mu.Lock()
		defer b.mu.Unlock()
		if q := b.mu.queues[d.Name]; q != nil {
			return q.ctr
		}
		if b.mu.closed {
			return nil
		}
		c := b.mu.waitingCtrs[d.Name]
		if c == nil {
			if b.mu.waitingCtrs == nil {
				b.mu.waitingCtrs = map[string]*counters{}
			}
			c = new(counters)
			b.mu.waitingCtrs[d.Name] = c
		}
		return c
	case d.Kind == message.Topic:
		return b.topicCounters(d)
	}
	return nil
}

// forgetWaiting drops the counters of queue name if no queue took them and
// no producer counts on them any more.
func (b *Broker) forgetWaiting(d message.Destination, c *counters) {
	if d.Kind != message.Queue || c == nil || c.producers.Load() != 0 {
		return
	}
	b.mu.Lock()
	if b.mu.waitingCtrs[d.Name] == c && c.producers.Load() == 0 {
		delete(b.mu.waitingCtrs, d.Name)
	}
	b.mu.Unlock()
}
