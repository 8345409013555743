package journal

import (
	"bytes"
	"sort"
)

// destIndex is one destination's live messages, sorted by seq, in chunks
// (chunk.go): sealed ones, then at most one open one at the end, whose
// entries are in open.
type destIndex struct {
	chunks []*chunk
	open   []entry
	count  int
	bytes  int64
	// The entries of the sealed chunk decoded last (cached), so that
	// removals in order decode (and read back) each chunk once. Only the
	// writer uses it.
	cached *chunk
	cache  []entry
}

// find returns the position of the chunk that would hold seq: the first
// whose last seq is >= seq (len(d.chunks) if none).
func (d *destIndex) find(seq uint64) int {
	return sort.Search(len(d.chunks), func(i int) bool { return d.chunks[i].last >= seq })
}

// read returns the entries of chunk c of d, live or not: the open ones,
// or a sealed chunk's decoded into buf (its encoding read back into *raw
// if spilled). Readers may call it concurrently.
func (x *index) read(d *destIndex, c *chunk, buf []entry, raw *[]byte) ([]entry, error) {
	if !c.sealed() {
		return d.open, nil
	}
	enc := c.enc
	if enc == nil {
		var err error
		if enc, err = x.spill.get(c, raw); err != nil {
			return nil, err
		}
	}
	return decodeEntries(buf[:0], enc, c.first, int(c.n))
}

// entries is read through d's cache, for the writer. A failure to read the
// spill back breaks the index (x.err).
func (x *index) entries(d *destIndex, c *chunk) ([]entry, bool) {
	if !c.sealed() {
		return d.open, true
	}
	if d.cached != c {
		d.cached = nil
		ents, err := x.read(d, c, d.cache, &x.raw)
		if err != nil {
			x.broke(err)
			return nil, false
		}
		d.cached, d.cache = c, ents
	}
	return d.cache, true
}

// broke records the first failure to read the index back: from now on
// the index is not trusted (Store.checkIndex).
func (x *index) broke(err error) {
	if x.err == nil {
		x.err = err
	}
}

// lookup returns the chunk position, entries and entry position of the
// live entry seq, or ok false.
func (x *index) lookup(d *destIndex, seq uint64) (ci int, ents []entry, j int, ok bool) {
	ci = d.find(seq)
	if ci == len(d.chunks) || d.chunks[ci].first > seq {
		return 0, nil, 0, false
	}
	c := d.chunks[ci]
	if ents, ok = x.entries(d, c); !ok {
		return 0, nil, 0, false
	}
	j = sort.Search(len(ents), func(k int) bool { return ents[k].seq >= seq })
	if j == len(ents) || ents[j].seq != seq || !c.isLive(j) {
		return 0, nil, 0, false
	}
	return ci, ents, j, true
}

// each calls fn for every live entry of d in order, in the chunks whose
// segments overlap [lo, hi], until fn returns false.
func (x *index) each(d *destIndex, lo, hi uint32, fn func(e entry) bool) error {
	var buf []entry
	var raw []byte
	for _, c := range d.chunks {
		if c.maxSeg < lo || c.minSeg > hi {
			continue
		}
		var err error
		if buf, err = x.read(d, c, buf, &raw); err != nil {
			return err
		}
		for i, e := range buf {
			if c.isLive(i) && !fn(e) {
				return nil
			}
		}
	}
	return nil
}

// encoding returns the encoding of chunk c of d, read back or made in
// *raw if need be.
func (x *index) encoding(d *destIndex, c *chunk, raw *[]byte) ([]byte, error) {
	switch {
	case c.enc != nil:
		return c.enc, nil
	case c.sealed():
		return x.spill.get(c, raw)
	default:
		*raw = encodeEntries((*raw)[:0], d.open)
		return *raw, nil
	}
}

// seal encodes ents, the entries of chunk c, into memory while the
// encodings kept there are within the spill's budget (spill.keep), and
// into the spill past it; without a spill (or after it failed), into
// memory.
func (x *index) seal(c *chunk, ents []entry) {
	x.scratch = encodeEntries(x.scratch[:0], ents)
	if x.spill != nil && x.kept+int64(len(x.scratch)) > x.spill.keep && x.spill.put(c, x.scratch) == nil {
		return
	}
	x.keepEnc(c, x.scratch)
}

// keepEnc keeps a copy of enc in memory as chunk c's encoding.
func (x *index) keepEnc(c *chunk, enc []byte) {
	c.enc = bytes.Clone(enc)
	x.kept += int64(len(c.enc))
}

// unseal forgets where chunk c's encoding is (c is dropped or rewritten).
func (x *index) unseal(d *destIndex, c *chunk) {
	if d.cached == c {
		d.cached = nil
	}
	if c.file != 0 {
		x.spill.drop(c)
	}
	x.kept -= int64(len(c.enc))
	c.enc = nil
}

// push appends e, above every seq of d, to d's open chunk, sealing the
// last chunk first if it is full.
func (x *index) push(d *destIndex, e entry) {
	n := len(d.chunks)
	if n == 0 || d.chunks[n-1].sealed() || d.chunks[n-1].n == chunkCap {
		if n > 0 && !d.chunks[n-1].sealed() {
			x.seal(d.chunks[n-1], d.open)
		}
		d.chunks = append(d.chunks, &chunk{})
		d.open = d.open[:0]
	}
	d.open = append(d.open, e)
	d.chunks[len(d.chunks)-1].note(e)
}

// rebuild puts chunks made of ents (sorted by seq, all live) in place of
// the chunk at position ci, which is unsealed. The last of them is left
// open if the chunk was the open one.
func (x *index) rebuild(d *destIndex, ci int, ents []entry) {
	old := d.chunks[ci]
	open := !old.sealed()
	x.unseal(d, old)
	var cs []*chunk
	for len(ents) > 0 {
		k := min(len(ents), chunkCap)
		c := &chunk{}
		for _, e := range ents[:k] {
			c.note(e)
		}
		if open && k == len(ents) {
			d.open = append(d.open[:0], ents...)
		} else {
			x.seal(c, ents[:k])
		}
		ents = ents[k:]
		cs = append(cs, c)
	}
	d.drop(ci, cs...)
}

// drop puts the chunks cs in place of the chunk at position ci.
func (d *destIndex) drop(ci int, cs ...*chunk) {
	if ci == 0 && len(cs) == 0 {
		d.chunks = d.chunks[1:] // the common case: a queue acknowledged in order
		return
	}
	d.chunks = append(d.chunks[:ci], append(cs, d.chunks[ci+1:]...)...)
}
