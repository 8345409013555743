package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// change is everything one durable step does: messages to publish,
// deliveries acknowledged, deliveries to dead-letter. It is written to the
// store as one batch, so a transaction commits all or nothing.
type change struct {
	origin *Conn
	sends  []*message.Message
	acks   []held
	dead   []deadItem
	// moved says the sends are moved from elsewhere in this broker's
	// store (an outbox's dead letters), not sent by a producer: no
	// duplicate check. also holds more store operations of the batch.
	moved bool
	also  store.Batch
	// counted marks sends that carry the deliveries they had (a rejected
	// message back from the scheduler): its delivery count goes on.
	counted map[*message.Message]bool
	// jobMark, if set, marks the job a scheduled send makes, in its batch
	// (Conn.ScheduleMarked).
	jobMark *jobMark
}

type jobMark struct {
	prefix string
	id     string // the job's id, once made
}

type deadItem struct {
	h      held
	reason string
	// rejected says a consumer refused the message (a poison
	// acknowledgement, a NACK): with a redelivery delay it waits in the
	// scheduler and comes back instead of going to the dead letter queue.
	rejected bool
}

type placed struct {
	q *queue
	e *entry
}

// route returns the queues a message sent to its destination goes to.
func (b *Broker) route(origin *Conn, m *message.Message) ([]*queue, error) {
	d := m.Dest
	switch d.Kind {
	case message.Queue:
		q := b.queue(d.Name)
		if q == nil {
			return nil, ErrClosed
		}
		return []*queue{q}, nil
	case message.TempQueue:
		b.mu.RLock()
		q := b.mu.tempQs[d]
		b.mu.RUnlock()
		if q == nil {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchTemp, d)
		}
		return []*queue{q}, nil
	case message.Topic, message.TempTopic:
		b.mu.RLock()
		defer b.mu.RUnlock()
		if d.Kind == message.TempTopic && b.mu.temps[d] == nil {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchTemp, d)
		}
		var qs []*queue
		for s := range b.mu.topicSubs {
			if s.dest.Kind == d.Kind && s.matches(d.Name) && !(s.opts.NoLocal && s.conn == origin) && s.accepts(m) && s.forwards(m, nil) {
				qs = append(qs, s.own)
			}
		}
		if d.Kind == message.Topic {
			qs = append(qs, b.virtualQueuesLocked(d.Name)...)
			for _, du := range b.mu.durables {
				if !message.Match(du.sub.Topic, d.Name) {
					continue
				}
				if du.sub.NoLocal && du.activeConn() == origin || !du.sel.Match(m) || !du.forwards(m) || !du.keeps(b.log) {
					continue
				}
				qs = append(qs, du.q)
			}
		}
		return qs, nil
	}
	return nil, fmt.Errorf("%w: %v", message.ErrBadDestination, d)
}

