package broker

import (
	"context"
	"sort"
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
// them in flight.
func (w *sweep) take(n int) []*entry {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*entry
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
	q.mu.inflight += len(out)
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
	q.mu.Unlock()
	if len(want) == 0 || firstStub == 0 {
		return out, nil
	}
	type pos struct {
		prio uint8
		seq  uint64
	}
	var found []pos
	after := firstStub - 1
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
				found = append(found, pos{q.prio(r.Msg.Priority), r.Seq})
			}
		}
	}
	q.mu.Lock()
	for _, p := range found {
		bk, i := q.mu.pending.find(p.prio, p.seq)
		if bk == nil || !bk.items[i].stable {
			continue // in flight
		}
		out = append(out, bk.items[i])
		q.mu.pending.remove(bk, i)
		q.mu.inflight++
	}
	q.mu.Unlock()
	return out, nil
}
