package broker

import (
	"context"
	"sort"

	"github.com/piermq/pier/internal/store"
)

// sweep walks the waiting entries of a queue once, in dispatch order,
// taking them out a step at a time. Entries placed after it began, and
// entries put back behind it, are not taken.
type sweep struct {
	q    *queue
	upto uint64
	next [10]uint64 // per priority bucket: the lowest sequence number not yet visited
}

func (q *queue) newSweep() *sweep { return &sweep{q: q, upto: q.b.seq.Load()} }

// take removes up to n stable waiting entries not visited yet and counts
// them in flight. When the pending list has no more, it reads the next
// messages past the queue's cursor into it and goes on.
func (w *sweep) take(n int) []*entry {
	out := w.takePending(n, nil)
	for len(out) < n {
		w.q.mu.Lock()
		more := w.q.mu.cur.on && w.q.mu.cur.upto < w.upto
		w.q.mu.Unlock()
		if !more {
			break
		}
		read, err := w.q.fill(context.Background(), n-len(out), true)
		if err != nil {
			w.q.b.log.Error("reading the store past the queue's cursor failed", "dest", w.q.key, "err", err)
			break
		}
		if !read {
			break
		}
		out = w.takePending(n, out)
	}
	return out
}

// takePending is take's walk over the pending list, appending to out.
func (w *sweep) takePending(n int, out []*entry) []*entry {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	taken := len(out)
	for pr := 9; pr >= 0 && len(out) < n; pr-- {
		bk := &q.mu.pending.buckets[pr]
		live := bk.items[bk.head:]
		i := sort.Search(len(live), func(i int) bool { return live[i].seq >= w.next[pr] })
		var idx []int
		for ; i < len(live) && len(out) < n && live[i].seq <= w.upto; i++ {
			e := live[i]
			w.next[pr] = e.seq + 1
			if e.stable {
				idx = append(idx, bk.head+i)
				out = append(out, e)
			}
		}
		q.mu.pending.cut(bk, idx)
	}
	q.mu.inflight += len(out) - taken
	return out
}

// takeIDs removes the stable waiting entries whose messages have the
// given ids and counts them in flight. Ids of paged-out messages are
// looked up in the store, a page at a time.
func (q *queue) takeIDs(ctx context.Context, ids []string) ([]*entry, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []*entry
	var firstStub uint64
	q.mu.Lock()
	for pr := 9; pr >= 0; pr-- {
		bk := &q.mu.pending.buckets[pr]
		var idx []int
		for i := bk.head; i < len(bk.items); i++ {
			e := bk.items[i]
			switch {
			case !e.stable:
			case e.msg == nil:
				if firstStub == 0 || e.seq < firstStub {
					firstStub = e.seq
				}
			case want[e.msg.ID]:
				delete(want, e.msg.ID)
				idx = append(idx, i)
				out = append(out, e)
			}
		}
		q.mu.pending.cut(bk, idx)
	}
	q.mu.inflight += len(out)
	past := q.mu.cur.on
	from := q.mu.cur.upto
	q.mu.Unlock()
	switch {
	case len(want) == 0:
		return out, nil
	case firstStub != 0:
		from = firstStub - 1
	case !past:
		return out, nil
	}
	type pos struct {
		prio uint8
		rec  store.Record
	}
	var found []pos
	after := from
	for len(want) > 0 {
		recs, err := q.b.st.Scan(ctx, q.key, after, q.b.cfg.PageSize, 4<<20)
		if err != nil {
			q.requeueNoCount(out)
			return nil, err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			after = r.Seq
			if want[r.Msg.ID] {
				delete(want, r.Msg.ID)
				found = append(found, pos{q.prio(r.Msg.Priority), r})
			}
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	c := &q.mu.cur
	for _, p := range found {
		if c.on && p.rec.Seq > c.upto {
			// Past the cursor: taken from the store's reach.
			if len(c.writing) > 0 && p.rec.Seq >= c.writing[0] {
				continue // not durable yet (and sent after the call began)
			}
			if _, ok := c.gone[p.rec.Seq]; ok {
				continue
			}
			if c.gone == nil {
				c.gone = map[uint64]struct{}{}
			}
			c.gone[p.rec.Seq] = struct{}{}
			c.n = max(c.n-1, 0)
			out = append(out, q.recordEntry(p.rec, c.recovered))
			q.mu.inflight++
			continue
		}
		bk, i := q.mu.pending.find(p.prio, p.rec.Seq)
		if bk == nil || !bk.items[i].stable {
			continue // in flight
		}
		out = append(out, bk.items[i])
		q.mu.pending.remove(bk, i)
		q.mu.inflight++
	}
	return out, nil
}
