package journal

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// chunkCap is the number of entries in a full chunk. 128 keeps a sealed
// chunk's fixed cost (its struct and pointer, under 100 bytes) under one
// byte per entry, and decoding one (to remove or look up an entry) at
// about a microsecond (BenchmarkIndexOps, docs/journal.md).
const chunkCap = 128

// chunk holds up to chunkCap consecutive entries (by seq) of one
// destination. The last chunk of a destination is open: its entries are
// kept as they are (destIndex.open) until it is full. A full one is
// sealed: its entries are delta-encoded (encodeEntries), in enc, or in the
// index spill (spill.go) at (file, off). Removing an entry clears its bit
// in live; the entry stays encoded until the chunk is rewritten (an
// out-of-order add) or every entry is dead (the chunk is dropped).
type chunk struct {
	first, last    uint64                // seqs of the first and last entry, live or not
	live           [chunkCap / 64]uint64 // bit i: entry i is live
	minSeg, maxSeg uint32                // the segments the entries are in
	n              uint16                // entries, live or not
	nlive          uint16
	size           uint16 // spilled: the encoding's length
	file           uint32 // spilled: the spill file holding the encoding; 0 if none
	off            uint32 // spilled: where in the file
	enc            []byte // sealed and not spilled: the encoding
}

func (c *chunk) isLive(i int) bool { return c.live[i/64]&(1<<(i%64)) != 0 }
func (c *chunk) setLive(i int)     { c.live[i/64] |= 1 << (i % 64) }
func (c *chunk) clearLive(i int)   { c.live[i/64] &^= 1 << (i % 64) }
func (c *chunk) sealed() bool      { return c.enc != nil || c.file != 0 }

// note counts e, appended as the chunk's last entry.
func (c *chunk) note(e entry) {
	if c.n == 0 {
		c.first, c.minSeg, c.maxSeg = e.seq, e.seg, e.seg
	}
	c.setLive(int(c.n))
	c.n++
	c.nlive++
	c.last = e.seq
	c.minSeg, c.maxSeg = min(c.minSeg, e.seg), max(c.maxSeg, e.seg)
}

// Entry encoding, per entry, relative to the one before it in the chunk
// (for the first: to seq first, segment 0, offset 0, length 0, gap 0):
//
//	seq delta  uvarint, > 0 (absent for the first entry: its seq is first)
//	tag        uvarint: zigzag(gap - previous gap) << 1 in the same segment,
//	           where gap = offset - (previous offset + 4 + previous length),
//	           the bytes of record framing between two messages; 1 when the
//	           segment changes, followed by zigzag(segment delta) and the
//	           offset (uvarint)
//	length     uvarint: zigzag(length - previous length)
//
// One producer appending to one queue repeats the gap and nearly the
// length, so an entry takes about 3 bytes; another queue's messages in
// between make the gap change, 2 bytes more.

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// encodeEntries appends the encoding of ents (sorted by seq) to dst.
func encodeEntries(dst []byte, ents []entry) []byte {
	var prev entry
	var gap int64
	for i, e := range ents {
		if i > 0 {
			dst = binary.AppendUvarint(dst, e.seq-prev.seq)
		}
		end := int64(prev.off) + 4 + int64(prev.n)
		if i > 0 && e.seg == prev.seg {
			g := int64(e.off) - end
			dst = binary.AppendUvarint(dst, zigzag(g-gap)<<1)
			gap = g
		} else {
			dst = append(dst, 1)
			dst = binary.AppendUvarint(dst, zigzag(int64(e.seg)-int64(prev.seg)))
			dst = binary.AppendUvarint(dst, uint64(e.off))
			gap = 0
		}
		dst = binary.AppendUvarint(dst, zigzag(int64(e.n)-int64(prev.n)))
		prev = e
	}
	return dst
}

// decodeEntries appends to dst the n entries encoded in b, the first of
// which has seq first. It checks everything a damaged or crafted encoding
// could get wrong: every field in range, seqs rising, no bytes left over.
func decodeEntries(dst []entry, b []byte, first uint64, n int) ([]entry, error) {
	var prev entry
	var gap int64
	r := decoder{b: b}
	if n <= len(b) { // each entry takes at least a byte
		dst = slices.Grow(dst, n)
	}
	for i := 0; i < n; i++ {
		e := entry{seq: first}
		if i > 0 {
			d := r.uvarint("seq delta")
			e.seq = prev.seq + d
			if d == 0 || e.seq < prev.seq {
				return dst, fmt.Errorf("%w: chunk: seq order at %d", errCorrupt, r.pos)
			}
		}
		var seg, off int64
		switch tag := r.uvarint("tag"); {
		case tag == 1:
			d := r.uvarint("segment")
			seg, off, gap = int64(prev.seg)+unzigzag(d), int64(r.uvarint("offset")), 0
		case tag&1 == 0 && i > 0:
			gap += unzigzag(tag >> 1)
			seg, off = int64(prev.seg), int64(prev.off)+4+int64(prev.n)+gap
		default:
			return dst, fmt.Errorf("%w: chunk: bad tag at %d", errCorrupt, r.pos)
		}
		length := int64(prev.n) + unzigzag(r.uvarint("length"))
		if r.err != nil || seg < 0 || seg > math.MaxUint32 || off < 0 || off > math.MaxUint32 || length < 0 || length > math.MaxUint32 {
			r.fail("entry")
			return dst, fmt.Errorf("chunk entry %d: %w", i, r.err)
		}
		e.seg, e.off, e.n = uint32(seg), uint32(off), uint32(length)
		dst = append(dst, e)
		prev = e
	}
	if r.pos != len(b) {
		return dst, fmt.Errorf("%w: chunk: %d trailing bytes", errCorrupt, len(b)-r.pos)
	}
	return dst, nil
}
