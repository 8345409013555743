package journal

import (
	"math"
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

	spill   *spill // where sealed chunks go past its budget; nil: they stay in memory
	kept    int64  // bytes of sealed chunks' encodings kept in memory
	err     error  // the index could not be read back (broke); not to be trusted
	scratch []byte // the writer's encoding buffer
	raw     []byte // the writer's buffer for reading chunks back
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
	x.reclaim()
}

func (x *index) add(dest string, e entry) {
	d := x.dests[dest]
	if d == nil {
		d = &destIndex{}
		x.dests[dest] = d
	}
	if n := len(d.chunks); n == 0 || d.chunks[n-1].last < e.seq { // in order: the common case
		x.count(d, e)
		x.push(d, e)
		return
	}
	// Out of order (rare): rewrite the chunk with e in it.
	ci := d.find(e.seq)
	c := d.chunks[ci]
	ents, ok := x.entries(d, c)
	if !ok {
		return
	}
	x.count(d, e)
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
	x.rebuild(d, ci, live)
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
	ci, ents, j, ok := x.lookup(d, e.seq)
	if !ok || ents[j].n != e.n {
		return
	}
	x.forget(d, ents[j])
	x.count(d, e)
	c := d.chunks[ci]
	ents[j] = e
	c.minSeg, c.maxSeg = min(c.minSeg, e.seg), max(c.maxSeg, e.seg)
	if c.sealed() { // a new version of the encoding
		x.unseal(d, c)
		x.seal(c, ents)
		d.cached, d.cache = c, ents
	}
}

func (x *index) remove(dest string, seq uint64) {
	d := x.dests[dest]
	if d == nil {
		return
	}
	ci, ents, j, ok := x.lookup(d, seq)
	if !ok {
		return
	}
	x.forget(d, ents[j])
	c := d.chunks[ci]
	c.clearLive(j)
	c.nlive--
	if c.nlive == 0 {
		x.unseal(d, c)
		d.drop(ci)
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
	if err := x.each(d, 0, math.MaxUint32, func(e entry) bool {
		x.forget(d, e)
		return true
	}); err != nil {
		x.broke(err)
		return
	}
	for _, c := range d.chunks {
		x.unseal(d, c)
	}
	delete(x.dests, dest)
}

// after returns the entries of dest with seq > after, at most max of them
// and at most maxBytes of messages (but at least one). Readers call it
// concurrently: it leaves the destination's cache alone.
func (x *index) after(dest string, after uint64, max int, maxBytes int64) ([]entry, error) {
	d := x.dests[dest]
	if d == nil {
		return nil, nil
	}
	var out []entry
	if max > 0 {
		out = make([]entry, 0, min(max, d.count))
	}
	var total int64
	buf := make([]entry, 0, chunkCap)
	var raw []byte
	for ci := d.find(after + 1); ci < len(d.chunks); ci++ {
		c := d.chunks[ci]
		var err error
		if buf, err = x.read(d, c, buf, &raw); err != nil {
			return nil, err
		}
		for i, e := range buf {
			if e.seq <= after || !c.isLive(i) {
				continue
			}
			if (max > 0 && len(out) >= max) || (maxBytes > 0 && len(out) > 0 && total+int64(e.n) > maxBytes) {
				return out, nil
			}
			total += int64(e.n)
			out = append(out, e)
		}
	}
	return out, nil
}

// reclaim copies the live chunks of the spill file with the fewest live
// bytes into the current one, when over half of the spill is dead.
func (x *index) reclaim() {
	if x.spill == nil || x.err != nil {
		return
	}
	victim := x.spill.victim()
	if victim == 0 {
		return
	}
	for _, d := range x.dests {
		for _, c := range d.chunks {
			if c.file != victim {
				continue
			}
			enc, err := x.spill.get(c, &x.raw)
			if err != nil {
				x.broke(err)
				return
			}
			old := *c
			if err := x.spill.put(c, enc); err != nil {
				x.keepEnc(c, enc) // kept in memory
				c.file = 0
			}
			x.spill.drop(&old)
		}
	}
}

// spillAll spills sealed chunks kept in memory past the spill's budget
// (an index loaded before it had a spill).
func (x *index) spillAll() {
	if x.spill == nil {
		return
	}
	for _, d := range x.dests {
		for _, c := range d.chunks {
			if x.kept <= x.spill.keep {
				return
			}
			if c.enc != nil && x.spill.put(c, c.enc) == nil {
				x.kept -= int64(len(c.enc))
				c.enc = nil
			}
		}
	}
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
