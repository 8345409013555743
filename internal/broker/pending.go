package broker

import (
	"sort"

	"github.com/piermq/pier/internal/message"
)

// entry is one message held by a queue: pending, in flight to a consumer, or
// held by a transaction's acknowledgement.
type entry struct {
	seq        uint64
	prio       uint8
	msg        *message.Message // nil while paged out to the store
	size       int64            // bytes counted against the memory limit while msg is resident
	stored     bool             // written under the queue's store key
	stable     bool             // durable (or not to be stored) and so visible to dispatch
	behind     bool             // sent past the queue's cursor: never in the pending list (cursor.go)
	deliveries int32            // times delivered so far; recoveredDeliveries after a recovery
	origin     uint64           // id of the connection that sent it
}

// pendingList holds entries waiting for a consumer: one FIFO per priority,
// each ordered by sequence number.
type pendingList struct {
	buckets [10]bucket
	n       int
}

type bucket struct {
	items []*entry
	head  int
}

func prioIndex(p uint8) int {
	if p > 9 {
		return 9
	}
	return int(p)
}

func (p *pendingList) len() int { return p.n }

// push adds e in sequence order within its priority (at the end in the
// common case, in place when a message is returned for redelivery).
func (p *pendingList) push(e *entry) {
	b := &p.buckets[prioIndex(e.prio)]
	p.n++
	live := b.items[b.head:]
	if len(live) == 0 || live[len(live)-1].seq < e.seq {
		b.items = append(b.items, e)
		return
	}
	i := sort.Search(len(live), func(i int) bool { return live[i].seq > e.seq })
	b.items = append(b.items, nil)
	live = b.items[b.head:]
	copy(live[i+1:], live[i:])
	live[i] = e
}

// find returns the bucket and index of the entry with seq at priority prio.
func (p *pendingList) find(prio uint8, seq uint64) (*bucket, int) {
	b := &p.buckets[prioIndex(prio)]
	live := b.items[b.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i].seq >= seq })
	if i < len(live) && live[i].seq == seq {
		return b, b.head + i
	}
	return nil, -1
}

// keepCap is the largest array a bucket keeps once it is empty. A backlog
// grows its bucket's array to the backlog's length (8 bytes a message) and
// append never gives it back: past keepCap, an emptied bucket lets it go
// and a bucket that uses under a quarter of its array moves to a smaller
// one, so a queue that once held 100,000 messages holds O(1) once drained.
const keepCap = 256

// remove deletes the entry at index i of b.
func (p *pendingList) remove(b *bucket, i int) {
	p.n--
	if i == b.head {
		b.items[i] = nil
		b.head++
	} else {
		copy(b.items[i:], b.items[i+1:])
		b.items[len(b.items)-1] = nil
		b.items = b.items[:len(b.items)-1]
	}
	b.tidy()
}

// pendingRef is where an entry is: its bucket and index.
type pendingRef struct {
	b *bucket
	i int
}

// removeRefs deletes the entries at refs, listed in each's order (buckets
// from the highest priority down, ascending indexes within a bucket), one
// pass per bucket however many leave it.
func (p *pendingList) removeRefs(refs []pendingRef) {
	var idx []int
	for len(refs) > 0 {
		n := 1
		for n < len(refs) && refs[n].b == refs[0].b {
			n++
		}
		idx = idx[:0]
		for _, r := range refs[:n] {
			idx = append(idx, r.i)
		}
		p.cut(refs[0].b, idx)
		refs = refs[n:]
	}
}

// cut removes the entries at the given ascending indexes of b in one pass:
// a run from the head moves nothing, the rest of the bucket closes up once.
func (p *pendingList) cut(b *bucket, idx []int) {
	if len(idx) == 0 {
		return
	}
	p.n -= len(idx)
	k := 0
	for k < len(idx) && idx[k] == b.head {
		b.items[b.head] = nil
		b.head++
		k++
	}
	if k < len(idx) {
		w := idx[k]
		for r := idx[k]; r < len(b.items); r++ {
			if k < len(idx) && idx[k] == r {
				k++
				continue
			}
			b.items[w] = b.items[r]
			w++
		}
		clear(b.items[w:])
		b.items = b.items[:w]
	}
	b.tidy()
}

// tidy resets an emptied bucket and compacts one whose dead head or unused
// capacity outgrew its live entries (see keepCap).
func (b *bucket) tidy() {
	live := len(b.items) - b.head
	switch {
	case live == 0:
		if cap(b.items) > keepCap {
			b.items = nil
		} else {
			b.items = b.items[:0]
		}
		b.head = 0
	case b.head > 1024 && b.head*2 > len(b.items),
		cap(b.items) > keepCap && live*4 < cap(b.items):
		b.compact()
	}
}

// compact moves the live entries to the front of the array, or to a new one
// of twice their number when they would use less than a quarter of it.
func (b *bucket) compact() {
	live := b.items[b.head:]
	if len(live)*4 < cap(b.items) {
		b.items = append(make([]*entry, 0, max(2*len(live), 16)), live...)
	} else {
		n := copy(b.items, live)
		clear(b.items[n:])
		b.items = b.items[:n]
	}
	b.head = 0
}

// removeEntry deletes e if it is pending, reporting whether it was.
func (p *pendingList) removeEntry(e *entry) bool {
	b, i := p.find(e.prio, e.seq)
	if b == nil || b.items[i] != e {
		return false
	}
	p.remove(b, i)
	return true
}

// each calls f on entries from the highest priority down, in sequence order
// within a priority, until f returns false.
func (p *pendingList) each(f func(b *bucket, i int, e *entry) bool) {
	for pr := 9; pr >= 0; pr-- {
		b := &p.buckets[pr]
		for i := b.head; i < len(b.items); i++ {
			if !f(b, i, b.items[i]) {
				return
			}
		}
	}
}

// drain removes and returns every entry.
func (p *pendingList) drain() []*entry {
	var out []*entry
	for pr := range p.buckets {
		b := &p.buckets[pr]
		out = append(out, b.items[b.head:]...)
		b.items, b.head = nil, 0
	}
	p.n = 0
	return out
}
