package broker

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/piermq/pier/internal/message"
)

// The management interface's operations on a queue's messages. Each
// step takes waiting entries out of the queue (so no consumer gets them
// meanwhile), writes one store batch — the messages placed elsewhere and
// removed here together, as any change of the broker's (apply) — and then
// finishes them, or puts them back if the write failed. Messages in flight
// to a consumer are left alone. A deep queue is handled a step at a time,
// reading paged-out bodies from the store only for the step.

// manageStep bounds the messages one step takes out of a queue.
const manageStep = 500

// purgeStep bounds the messages one step of a purge removes (no bodies
// are read).
const purgeStep = 10000

// propDLQCause is the property a dead letter carries its cause in.
const propDLQCause = "dlqDeliveryFailureCause"

// manageQueue returns the named queue.
func (b *Broker) manageQueue(name string) (*queue, error) {
	b.mu.RLock()
	q := b.mu.queues[name]
	b.mu.RUnlock()
	if q == nil {
		return nil, fmt.Errorf("%w: queue://%s", ErrNoSuchDestination, name)
	}
	return q, nil
}

// Browse returns up to limit (0: 100, at most 1000) messages of a queue
// from position offset, in the order a consumer would get them: first
// those in flight to consumers (InFlight, by priority then arrival), then
// the waiting ones in dispatch order. total is the queue's depth.
// DeliveryCount is the deliveries so far; Redelivered says the message's
// current (in flight) or next delivery is marked redelivered. Only the
// page's bodies are read (from the store when paged out), and only their
// first PreviewBytes are kept.
func (b *Broker) Browse(ctx context.Context, queue string, offset, limit int) ([]MessageInfo, int, error) {
	q, err := b.manageQueue(queue)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	offset = max(offset, 0)
	page, total, held := q.page(offset, limit)
	if len(page) < limit && total > held {
		skip := max(0, offset-held)
		past, err := q.behind(ctx, skip, limit-len(page), nil)
		if err != nil {
			return nil, 0, err
		}
		for i, e := range past {
			page = append(page, snap{pos: int64(held + skip + i), seq: e.seq, prio: e.prio, msg: e.msg, deliveries: e.deliveries})
		}
	}
	var stubs []uint64
	for _, s := range page {
		if s.msg == nil {
			stubs = append(stubs, s.seq)
		}
	}
	bodies, err := q.readBodies(ctx, stubs)
	if err != nil {
		return nil, 0, fmt.Errorf("broker: browse %s: %w", queue, err)
	}
	out := make([]MessageInfo, 0, len(page))
	for _, s := range page {
		m := s.msg
		if m == nil {
			if m = bodies[s.seq]; m == nil {
				continue // consumed meanwhile
			}
		}
		out = append(out, messageInfo(m, s))
	}
	return out, total, nil
}

// snap is a browsed entry, copied under the queue's lock.
type snap struct {
	pos        int64
	seq        uint64
	prio       uint8
	msg        *message.Message // nil: paged out
	deliveries int32
	inflight   bool
}

// page copies the entries held in memory at positions offset to
// offset+limit, and returns the depth and how many positions are held in
// memory (those past them are in the store, past the cursor). The waiting
// entries before offset are skipped without a walk (positions count the
// entries not yet stable too).
func (q *queue) page(offset, limit int) ([]snap, int, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	held := q.mu.pending.len() + q.mu.inflight
	total := q.waitingLocked() + q.mu.inflight
	flight := q.inflightLocked()
	var out []snap
	pos := 0
	for _, s := range flight {
		if pos >= offset && len(out) < limit {
			s.pos = int64(pos)
			out = append(out, s)
		}
		pos++
	}
	for pr := 9; pr >= 0 && len(out) < limit; pr-- {
		bk := &q.mu.pending.buckets[pr]
		n := len(bk.items) - bk.head
		if pos+n <= offset {
			pos += n
			continue
		}
		skip := max(0, offset-pos) // positions count every entry: jump to offset
		pos += skip
		for i := bk.head + skip; i < len(bk.items) && len(out) < limit; i++ {
			e := bk.items[i]
			if e.stable {
				out = append(out, snap{pos: int64(pos), seq: e.seq, prio: e.prio, msg: e.msg, deliveries: e.deliveries})
			}
			pos++
		}
	}
	return out, total, held
}

// inflightLocked returns the entries of q in flight to its consumers, by
// priority then arrival. Called with q.mu held.
func (q *queue) inflightLocked() []snap {
	var out []snap
	for _, bd := range q.mu.consumers.bands {
		for _, s := range bd.subs {
			s.mu.Lock()
			for _, h := range s.mu.inflight {
				if h.q == q {
					out = append(out, snap{seq: h.e.seq, prio: h.e.prio, msg: h.e.msg, deliveries: h.e.deliveries, inflight: true})
				}
			}
			s.mu.Unlock()
		}
	}
	slices.SortFunc(out, func(x, y snap) int {
		if x.prio != y.prio {
			return int(y.prio) - int(x.prio)
		}
		return cmp.Compare(x.seq, y.seq)
	})
	return out
}

