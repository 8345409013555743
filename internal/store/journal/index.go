package journal

import (
	"encoding/binary"
	"fmt"
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

// checkpoint is the content of a checkpoint file: the whole index as of the
// point (seg, off) in the journal; replay starts there.
type checkpoint struct {
	seg uint32
	off uint32
	idx *index
}

// Checkpoint payload versions, named by the checkpoint file's header
// record (ckptMagicV1, ckptMagicV2, ckptMagic). Version 2 appends the
// producer table, version 3 the applied mark after it.
const (
	ckptV1 = 1
	ckptV2 = 2
	ckptV3 = 3
)

// encodeCheckpoint returns the payload of a checkpoint record, in the
// current version.
func encodeCheckpoint(c checkpoint) []byte {
	x := c.idx
	b := make([]byte, 0, 80+int(x.messages)*12+x.prods.len()*32)
	b = binary.AppendUvarint(b, x.lastSeq)
	b = binary.AppendUvarint(b, uint64(c.seg))
	b = binary.AppendUvarint(b, uint64(c.off))
	b = binary.AppendUvarint(b, uint64(len(x.subs)))
	for _, s := range x.subs {
		b = appendSub(b, &s)
	}
	b = binary.AppendUvarint(b, uint64(len(x.dests)))
	for name, d := range x.dests {
		b = appendString(b, name)
		b = binary.AppendUvarint(b, uint64(d.count))
		prev := uint64(0)
		d.each(func(e entry) bool {
			b = binary.AppendUvarint(b, e.seq-prev)
			b = binary.AppendUvarint(b, uint64(e.seg))
			b = binary.AppendUvarint(b, uint64(e.off))
			b = binary.AppendUvarint(b, uint64(e.n))
			prev = e.seq
			return true
		})
	}
	b = binary.AppendUvarint(b, uint64(x.prods.len()))
	x.prods.oldestFirst(func(id string, seq int64) {
		b = appendString(b, id)
		b = binary.AppendUvarint(b, uint64(seq))
	})
	return binary.AppendUvarint(b, x.mark)
}

// decodeCheckpoint decodes a checkpoint payload of the given version into
// an index that remembers up to maxProducers producers (of a longer table,
// the most recently written ones).
func decodeCheckpoint(p []byte, version int, maxProducers int) (checkpoint, error) {
	d := &decoder{b: p}
	x := newIndex(maxProducers)
	x.lastSeq = d.uvarint("last seq")
	c := checkpoint{idx: x}
	c.seg = uint32From(d, "segment")
	c.off = uint32From(d, "offset")
	nsubs := d.uvarint("subscription count")
	for i := uint64(0); i < nsubs && d.err == nil; i++ {
		s := d.sub()
		x.subs[s.Key()] = s
	}
	ndests := d.uvarint("dest count")
	for i := uint64(0); i < ndests && d.err == nil; i++ {
		name := d.string("dest")
		n := d.uvarint("entry count")
		if n > uint64(len(p)) {
			d.fail("entry count")
		}
		var seq uint64
		for j := uint64(0); j < n && d.err == nil; j++ {
			delta := d.uvarint("seq")
			if j > 0 && delta == 0 {
				d.fail("seq order")
			}
			seq += delta
			x.add(name, entry{seq: seq, seg: uint32From(d, "segment"), off: uint32From(d, "offset"), n: uint32From(d, "length")})
		}
	}
	if version >= ckptV2 {
		decodeProducers(d, x.prods)
	}
	if version >= ckptV3 {
		x.mark = d.uvarint("mark")
	}
	if d.err == nil && d.pos != len(p) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return checkpoint{}, fmt.Errorf("checkpoint: %w", d.err)
	}
	return c, nil
}

func uint32From(d *decoder, what string) uint32 {
	v := d.uvarint(what)
	if v > 1<<32-1 {
		d.fail(what)
	}
	return uint32(v)
}

// decodeProducers reads the producer table of a checkpoint, least recently
// written first.
func decodeProducers(d *decoder, p *producers) {
	n := d.uvarint("producer count")
	if n > uint64(len(d.b)) {
		d.fail("producer count")
	}
	seen := make(map[string]bool, min(n, 1<<16))
	for i := uint64(0); i < n && d.err == nil; i++ {
		id := d.string("producer id")
		seq := d.uvarint("producer seq")
		if d.err != nil {
			break
		}
		if id == "" || seq == 0 || seq > math.MaxInt64 {
			d.fail("producer seq")
		}
		if seen[id] {
			d.fail("duplicate producer")
		}
		seen[id] = true
		p.note(id, int64(seq))
	}
}
