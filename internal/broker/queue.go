package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/piermq/pier/internal/message"
)

// queue is the unit of dispatch: a real queue, a durable subscription's
// backlog, a temporary queue, or a non-durable topic subscriber's private
// buffer.
type queue struct {
	b    *Broker
	dest message.Destination // what consumers see as the origin
	key  string              // store key; "" means never stored
	pol  *Policy             // redelivery and dead letters
	mem  *memory             // the queue's own memory limit (Policy.MemoryLimit); nil: none
	ctr  *counters           // statistics for the management interface (manage_stats.go)
	up   *counters           // the topic's, for a subscriber's queue of one topic; else nil

	// Dispatch runs in whichever goroutine kicks the queue while nobody
	// else is dispatching it (no hand-off to a goroutine per queue: on a
	// small machine every wake-up costs more than the dispatch).
	dispatching atomic.Bool
	kicked      atomic.Bool

	mu struct {
		sync.Mutex
		pending   pendingList
		cur       cursor // where stored messages stop being held (cursor.go)
		consumers consumerList
		inflight  int // entries delivered and not yet settled
		deleted   bool
		groups    map[string]*Subscription // message group -> its consumer (groups.go)
		held      map[string]string        // recovered group -> its consumer's owner key, until it is back (groups.go)
	}
}

// prio is the dispatch priority of a message of priority p: p itself, or
// one for all under a FIFO policy (ActiveMQ's default, without
// prioritizedMessages).
func (q *queue) prio(p uint8) uint8 {
	if q.pol.FIFO {
		return message.DefaultPriority
	}
	return p
}

func (b *Broker) newQueue(dest message.Destination, key string) *queue {
	q := &queue{b: b, dest: dest, key: key, pol: b.policyFor(dest), up: b.topicCounters(dest), ctr: new(counters)}
	if q.pol.MemoryLimit > 0 {
		q.mem = new(memory)
		q.mem.init(q.pol.MemoryLimit)
	}
	return q
}

// memAdd, memRelease and memOver account a queue's bodies in memory against
// the broker's limit and the queue's own.
func (q *queue) memAdd(n int64) {
	q.b.mem.add(n)
	q.countMemory(n)
	if q.mem != nil {
		q.mem.add(n)
	}
}

func (q *queue) memRelease(n int64) {
	q.b.mem.release(n)
	q.countMemory(-n)
	if q.mem != nil {
		q.mem.release(n)
	}
}

func (q *queue) memOver() bool { return q.b.mem.over() || q.mem != nil && q.mem.over() }

// queue returns the named queue, creating it (and attaching matching wildcard
// consumers) if needed. It returns nil once the broker is closed.
func (b *Broker) queue(name string) *queue {
	b.mu.RLock()
	q := b.mu.queues[name]
	b.mu.RUnlock()
	if q != nil {
		return q
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if q = b.mu.queues[name]; q != nil || b.mu.closed {
		return q
	}
	dest := message.Destination{Kind: message.Queue, Name: name}
	q = b.newQueue(dest, "queue://"+name)
	if c := b.mu.waitingCtrs[name]; c != nil { // producers named it before it existed
		q.ctr = c
		delete(b.mu.waitingCtrs, name)
	}
	b.mu.queues[name] = q
	b.registerVirtualLocked(q)
	b.reattachLocked(q)
	for s := range b.mu.wildQs {
		if s.matchesWild(name) {
			s.attach(q)
			q.addConsumer(s)
		}
	}
	return q
}

// kick dispatches what can be dispatched, in the calling goroutine unless
// another goroutine is dispatching this queue (which then goes round again).
// Call it with no lock held.
func (q *queue) kick() {
	q.kicked.Store(true)
	for q.kicked.Load() && q.dispatching.CompareAndSwap(false, true) {
		for q.kicked.Swap(false) {
			q.dispatch()
		}
		q.dispatching.Store(false)
	}
}

// delete drops everything held in memory. Used for temporary destinations,
// non-durable subscriptions and removed durables.
func (q *queue) delete() []*entry {
	q.mu.Lock()
	if q.mu.deleted {
		q.mu.Unlock()
		return nil
	}
	q.mu.deleted = true
	dropped := q.mu.pending.drain()
	q.mu.cur = cursor{}
	q.mu.Unlock()
	for _, e := range dropped {
		q.memRelease(e.size)
		e.size = 0
	}
	return dropped
}

// addConsumer adds s; the caller kicks the queue once it holds no lock.
func (q *queue) addConsumer(s *Subscription) {
	q.mu.Lock()
	q.mu.consumers.add(s)
	q.mu.Unlock()
}

func (q *queue) stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{Dest: q.dest, Pending: q.waitingLocked(), InFlight: q.mu.inflight, Consumers: q.mu.consumers.len()}
}

