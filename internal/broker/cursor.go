package broker

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// A queue holds in memory a window of its waiting messages, not all of
// them: past Config.Window (or while memory is over its limit) the stored
// messages it is sent stay in the store only, behind its cursor, and are
// read back a page at a time as the window drains — ActiveMQ's store
// cursor. A backlog of any length then costs the broker a few fields per
// queue, not an entry per message. Messages that are not stored
// (non-persistent ones, a queue without a store key) are always held.
//
// Invariant: every waiting stored message of the queue with a sequence
// number up to cursor.upto is in the pending list (or in flight, or taken
// by a management step); those past it are in the store only, or being
// written (writing), or taken out by management (gone).

// DefaultWindow is how many waiting messages a queue holds in memory by
// default (Config.Window).
const DefaultWindow = 10000

// cursor is where a queue's stored messages stop being held in memory.
// Its fields are guarded by the queue's lock.
type cursor struct {
	on   bool   // stored messages past upto are in the store only
	upto uint64 // the last sequence number read from the store
	n    int    // stored messages past upto (for statistics; a hint)
	// writing holds, ascending, the sequence numbers of messages sent past
	// the cursor whose store write has not finished: a page read stops
	// before the first of them, so only durable messages are dispatched
	// and none is read twice.
	writing []uint64
	gen     uint64 // bumped when a message past the cursor becomes durable
	// gone holds sequence numbers past upto that a management step took
	// out of the store's reach (it removes them); a page read skips them.
	gone map[uint64]struct{}
	// recovered is the store's last sequence number at recovery: messages
	// up to it count as delivered once (recoveredDeliveries).
	recovered uint64
}

// behindLocked says whether a message of the queue that is to be stored
// goes past the cursor instead of into the pending list: the cursor is
// already on, the window is full, or memory is over its limit. Called with
// q.mu held.
func (q *queue) behindLocked() bool {
	return q.mu.cur.on || q.mu.pending.len() >= q.b.cfg.Window || q.memOver()
}

// putBehindLocked records e, just numbered, as sent past the cursor.
// Called with q.mu held.
func (q *queue) putBehindLocked(e *entry) {
	c := &q.mu.cur
	if !c.on {
		c.on = true
		c.upto = e.seq - 1 // every waiting stored message before e is pending
	}
	e.behind = true
	c.writing = append(c.writing, e.seq)
}

// settleBehindLocked finishes the store write of e, sent past the cursor:
// it now counts among the stored messages there (ok) or never existed.
// Called with q.mu held.
func (q *queue) settleBehindLocked(e *entry, ok bool) {
	c := &q.mu.cur
	if i, found := slices.BinarySearch(c.writing, e.seq); found {
		c.writing = slices.Delete(c.writing, i, i+1)
	}
	if ok && !q.mu.deleted {
		c.n++
		c.gen++
	}
}

// waitingLocked is how many messages wait on the queue: pending ones,
// those being written past the cursor and those stored past it. Called
// with q.mu held.
func (q *queue) waitingLocked() int {
	return q.mu.pending.len() + len(q.mu.cur.writing) + q.mu.cur.n
}

// needFillLocked says whether dispatch should read the next page from
// the store: the cursor is on, someone consumes, and the window is below
// half while memory allows, or empty (memory that other queues hold must
// not starve this one's consumers: a read then takes one page, PageSize
// messages, past the limit). Called with q.mu held.
func (q *queue) needFillLocked() bool {
	if !q.mu.cur.on || q.mu.consumers.len() == 0 {
		return false
	}
	n := q.mu.pending.len()
	return n == 0 || n < q.b.cfg.Window/2 && !q.memOver()
}

