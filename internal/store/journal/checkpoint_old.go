package journal

import (
	"fmt"
	"math"
)

// checkpoint is the content of a checkpoint file: the whole index as of the
// point (seg, off) in the journal; replay starts there.
type checkpoint struct {
	seg uint32
	off uint32
	idx *index
}

// Checkpoint versions, named by the checkpoint file's header record
// (ckptMagicV1, ckptMagicV2, ckptMagicV3, ckptMagic). Versions 1 to 3 are
// one record whose payload is the whole index (decodeCheckpoint): version
// 2 appends the producer table, version 3 the applied mark after it.
// Version 4 is a sequence of pieces (checkpoint.go).
const (
	ckptV1 = 1
	ckptV2 = 2
	ckptV3 = 3
	ckptV4 = 4
)

// decodeCheckpoint decodes a checkpoint payload of version 1 to 3 into
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

// decodeProducers reads the producer table of a version 2 or 3
// checkpoint, least recently written first.
func decodeProducers(d *decoder, p *producers) {
	n := d.uvarint("producer count")
	if n > uint64(len(d.b)) {
		d.fail("producer count")
	}
	seen := make(map[string]bool, min(n, 1<<16))
	for i := uint64(0); i < n && d.err == nil; i++ {
		readProducer(d, p, seen)
	}
}

// readProducer reads one producer's id and high-water mark into p; seen
// holds the ids read before.
func readProducer(d *decoder, p *producers, seen map[string]bool) {
	id := d.string("producer id")
	seq := d.uvarint("producer seq")
	if d.err != nil {
		return
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