// apply carries out a change durably: messages are placed (invisible) in
// their queues, the store batch is written, then everything becomes visible.
func (b *Broker) apply(ctx context.Context, ch *change) error {
	var origin uint64
	if ch.origin != nil {
		origin = ch.origin.id
	}
	var batch store.Batch
	var places []placed
	fail := func(err error) error {
		b.unplace(places)
		return err
	}
	var sent []*message.Message
	var jobs []nextJob
	var topics []message.Destination // published to, for their counters
	var rets []retainUpdate          // retaining sends (retain.go)
	for _, m := range ch.sends {
		if !ch.moved && b.audit.duplicate(m) {
			continue // a resend after failover: stored already
		}
		sent = append(sent, m)
		if j, ok, err := b.newJob(m, &batch); err != nil {
			return fail(err)
		} else if ok {
			jobs = append(jobs, j)
			if ch.jobMark != nil {
				ch.jobMark.id, _ = j.rec.Msg.Properties[PropScheduledJobID].(string)
				batch.PutSub(markRecord(ch.jobMark.prefix + ch.jobMark.id))
			}
			continue
		}
		qs, err := b.route(ch.origin, m)
		if err != nil {
			return fail(err)
		}
		if m.Dest.Kind == message.Topic {
			topics = append(topics, m.Dest)
		}
		if u, ok := b.retainOf(m, &batch); ok {
			rets = append(rets, u)
		}
		for _, q := range qs {
			qm := m
			if q.dest.Kind == message.Queue && m.Dest.Kind == message.Topic {
				qm = virtualCopy(m, q.dest)
			}
			e, ok := q.enqueue(qm, origin)
			if !ok {
				continue
			}
			if ch.counted[m] {
				e.deliveries = m.DeliveryCount
			}
			places = append(places, placed{q, e})
			if e.stored {
				batch.Add(q.key, e.seq, qm)
			}
		}
	}
	for _, h := range ch.acks {
		if h.e.stored {
			batch.Remove(h.q.key, h.e.seq)
		}
	}
	for _, d := range ch.dead {
		if j, ok := b.retryLater(d, &batch); ok {
			jobs = append(jobs, j)
			continue
		}
		if p, ok := b.deadLetter(d, &batch); ok {
			places = append(places, p)
		}
	}
	batch.Ops = append(batch.Ops, ch.also.Ops...)
	if len(batch.Ops) > 0 {
		if err := b.st.Apply(ctx, &batch); err != nil {
			if errors.Is(err, store.ErrFull) {
				err = fmt.Errorf("%w: %w", ErrStoreFull, err)
			}
			return fail(err)
		}
	}
	for _, m := range sent {
		if !ch.moved {
			b.audit.stored(m)
		}
	}
	b.settle(places)
	b.published(topics)
	b.retained(rets)
	for _, j := range jobs {
		b.sched.added(j.sec, j.rec)
	}
	for q, es := range groupByQueue(ch.acks) {
		q.finish(es)
	}
	dead := make([]held, len(ch.dead))
	for i, d := range ch.dead {
		dead[i] = d.h
	}
	for q, es := range groupByQueue(dead) {
		q.finish(es)
	}
	return nil
}

// newJob adds to batch the job a scheduled message makes, if m is one
// (and asks for more than delivery now).
func (b *Broker) newJob(m *message.Message, batch *store.Batch) (nextJob, bool, error) {
	if b.cfg.NoScheduler || !scheduled(m) {
		return nextJob{}, false, nil
	}
	sp, err := specOf(m)
	if err != nil {
		return nextJob{}, false, err
	}
	if sp.immediate() {
		return nextJob{}, false, nil
	}
	due := sp.first(b.cfg.Now().In(b.zone()))
	if due == 0 {
		return nextJob{}, false, fmt.Errorf("%w: %s never matches a date", ErrBadSchedule, PropScheduledCron)
	}
	jm := jobMessage(m, b.sched.newJobID(), sp, due)
	seq := b.seq.Add(1)
	batch.Add(bucketKey(bucketOf(due)), seq, jm)
	return nextJob{bucketOf(due), store.Record{Seq: seq, Msg: jm}}, true, nil
}

func (b *Broker) unplace(ps []placed) {
	for q, es := range groupPlaced(ps) {
		q.settle(es, false)
	}
}

func (b *Broker) settle(ps []placed) {
	for q, es := range groupPlaced(ps) {
		q.settle(es, true)
	}
}

func groupPlaced(ps []placed) map[*queue][]*entry {
	m := map[*queue][]*entry{}
	for _, p := range ps {
		m[p.q] = append(m[p.q], p.e)
	}
	return m
}

// deadLetter places a copy of d's message on the dead letter queue and adds
// the store operations that move it.
func (b *Broker) deadLetter(d deadItem, batch *store.Batch) (placed, bool) {
	if d.h.e.stored {
		batch.Remove(d.h.q.key, d.h.e.seq)
	}
	src := d.h.e.msg
	if src == nil {
		// Paged out: the body is read back so the copy is complete.
		recs, err := b.st.Scan(context.Background(), d.h.q.key, d.h.e.seq-1, 1, 1)
		if err != nil || len(recs) == 0 || recs[0].Seq != d.h.e.seq {
			b.log.Error("cannot read a message to dead-letter it; dropped", "dest", d.h.q.key, "seq", d.h.e.seq, "err", err)
			return placed{}, false
		}
		src = recs[0].Msg
	}
	m := src.Clone()
	// Where it died, as ActiveMQ: a virtual topic's copy or a moved
	// message had another original destination, but a retry must bring it
	// back here (see RetryMessages). One dying on a dead letter queue
	// keeps the destination it came from.
	if m.OriginalDest.IsZero() || !d.h.q.pol.isDLQ(d.h.q.dest.Name) {
		m.OriginalDest = m.Dest
	}
	dlq := d.h.q.pol.dlqFor(m.OriginalDest)
	m.Dest = message.Destination{Kind: message.Queue, Name: dlq}
	m.DeliveryCount = d.h.e.deliveries
	m.Expiration = 0 // as ActiveMQ does: a dead letter waits for someone to look at it
	if m.Properties == nil {
		m.Properties = map[string]any{}
	}
	m.Properties["dlqDeliveryFailureCause"] = d.reason
	q := b.queue(dlq)
	if q == nil {
		return placed{}, false
	}
	e, ok := q.enqueue(m, 0)
	if !ok {
		return placed{}, false
	}
	if e.stored {
		batch.Add(q.key, e.seq, m)
	}
	return placed{q, e}, true
}