// fill reads up to want stored messages past the cursor into the pending
// list (with force, even while memory is over its limit: a management
// step that takes them at once). It reports whether anything changed: a
// message added, the cursor moved on, or it found nothing more and
// turned off.
func (q *queue) fill(ctx context.Context, want int, force bool) (bool, error) {
	q.mu.Lock()
	if !q.mu.cur.on || q.mu.deleted {
		q.mu.Unlock()
		return false, nil
	}
	after, gen := q.mu.cur.upto, q.mu.cur.gen
	// The first message being written now ends what this read may take,
	// even if its write finishes before the read does: the read may have
	// missed it while it found later ones.
	limit := uint64(math.MaxUint64)
	if len(q.mu.cur.writing) > 0 {
		limit = q.mu.cur.writing[0]
	}
	q.mu.Unlock()
	recs, err := q.b.st.Scan(ctx, q.key, after, max(want, 1), 4<<20)
	if err != nil {
		return false, fmt.Errorf("scan %s after %d: %w", q.key, after, err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	c := &q.mu.cur
	if !c.on || c.upto != after || q.mu.deleted {
		return true, nil // read meanwhile by someone else: look again
	}
	if len(recs) == 0 {
		if c.gen == gen && len(c.writing) == 0 {
			// The store holds nothing past the cursor and nothing is
			// being written there: caught up.
			if c.n != 0 {
				q.b.log.Warn("queue's count of stored messages was off; corrected", "dest", q.key, "count", c.n)
			}
			*c = cursor{recovered: c.recovered}
			return true, nil
		}
		return false, nil
	}
	if len(c.writing) > 0 {
		limit = min(limit, c.writing[0])
	}
	added := false
	for _, r := range recs {
		if r.Seq >= limit {
			break // not durable yet: its settle kicks the queue
		}
		if added && !force && q.memOver() {
			break
		}
		c.upto = r.Seq
		if _, ok := c.gone[r.Seq]; ok {
			delete(c.gone, r.Seq)
			continue
		}
		prio := q.prio(r.Msg.Priority)
		if b, _ := q.mu.pending.find(prio, r.Seq); b != nil {
			continue // put back by a management step that failed
		}
		e := q.recordEntry(r, c.recovered)
		e.size = int64(r.Msg.Size())
		q.memAdd(e.size)
		q.mu.pending.push(e)
		c.n = max(c.n-1, 0)
		added = true
	}
	for s := range c.gone {
		if s <= c.upto {
			delete(c.gone, s) // removed from the store before the read got there
		}
	}
	return added || c.upto != after, nil // passing only skipped ones is progress too
}

// recordEntry makes the entry of a message read from the store, with its
// body (not counted against the memory limits). A message the store held
// at recovery (seq up to recovered) has counted one delivery.
func (q *queue) recordEntry(r store.Record, recovered uint64) *entry {
	e := &entry{seq: r.Seq, prio: q.prio(r.Msg.Priority), stored: true, stable: true, msg: r.Msg,
		deliveries: r.Msg.DeliveryCount}
	if r.Seq <= recovered {
		e.deliveries = max(e.deliveries, recoveredDeliveries)
	}
	return e
}

// behind returns up to n stored messages past the cursor that keep
// accepts (nil: all), from the skip+1st of those on, for browsing: it
// reads the store, taking nothing. A message still being written ends the
// list.
func (q *queue) behind(ctx context.Context, skip, n int, keep func(*message.Message) bool) ([]*entry, error) {
	q.mu.Lock()
	c := &q.mu.cur
	on, after := c.on, c.upto
	limit := uint64(math.MaxUint64)
	if len(c.writing) > 0 {
		limit = c.writing[0]
	}
	gone := make(map[uint64]struct{}, len(c.gone))
	for s := range c.gone {
		gone[s] = struct{}{}
	}
	recovered := c.recovered
	q.mu.Unlock()
	var out []*entry
	for on && len(out) < n {
		recs, err := q.b.st.Scan(ctx, q.key, after, min(max(n-len(out), q.b.cfg.PageSize)+skip, 1000), 4<<20)
		if err != nil {
			return nil, fmt.Errorf("broker: read %s past its cursor: %w", q.key, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			after = r.Seq
			if r.Seq >= limit {
				return out, nil
			}
			if _, ok := gone[r.Seq]; ok || keep != nil && !keep(r.Msg) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			out = append(out, q.recordEntry(r, recovered))
			if len(out) == n {
				break
			}
		}
	}
	return out, nil
}
