package journal

import (
	"fmt"
	"sort"

	"github.com/piermq/pier/internal/store"
)

// entry locates one live message: the CRC and encoded bytes at off in
// segment seg. Bodies are never held in memory.
type entry struct {
	seq uint64
	seg uint32
	off uint32 // offset of the message's CRC; the n encoded bytes follow it
	n   uint32
}

// destIndex is one destination's live messages, sorted by seq, in chunks
// (chunk.go): sealed ones, then at most one open one at the end.
type destIndex struct {
	chunks []*chunk
	count  int
	bytes  int64
	// The entries of the sealed chunk decoded last (cached), so that
	// removals in order decode each chunk once. Only the writer uses it.
	cached *chunk
	cache  []entry
}

// entries returns the entries of c, live or not, decoding a sealed chunk
// into the destination's cache. Only for the writer; readers use decode.
func (d *destIndex) entries(c *chunk) []entry {
	if c.enc == nil {
		return c.ents
	}
	if d.cached != c {
		d.cached = nil
		ents, err := decodeEntries(d.cache[:0], c.enc, c.first, int(c.n))
		if err != nil { // the index encoded it itself
			panic(fmt.Sprintf("journal: index chunk: %v", err))
		}
		d.cached, d.cache = c, ents
	}
	return d.cache
}

// decode returns the entries of c, live or not, decoding a sealed chunk
// into buf.
func decode(c *chunk, buf []entry) []entry {
	if c.enc == nil {
		return c.ents
	}
	ents, err := decodeEntries(buf[:0], c.enc, c.first, int(c.n))
	if err != nil {
		panic(fmt.Sprintf("journal: index chunk: %v", err))
	}
	return ents
}

// find returns the position of the chunk that would hold seq: the first
// whose last seq is >= seq (len(d.chunks) if none).
func (d *destIndex) find(seq uint64) int {
	return sort.Search(len(d.chunks), func(i int) bool { return d.chunks[i].last >= seq })
}

// lookup returns the chunk position, entries and entry position of the
// live entry seq, or ok false.
func (d *destIndex) lookup(seq uint64) (ci int, ents []entry, j int, ok bool) {
	ci = d.find(seq)
	if ci == len(d.chunks) || d.chunks[ci].first > seq {
		return 0, nil, 0, false
	}
	c := d.chunks[ci]
	ents = d.entries(c)
	j = sort.Search(len(ents), func(k int) bool { return ents[k].seq >= seq })
	if j == len(ents) || ents[j].seq != seq || !c.isLive(j) {
		return 0, nil, 0, false
	}
	return ci, ents, j, true
}

// each calls fn for every live entry in order until fn returns false.
func (d *destIndex) each(fn func(e entry) bool) {
	var buf []entry
	for _, c := range d.chunks {
		buf = decode(c, buf)
		for i, e := range buf {
			if c.isLive(i) && !fn(e) {
				return
			}
		}
	}
}

// head returns the live entry with the lowest seq.
func (d *destIndex) head() (first entry) {
	d.each(func(e entry) bool { first = e; return false })
	return first
}

// replace puts the chunks cs in place of the chunk at position ci.
func (d *destIndex) replace(ci int, cs ...*chunk) {
	if d.cached == d.chunks[ci] {
		d.cached = nil
	}
	d.chunks = append(d.chunks[:ci], append(cs, d.chunks[ci+1:]...)...)
}

// index is the in-memory state of the store: what Recover reports and where
// Scan finds messages. Only the writer (the holder of Store.lead, or Open before it)
// modifies it, under Store.mu.
type index struct {
	dests    map[string]*destIndex
	subs     map[string]store.Subscription
	segLive  map[uint32]int   // live messages per segment
	segBytes map[uint32]int64 // their encoded bytes
	prods    *producers       // producer high-water marks
	lastSeq  uint64
	mark     uint64 // highest store.Batch.Mark applied
	bytes    int64
	messages int64
}

// newIndex returns an empty index that remembers up to maxProducers
// producers.
func newIndex(maxProducers int) *index {
	return &index{
		dests:    map[string]*destIndex{},
		subs:     map[string]store.Subscription{},
		segLive:  map[uint32]int{},
		segBytes: map[uint32]int64{},
		prods:    newProducers(maxProducers),
	}
}

// apply applies decoded ops whose payload starts at offset base of segment seg.
func (x *index) apply(ops []op, seg uint32, base uint32) {
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case store.OpAdd:
			x.add(o.dest, entry{seq: o.seq, seg: seg, off: base + o.off, n: o.n})
			x.lastSeq = max(x.lastSeq, o.seq)
			if o.prod != "" && o.pseq > 0 {
				x.prods.note(o.prod, o.pseq)
			}
		case opMove:
			x.move(o.dest, entry{seq: o.seq, seg: seg, off: base + o.off, n: o.n})
		case opMark:
			x.mark = max(x.mark, o.seq)
		case store.OpRemove:
			x.remove(o.dest, o.seq)
		case store.OpPutSub:
			x.subs[o.sub.Key()] = o.sub
		case store.OpDeleteSub:
			delete(x.subs, o.sub.Key())
			x.dropDest(o.sub.Dest)
		}
	}
}