// enqueue adds m as a new, not yet stable entry and returns it. The caller
// makes it stable (after the store write) or drops it. A message to be
// stored while the queue's window is full goes past its cursor instead:
// the entry only carries it through the write.
func (q *queue) enqueue(m *message.Message, origin uint64) (*entry, bool) {
	e := &entry{prio: q.prio(m.Priority), msg: m, origin: origin, stored: q.key != "" && m.Persistent}
	e.size = int64(m.Size())
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.deleted {
		return nil, false
	}
	e.seq = q.b.seq.Add(1)
	if e.stored && q.behindLocked() {
		q.putBehindLocked(e)
	} else {
		q.mu.pending.push(e)
	}
	q.memAdd(e.size)
	return e, true
}

// settle makes entries visible to dispatch (ok) or removes them (!ok, the
// store write failed). Stored entries lose their body if memory is short.
func (q *queue) settle(es []*entry, ok bool) {
	var orphans []*entry
	q.mu.Lock()
	for _, e := range es {
		if e.behind {
			q.settleBehindLocked(e, ok)
			if ok && q.mu.deleted {
				orphans = append(orphans, e)
			}
			q.memRelease(e.size)
			e.msg, e.size = nil, 0
			continue
		}
		if !ok {
			q.mu.pending.removeEntry(e)
			q.memRelease(e.size)
			e.size = 0
			continue
		}
		e.stable = true
		if q.mu.deleted && e.stored {
			orphans = append(orphans, e) // written as the queue was deleted
		}
		if e.stored && q.memOver() {
			q.memRelease(e.size)
			e.msg, e.size = nil, 0
		}
	}
	deleted := q.mu.deleted
	q.mu.Unlock()
	if ok && !deleted {
		q.ctr.enqueued.Add(uint64(len(es)))
	}
	q.forget(orphans)
	q.kick()
}

// requeue returns entries that a consumer gave up, for redelivery, and
// reports those that exceeded the redelivery limit (to be dead-lettered).
func (q *queue) requeue(es []*entry) (dead []*entry) {
	q.mu.Lock()
	dead = q.requeueLocked(es)
	q.mu.Unlock()
	q.kick()
	return dead
}

// leave removes consumer s and puts back what it held of this queue in one
// step, so that nothing newer reaches the next consumer first (an
// exclusive consumer's successor, a group's next consumer). It returns the
// entries past their redelivery limit.
func (q *queue) leave(s *Subscription, es []*entry) (dead []*entry) {
	q.mu.Lock()
	q.mu.consumers.remove(s)
	q.releaseGroupsLocked(s)
	dead = q.requeueLocked(es)
	q.mu.Unlock()
	if !s.opts.Network || len(es) > 0 {
		q.kick() // a network subscription may now take what was held back for s
	}
	return dead
}

// requeueLocked puts es back among the pending entries and returns those
// past the redelivery limit. Called with q.mu held.
func (q *queue) requeueLocked(es []*entry) (dead []*entry) {
	max := q.pol.MaxRedeliveries
	for _, e := range es {
		q.mu.inflight--
		if q.mu.deleted {
			q.memRelease(e.size)
			e.size = 0
			continue
		}
		if max >= 0 && int(e.deliveries) > max {
			dead = append(dead, e)
			continue
		}
		q.mu.pending.push(e)
	}
	return dead
}

// restore puts entries that were acknowledged in an aborted transaction back
// in flight (they stay with their consumer and may be acknowledged again).
func (q *queue) restore(n int) {
	q.mu.Lock()
	q.mu.inflight += n
	q.mu.Unlock()
}

// finish releases entries that left the queue for good (acknowledged or moved).
func (q *queue) finish(es []*entry) {
	q.mu.Lock()
	q.mu.inflight -= len(es)
	q.mu.Unlock()
	q.countDequeued(len(es))
	for _, e := range es {
		q.memRelease(e.size)
		e.size = 0
	}
}

// maxBatch bounds how many deliveries one pass hands out before the
// queue's lock is released.
const maxBatch = 256