// messageInfo describes m as the console shows it.
func messageInfo(m *message.Message, s snap) MessageInfo {
	redelivered := s.deliveries > 0
	if s.inflight {
		redelivered = s.deliveries > 1
	}
	return MessageInfo{ID: m.ID, Position: s.pos, Dest: m.Dest, OriginalDest: m.OriginalDest, Timestamp: m.Timestamp,
		Expiration: m.Expiration, Priority: m.Priority, Persistent: m.Persistent, Redelivered: redelivered,
		DeliveryCount: s.deliveries, CorrelationID: m.CorrelationID, Type: m.Type, ReplyTo: m.ReplyTo,
		GroupID: m.GroupID, GroupSeq: m.GroupSeq, UserID: m.UserID, Properties: maps.Clone(m.Properties),
		BodyKind: m.BodyKind, BodySize: len(m.Body), BodyPreview: bytes.Clone(m.Body[:min(len(m.Body), PreviewBytes)]),
		InFlight: s.inflight}
}

// readBodies reads the stored messages with the given sequence numbers
// (ascending) of q; those no longer stored are missing from the map. Runs
// of consecutive records are read with one Scan, and no more than a page
// of records is held at a time beyond those asked for.
func (q *queue) readBodies(ctx context.Context, seqs []uint64) (map[uint64]*message.Message, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	slices.Sort(seqs)
	out := make(map[uint64]*message.Message, len(seqs))
	for i := 0; i < len(seqs); {
		recs, err := q.b.st.Scan(ctx, q.key, seqs[i]-1, min(len(seqs)-i, q.b.cfg.PageSize), 4<<20)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			break
		}
		last := recs[len(recs)-1].Seq
		for _, r := range recs {
			if _, ok := slices.BinarySearch(seqs[i:], r.Seq); ok {
				out[r.Seq] = r.Msg
			}
		}
		for i < len(seqs) && seqs[i] <= last {
			i++
		}
	}
	return out, nil
}

// Purge removes every message waiting on a queue (from the store too) and
// returns how many; messages in flight to consumers stay, as in ActiveMQ.
// Messages sent meanwhile may stay too.
func (b *Broker) Purge(ctx context.Context, queue string) (int, error) {
	q, err := b.manageQueue(queue)
	if err != nil {
		return 0, err
	}
	w := q.newSweep()
	n := 0
	for {
		es := w.take(purgeStep)
		if len(es) == 0 {
			return n, nil
		}
		k, err := b.step(ctx, q, es, nil)
		n += k
		if err != nil {
			return n, fmt.Errorf("broker: purge %s: %w", queue, err)
		}
	}
}

// RemoveMessages removes the waiting messages of a queue with the given
// ids (nil: all of them, as Purge; an empty list: none) and returns how
// many it removed (unknown ids and messages in flight are not).
func (b *Broker) RemoveMessages(ctx context.Context, queue string, ids []string) (int, error) {
	q, err := b.manageQueue(queue)
	if err != nil {
		return 0, err
	}
	return b.eachTaken(ctx, q, ids, nil)
}

// MoveMessages moves the waiting messages of a queue with the given ids
// (nil: all of them) to destination to, a queue or a topic, and returns
// how many it moved; with copy it copies them, leaving the originals. A
// moved message keeps its id and properties, has the queue as its
// original destination and no delivery counted (ActiveMQ's
// moveMessageTo). Each message is placed in the target and removed from
// the queue in the same store batch. Messages in flight are not moved.
func (b *Broker) MoveMessages(ctx context.Context, queue string, ids []string, to message.Destination, copy bool) (int, error) {
	q, err := b.manageQueue(queue)
	if err != nil {
		return 0, err
	}
	if err := checkTarget(to); err != nil {
		return 0, err
	}
	if to == q.dest {
		return 0, fmt.Errorf("%w: %s is the queue the messages are on", message.ErrBadDestination, to)
	}
	return b.eachTaken(ctx, q, ids, func(m *message.Message) (*message.Message, bool) {
		return resent(m, to, q.dest), copy
	})
}

// checkTarget accepts a queue or topic to place messages on.
func checkTarget(d message.Destination) error {
	if d.Kind != message.Queue && d.Kind != message.Topic {
		return fmt.Errorf("%w: %s: want a queue or a topic", message.ErrBadDestination, d)
	}
	if err := message.ValidateName(d.Name); err != nil {
		return err
	}
	if d.IsWildcard() || strings.Contains(d.Name, ",") {
		return fmt.Errorf("%w: %s: want one destination, no wildcard", message.ErrBadDestination, d)
	}
	return nil
}