func (x *index) add(dest string, e entry) {
	d := x.dests[dest]
	if d == nil {
		d = &destIndex{}
		x.dests[dest] = d
	}
	x.count(d, e)
	n := len(d.chunks)
	if n == 0 || d.chunks[n-1].last < e.seq { // in order: the common case
		var c *chunk
		if n > 0 {
			c = d.chunks[n-1]
		}
		if c == nil || c.enc != nil || c.n == chunkCap {
			// The last chunk is full, or sealed (the open one after it
			// was removed).
			if c != nil && c.enc == nil {
				c.seal()
			}
			c = &chunk{ents: make([]entry, 0, chunkCap)}
			d.chunks = append(d.chunks, c)
		}
		c.push(e)
		return
	}
	// Out of order (rare): rewrite the chunk with e in it.
	ci := d.find(e.seq)
	c := d.chunks[ci]
	ents := d.entries(c)
	j := sort.Search(len(ents), func(k int) bool { return ents[k].seq >= e.seq })
	if j < len(ents) && ents[j].seq == e.seq && c.isLive(j) { // replaced
		x.forget(d, ents[j])
	}
	live := make([]entry, 0, c.nlive+1)
	for k, old := range ents {
		if k == j {
			live = append(live, e)
			if old.seq == e.seq {
				continue
			}
		}
		if c.isLive(k) {
			live = append(live, old)
		}
	}
	if j == len(ents) {
		live = append(live, e)
	}
	d.replace(ci, newChunks(live, c.enc == nil)...)
}

func (x *index) count(d *destIndex, e entry) {
	d.count++
	d.bytes += int64(e.n)
	x.bytes += int64(e.n)
	x.messages++
	x.segLive[e.seg]++
	x.segBytes[e.seg] += int64(e.n)
}

func (x *index) forget(d *destIndex, e entry) {
	d.count--
	d.bytes -= int64(e.n)
	x.bytes -= int64(e.n)
	x.messages--
	x.segLive[e.seg]--
	x.segBytes[e.seg] -= int64(e.n)
}

// move re-points the entry (dest, seq), if it still exists, at a copy of
// its message made by compaction.
func (x *index) move(dest string, e entry) {
	d := x.dests[dest]
	if d == nil {
		return
	}
	ci, ents, j, ok := d.lookup(e.seq)
	if !ok || ents[j].n != e.n {
		return
	}
	x.forget(d, ents[j])
	x.count(d, e)
	c := d.chunks[ci]
	ents[j] = e
	c.minSeg, c.maxSeg = min(c.minSeg, e.seg), max(c.maxSeg, e.seg)
	if c.enc != nil {
		c.enc = encodeEntries(c.enc[:0], ents)
	}
}

func (x *index) remove(dest string, seq uint64) {
	d := x.dests[dest]
	if d == nil {
		return
	}
	ci, ents, j, ok := d.lookup(seq)
	if !ok {
		return
	}
	x.forget(d, ents[j])
	c := d.chunks[ci]
	c.clearLive(j)
	c.nlive--
	if c.nlive == 0 {
		if ci == 0 {
			if d.cached == c {
				d.cached = nil
			}
			d.chunks = d.chunks[1:] // the common case: a queue acknowledged in order
		} else {
			d.replace(ci)
		}
	}
	if d.count == 0 {
		delete(x.dests, dest)
	}
}

func (x *index) dropDest(dest string) {
	d := x.dests[dest]
	if d == nil {
		return
	}
	d.each(func(e entry) bool {
		x.forget(d, e)
		return true
	})
	delete(x.dests, dest)
}

// after returns the entries of dest with seq > after, at most max of them
// and at most maxBytes of messages (but at least one). Readers call it
// concurrently: it leaves the destination's cache alone.
func (x *index) after(dest string, after uint64, max int, maxBytes int64) []entry {
	d := x.dests[dest]
	if d == nil {
		return nil
	}
	var out []entry
	var total int64
	var buf []entry
	for ci := d.find(after + 1); ci < len(d.chunks); ci++ {
		c := d.chunks[ci]
		buf = decode(c, buf)
		for i, e := range buf {
			if e.seq <= after || !c.isLive(i) {
				continue
			}
			if (max > 0 && len(out) >= max) || (maxBytes > 0 && len(out) > 0 && total+int64(e.n) > maxBytes) {
				return out
			}
			total += int64(e.n)
			out = append(out, e)
		}
	}
	return out
}

// state builds what Recover reports.
func (x *index) state() *store.State {
	st := &store.State{LastSeq: x.lastSeq, ProducerSeqs: x.prods.snapshot(), Mark: x.mark}
	for name, d := range x.dests {
		st.Dests = append(st.Dests, store.DestState{Dest: name, Count: d.count, Bytes: d.bytes})
	}
	sort.Slice(st.Dests, func(i, j int) bool { return st.Dests[i].Dest < st.Dests[j].Dest })
	for _, s := range x.subs {
		st.Subscriptions = append(st.Subscriptions, s)
	}
	sort.Slice(st.Subscriptions, func(i, j int) bool {
		return st.Subscriptions[i].Key() < st.Subscriptions[j].Key()
	})
	return st
}