// retryLater moves a message a consumer rejected into the scheduler, to
// come back to its queue after the policy's redelivery delay (ActiveMQ's
// redelivery plugin), while it has redeliveries left: the queue's record
// out, a job in, in the batch.
func (b *Broker) retryLater(d deadItem, batch *store.Batch) (nextJob, bool) {
	q, e := d.h.q, d.h.e
	p := q.pol
	if !d.rejected || p.RedeliveryDelay <= 0 || q.dest.Kind != message.Queue || q.key == "" ||
		p.MaxRedeliveries >= 0 && int(e.deliveries) > p.MaxRedeliveries {
		return nextJob{}, false
	}
	src := e.msg
	if src == nil {
		recs, err := b.st.Scan(context.Background(), q.key, e.seq-1, 1, 1)
		if err != nil || len(recs) == 0 || recs[0].Seq != e.seq {
			return nextJob{}, false // dead-lettered instead (which reports the problem)
		}
		src = recs[0].Msg
	}
	m := src.Clone()
	m.DeliveryCount = e.deliveries
	due := b.now() + p.redeliveryDelay(e.deliveries).Milliseconds()
	jm := redeliveryJob(m, b.sched.newJobID(), due)
	if e.stored {
		batch.Remove(q.key, e.seq)
	}
	seq := b.seq.Add(1)
	batch.Add(bucketKey(bucketOf(due)), seq, jm)
	return nextJob{bucketOf(due), store.Record{Seq: seq, Msg: jm}}, true
}

// moveToDLQ dead-letters entries of q now (redelivery limit, expiry).
func (b *Broker) moveToDLQ(q *queue, es []*entry, reason string) {
	if len(es) == 0 {
		return
	}
	ch := &change{}
	for _, e := range es {
		ch.dead = append(ch.dead, deadItem{h: held{q: q, e: e}, reason: reason})
	}
	// The entries count as in flight until apply finishes them.
	q.restore(len(es))
	if err := b.apply(context.Background(), ch); err != nil {
		b.log.Error("dead-lettering failed; messages kept for redelivery", "dest", q.key, "err", err)
		q.requeueNoCount(es)
	}
}

// expire handles expired entries: persistent ones go to the dead letter
// queue (as ActiveMQ does), others are dropped.
func (b *Broker) expire(q *queue, es []*entry) {
	q.countExpired(len(es))
	var dead, drop []*entry
	for _, e := range es {
		if e.msg != nil && e.msg.Persistent && !q.pol.DropExpired && !q.pol.isDLQ(q.dest.Name) {
			dead = append(dead, e)
		} else {
			drop = append(drop, e)
		}
	}
	b.moveToDLQ(q, dead, "expired")
	if len(drop) > 0 {
		var batch store.Batch
		for _, e := range drop {
			if e.stored {
				batch.Remove(q.key, e.seq)
			}
		}
		b.acks.push(batch.Ops, nil)
		q.restore(len(drop))
		q.finish(drop)
	}
}

// requeueNoCount returns entries to pending without counting a delivery.
func (q *queue) requeueNoCount(es []*entry) {
	q.mu.Lock()
	for _, e := range es {
		q.mu.inflight--
		if !q.mu.deleted {
			q.mu.pending.push(e)
		}
	}
	q.mu.Unlock()
}