// resent is m sent again to d from the queue it is on (from), as
// ActiveMQ's BrokerSupport.resend: same id and properties, from as the
// original destination, no delivery counted.
func resent(m *message.Message, to, from message.Destination) *message.Message {
	c := m.Clone()
	c.Dest, c.OriginalDest, c.DeliveryCount = to, from, 0
	return c
}

// RetryMessages sends the waiting messages of a queue with the given ids
// (nil: all of them) back to their original destinations (a dead letter
// queue's messages, ActiveMQ's retryMessages) and returns how many it
// sent. Each is moved in one store batch, so it is retried exactly once;
// it loses its dead letter cause and counted deliveries, and has the dead
// letter queue as its original destination. Messages without an original
// destination stay; if ids named any, the error wraps ErrNotDeadLetter.
// Messages whose original destination is a temporary one that is gone
// stay too.
func (b *Broker) RetryMessages(ctx context.Context, queue string, ids []string) (int, error) {
	q, err := b.manageQueue(queue)
	if err != nil {
		return 0, err
	}
	orphans := 0
	n, err := b.eachTaken(ctx, q, ids, func(m *message.Message) (*message.Message, bool) {
		to := m.OriginalDest
		if to.IsZero() {
			orphans++
			return nil, true
		}
		if to.Kind.IsTemp() && !b.tempExists(to) {
			return nil, true
		}
		c := resent(m, to, q.dest)
		delete(c.Properties, propDLQCause)
		return c, false
	})
	if err == nil && orphans > 0 && ids != nil {
		err = fmt.Errorf("%w: %d of the messages named", ErrNotDeadLetter, orphans)
	}
	return n, err
}

// eachTaken takes the waiting messages of q with the given ids (nil: all
// there are now) a step at a time and passes them through build (nil:
// remove them); see step.
func (b *Broker) eachTaken(ctx context.Context, q *queue, ids []string, build builder) (int, error) {
	var es []*entry
	var w *sweep
	if ids != nil {
		var err error
		if es, err = q.takeIDs(ctx, ids); err != nil {
			return 0, err
		}
	} else {
		w = q.newSweep()
	}
	n := 0
	for {
		var batch []*entry
		if w != nil {
			batch = w.take(manageStep)
		} else {
			k := min(len(es), manageStep)
			batch, es = es[:k], es[k:]
		}
		if len(batch) == 0 {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			q.requeueNoCount(batch)
			q.requeueNoCount(es)
			return n, err
		}
		k, err := b.step(ctx, q, batch, build)
		n += k
		if err != nil {
			q.requeueNoCount(es)
			return n, fmt.Errorf("broker: %s: %w", q.dest, err)
		}
	}
}

// builder says what becomes of a taken message: out is placed (nil:
// nothing), and with keep the message stays on its queue.
type builder func(m *message.Message) (out *message.Message, keep bool)

// step carries out one step on entries taken from q: one store batch
// places what build makes and removes the messages that do not stay; those
// that stay go back. It returns how many messages it placed or removed.
// With a nil build the messages are removed, and no body is read.
func (b *Broker) step(ctx context.Context, q *queue, es []*entry, build builder) (int, error) {
	ch := &change{moved: true}
	var keep []*entry
	n := 0
	if build == nil {
		for _, e := range es {
			ch.acks = append(ch.acks, held{q: q, e: e})
		}
		n = len(es)
	} else {
		var stubs []uint64
		for _, e := range es {
			if e.msg == nil {
				stubs = append(stubs, e.seq)
			}
		}
		bodies, err := q.readBodies(ctx, stubs)
		if err != nil {
			q.requeueNoCount(es)
			return 0, err
		}
		for _, e := range es {
			m := e.msg
			if m == nil {
				m = bodies[e.seq]
			}
			if m == nil { // no longer stored: nothing to place; dispatch would drop it too
				ch.acks = append(ch.acks, held{q: q, e: e})
				continue
			}
			out, stay := build(m)
			if out != nil {
				ch.sends = append(ch.sends, out)
			}
			if stay {
				keep = append(keep, e)
			} else {
				ch.acks = append(ch.acks, held{q: q, e: e})
			}
			if out != nil || !stay {
				n++
			}
		}
	}
	err := b.apply(ctx, ch)
	q.requeueNoCount(keep)
	if err != nil {
		back := make([]*entry, len(ch.acks))
		for i, h := range ch.acks {
			back[i] = h.e
		}
		q.requeueNoCount(back)
		return 0, err
	}
	q.kick()
	return n, nil
}