// dispatch hands pending entries to consumers with room in their prefetch
// window whose selector accepts the message: to the highest priority first,
// round robin among equals (see consumerList). It reads paged-out bodies
// back from the store. A message no consumer wants stays and the next one
// is tried.
func (q *queue) dispatch() {
	for {
		var out []*Delivery
		var stub *entry
		var expired []*entry
		var taken []pendingRef
		// waiting holds the groups a message of which was passed over in
		// this pass: their later messages must not overtake it (its
		// consumer may get room while the pass goes on).
		var waiting map[string]struct{}
		wait := func(m *message.Message) {
			if m != nil && m.GroupID != "" {
				if waiting == nil {
					waiting = map[string]struct{}{}
				}
				waiting[m.GroupID] = struct{}{}
			}
		}
		now := q.b.now()
		q.mu.Lock()
		q.mu.pending.each(func(b *bucket, i int, e *entry) bool {
			if !e.stable {
				wait(e.msg)
				return true
			}
			if e.msg == nil {
				stub = e
				return false
			}
			if e.msg.Expired(now) {
				taken = append(taken, pendingRef{b, i})
				expired = append(expired, e)
				return true
			}
			if _, ok := waiting[e.msg.GroupID]; ok && e.msg.GroupID != "" {
				return true
			}
			s, room, first := q.pickConsumer(e.msg)
			if !room {
				return false
			}
			if s == nil {
				wait(e.msg)
				return true // no consumer with room wants it; try the next
			}
			d := s.track(q, e)
			if d == nil {
				return false // the consumer closed meanwhile; go round again
			}
			q.grouped(d, first)
			taken = append(taken, pendingRef{b, i})
			q.mu.inflight++
			out = append(out, d)
			return len(out) < maxBatch
		})
		q.mu.pending.removeRefs(taken)
		progress := len(taken) > 0
		fill := q.needFillLocked()
		q.mu.Unlock()
		for _, d := range out {
			d.Sub.conn.sink.Deliver(d)
		}
		if len(expired) > 0 {
			q.b.expire(q, expired)
		}
		if stub != nil {
			if err := q.pageIn(stub); err != nil {
				q.b.log.Error("page in failed", "dest", q.key, "err", err)
				return
			}
			continue
		}
		if fill {
			want, force := q.b.cfg.Window-q.b.cfg.Window/2, false
			if q.memOver() { // the window is empty: one page past the limit
				want, force = q.b.cfg.PageSize, true
			}
			more, err := q.fill(context.Background(), want, force)
			if err != nil {
				q.b.log.Error("reading the store past the queue's cursor failed", "dest", q.key, "err", err)
				return
			}
			progress = progress || more
		}
		if !progress {
			return
		}
	}
}

// pickConsumer returns the consumer m goes to: its group's consumer, or of
// the highest priority that has one, the next in turn with room in its
// prefetch window and a selector that accepts m. room is false when no
// consumer has room at all; first says m's group was just given to s.
// Called with q.mu held.
func (q *queue) pickConsumer(m *message.Message) (s *Subscription, room, first bool) {
	if m.GroupID != "" && !q.dest.Kind.IsTopic() {
		return q.pickForGroup(m)
	}
	s, room = q.mu.consumers.pick(m)
	return s, room, false
}

// pageIn reads the bodies of paged-out entries from stub on.
func (q *queue) pageIn(stub *entry) error {
	recs, err := q.b.st.Scan(context.Background(), q.key, stub.seq-1, q.b.cfg.PageSize, 4<<20)
	if err != nil {
		return fmt.Errorf("scan %s after %d: %w", q.key, stub.seq-1, err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	found := false
	for i, r := range recs {
		b, j := q.mu.pending.find(q.prio(r.Msg.Priority), r.Seq)
		if b == nil || b.items[j].msg != nil {
			continue
		}
		if i > 0 && q.memOver() {
			break
		}
		e := b.items[j]
		e.msg = r.Msg
		e.size = int64(r.Msg.Size())
		q.memAdd(e.size)
		if e == stub {
			found = true
		}
	}
	if !found && stub.msg == nil {
		// The store no longer has it: nothing can be delivered; drop it so
		// the queue does not stall.
		q.mu.pending.removeEntry(stub)
		q.b.log.Error("message missing from store; dropped", "dest", q.key, "seq", stub.seq)
	}
	return nil
}

// recoveredDeliveries is the delivery count a message recovered from the
// store starts with. The store does not record deliveries, so any of them
// may have reached a consumer of an earlier process (before a crash, a
// restart or a failover) without being acknowledged: each is counted as
// delivered once, and its next delivery is marked redelivered. The count
// takes part in the redelivery limit (see docs/broker.md).
const recoveredDeliveries = 1

// recover takes up the queue's count stored messages: the cursor starts
// at the beginning and the first window is read (while memory allows);
// the rest is read as the window drains.
func (q *queue) recover(ctx context.Context, count int, lastSeq uint64) error {
	q.mu.Lock()
	q.mu.cur = cursor{on: true, n: count, recovered: lastSeq}
	q.mu.Unlock()
	for {
		q.mu.Lock()
		room := q.b.cfg.Window - q.mu.pending.len()
		q.mu.Unlock()
		if room <= 0 || q.memOver() {
			break
		}
		more, err := q.fill(ctx, room, false)
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	q.kick()
	return nil
}
