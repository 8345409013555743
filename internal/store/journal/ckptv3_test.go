package journal

import (
	"encoding/binary"
	"math"
)

// encodeCheckpoint returns the payload of a version 3 checkpoint record,
// as binaries before version 4 wrote it: tests make old checkpoints with it.
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
		err := x.each(d, 0, math.MaxUint32, func(e entry) bool {
			b = binary.AppendUvarint(b, e.seq-prev)
			b = binary.AppendUvarint(b, uint64(e.seg))
			b = binary.AppendUvarint(b, uint64(e.off))
			b = binary.AppendUvarint(b, uint64(e.n))
			prev = e.seq
			return true
		})
		if err != nil {
			panic(err)
		}
	}
	b = binary.AppendUvarint(b, uint64(x.prods.len()))
	x.prods.oldestFirst(func(id string, seq int64) {
		b = appendString(b, id)
		b = binary.AppendUvarint(b, uint64(seq))
	})
	return binary.AppendUvarint(b, x.mark)
}
