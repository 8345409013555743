package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A checkpoint of version 4 is a header record ("pier-checkpoint-v4") and
// a sequence of pieces, each a record of type recCheckpoint of at most
// about ckptPieceBytes, so that neither writing nor loading one holds the
// whole index encoded in memory. A piece's payload is its kind, its number
// (uvarint, from 0: a piece missing or out of place is detected) and its
// items:
//
//	head       last seq, segment, offset, mark (uvarints); the first piece
//	subs       subscriptions
//	dest       destination name, its live entry count; the chunks pieces
//	           after it, up to the next dest piece, are its entries
//	chunks     chunks: first seq, entry count n (1..maxCkptChunk), the live
//	           bitmap ((n+7)/8 bytes, bit i of byte i/8), encoding length
//	           and the entries as a chunk encodes them (chunk.go); only the
//	           live ones count, and their seqs rise across the destination
//	producers  id (uvarint length + bytes), high-water mark (uvarint, > 0),
//	           least recently written first
//	end        message count, destination count, subscription count,
//	           producer count, pieces before it; the last record of the file
//
// Each piece is checked by its record CRC as it is read, and the index
// built from them is used only once the end piece has been read, its
// counts agree and nothing follows it: a torn or damaged file is refused
// as a whole, as before.
const (
	pieceHead byte = iota + 1
	pieceSubs
	pieceDest
	pieceChunks
	pieceProducers
	pieceEnd
)

const (
	// ckptPieceBytes is the size at which a piece is ended (a piece holds
	// at least one item, so it may be longer by one item).
	ckptPieceBytes = 64 << 10
	// maxCkptChunk bounds the entry count of one chunk in a checkpoint.
	maxCkptChunk = 4096
)

// pieceWriter frames the pieces of a checkpoint into w.
type pieceWriter struct {
	w      io.Writer
	p      []byte // the piece being filled, record header first; empty when none
	kind   byte
	pieces uint64
	n      int64 // bytes written
	err    error
}

// open makes sure a piece of kind is being filled, ending the current one
// if it is of another kind or full.
func (pw *pieceWriter) open(kind byte) {
	if len(pw.p) > 0 && (pw.kind != kind || len(pw.p) >= ckptPieceBytes) {
		pw.flush()
	}
	if len(pw.p) == 0 {
		pw.kind = kind
		pw.p = append(pw.p[:0], make([]byte, headerSize)...)
		pw.p = append(pw.p, kind)
		pw.p = binary.AppendUvarint(pw.p, pw.pieces)
	}
}

// flush writes the piece being filled, if any.
func (pw *pieceWriter) flush() {
	if len(pw.p) == 0 {
		return
	}
	pw.p[8] = recCheckpoint
	sealRecord(pw.p)
	pw.write(pw.p)
	pw.pieces++
	pw.p = pw.p[:0]
}

func (pw *pieceWriter) write(b []byte) {
	if pw.err != nil {
		return
	}
	n, err := pw.w.Write(b)
	pw.n += int64(n)
	pw.err = err
}

// writeCheckpoint writes c as a checkpoint file of the current version to
// w and returns its size.
func writeCheckpoint(w io.Writer, c checkpoint) (int64, error) {
	x := c.idx
	pw := &pieceWriter{w: w, p: make([]byte, 0, ckptPieceBytes+4<<10)}
	pw.write(appendRecord(nil, recCkptHeader, []byte(ckptMagic)))
	pw.open(pieceHead)
	for _, v := range []uint64{x.lastSeq, uint64(c.seg), uint64(c.off), x.mark} {
		pw.p = binary.AppendUvarint(pw.p, v)
	}
	pw.flush()
	for _, s := range x.subs {
		pw.open(pieceSubs)
		pw.p = appendSub(pw.p, &s)
	}
	var raw []byte
	for name, d := range x.dests {
		pw.open(pieceDest)
		pw.p = appendString(pw.p, name)
		pw.p = binary.AppendUvarint(pw.p, uint64(d.count))
		pw.flush()
		for _, ch := range d.chunks {
			enc, err := x.encoding(d, ch, &raw)
			if err != nil {
				return pw.n, err
			}
			pw.open(pieceChunks)
			pw.p = appendCkptChunk(pw.p, ch, enc)
		}
	}
	x.prods.oldestFirst(func(id string, seq int64) {
		pw.open(pieceProducers)
		pw.p = appendString(pw.p, id)
		pw.p = binary.AppendUvarint(pw.p, uint64(seq))
	})
	pieces := pw.pieces
	if len(pw.p) > 0 {
		pieces++
	}
	pw.open(pieceEnd)
	for _, v := range []uint64{uint64(x.messages), uint64(len(x.dests)), uint64(len(x.subs)), uint64(x.prods.len()), pieces} {
		pw.p = binary.AppendUvarint(pw.p, v)
	}
	pw.flush()
	return pw.n, pw.err
}

// appendCkptChunk appends chunk c, whose encoding is enc, as a
// checkpoint holds it.
func appendCkptChunk(dst []byte, c *chunk, enc []byte) []byte {
	dst = binary.AppendUvarint(dst, c.first)
	dst = binary.AppendUvarint(dst, uint64(c.n))
	for i := 0; i < int(c.n); i += 8 {
		dst = append(dst, byte(c.live[i/64]>>(i%64)))
	}
	dst = binary.AppendUvarint(dst, uint64(len(enc)))
	return append(dst, enc...)
}

// recordReader reads framed records one at a time.
type recordReader struct {
	r   *bufio.Reader
	max int // the largest payload accepted
	buf []byte
}

// next returns the next record's type and payload (valid until the next
// call), or io.EOF at a clean end.
func (rr *recordReader) next() (byte, []byte, error) {
	h, err := rr.r.Peek(headerSize)
	if len(h) == 0 && err == io.EOF {
		return 0, nil, io.EOF
	}
	if errors.Is(err, io.EOF) {
		return 0, nil, errTorn
	}
	if err != nil {
		return 0, nil, err
	}
	length := binary.LittleEndian.Uint32(h)
	if int64(length) > int64(rr.max) {
		return 0, nil, fmt.Errorf("%w: record length %d", errCorrupt, length)
	}
	n := headerSize + int(length)
	if cap(rr.buf) < n {
		rr.buf = make([]byte, n)
	}
	rr.buf = rr.buf[:n]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, errTorn
		}
		return 0, nil, err
	}
	typ, p, _, err := parseRecord(rr.buf, rr.max)
	return typ, p, err
}

// ckptReader builds an index from the pieces of a version 4 checkpoint.
type ckptReader struct {
	c       checkpoint
	pieces  uint64
	dest    string // the destination the chunks belong to
	want    uint64 // its entry count, as its dest piece says
	have    uint64
	lastSeq uint64 // of its last live entry
	dests   map[string]bool
	seen    map[string]bool // producers
	ents    []entry
}

func newCkptReader(maxProducers int, sp *spill) *ckptReader {
	x := newIndex(maxProducers)
	x.spill = sp
	return &ckptReader{c: checkpoint{idx: x}, dests: map[string]bool{}, seen: map[string]bool{}}
}

// readCheckpoint reads the pieces of a version 4 checkpoint (after its
// header) into an index that remembers up to maxProducers producers and
// spills its chunks to sp (if not nil).
func readCheckpoint(rr *recordReader, maxProducers int, sp *spill) (checkpoint, error) {
	cr := newCkptReader(maxProducers, sp)
	for {
		typ, p, err := rr.next()
		if err == io.EOF {
			return checkpoint{}, fmt.Errorf("%w: checkpoint ends before its end piece", errCorrupt)
		}
		if err == nil && typ != recCheckpoint {
			err = fmt.Errorf("%w: record type %d", errCorrupt, typ)
		}
		if err != nil {
			return checkpoint{}, err
		}
		end, err := cr.piece(p)
		if err != nil {
			return checkpoint{}, fmt.Errorf("checkpoint piece %d: %w", cr.pieces, err)
		}
		cr.pieces++
		if end {
			if _, _, err := rr.next(); err != io.EOF {
				return checkpoint{}, fmt.Errorf("%w: data after the checkpoint's end piece", errCorrupt)
			}
			return cr.c, nil
		}
	}
}

// piece applies one piece; end reports the end piece.
func (cr *ckptReader) piece(p []byte) (end bool, err error) {
	d := &decoder{b: p}
	x := cr.c.idx
	kind := d.byte("piece kind")
	if d.uvarint("piece number") != cr.pieces || (cr.pieces == 0) != (kind == pieceHead) {
		d.fail("piece order")
	}
	switch kind {
	case pieceHead:
		x.lastSeq = d.uvarint("last seq")
		cr.c.seg = uint32From(d, "segment")
		cr.c.off = uint32From(d, "offset")
		x.mark = d.uvarint("mark")
	case pieceSubs:
		for d.err == nil && d.pos < len(p) {
			s := d.sub()
			x.subs[s.Key()] = s
		}
	case pieceDest:
		cr.endDest(d)
		cr.dest = d.string("dest")
		cr.want, cr.have, cr.lastSeq = d.uvarint("entry count"), 0, 0
		if d.err == nil && cr.dests[cr.dest] {
			d.fail("repeated dest")
		}
		cr.dests[cr.dest] = true
	case pieceChunks:
		if len(cr.dests) == 0 {
			d.fail("chunk before any dest")
		}
		for d.err == nil && d.pos < len(p) {
			cr.chunk(d)
		}
	case pieceProducers:
		for d.err == nil && d.pos < len(p) {
			readProducer(d, x.prods, cr.seen)
		}
	case pieceEnd:
		cr.endDest(d)
		counts := []uint64{uint64(x.messages), uint64(len(x.dests)), uint64(len(x.subs)), uint64(len(cr.seen)), cr.pieces}
		for _, want := range counts {
			if d.uvarint("end counts") != want {
				d.fail("end counts")
			}
		}
		end = true
	default:
		d.fail("piece kind")
	}
	if d.err == nil && d.pos != len(p) {
		d.fail("trailing bytes")
	}
	return end, d.err
}

// endDest checks that the destination read last had the entries its dest
// piece announced.
func (cr *ckptReader) endDest(d *decoder) {
	if cr.have != cr.want {
		d.fail("dest entry count")
	}
}

// chunk reads one chunk of the current destination and adds its live
// entries to the index.
func (cr *ckptReader) chunk(d *decoder) {
	first := d.uvarint("chunk first seq")
	n := d.uvarint("chunk entry count")
	if d.err == nil && (n == 0 || n > maxCkptChunk) {
		d.fail("chunk entry count")
	}
	live := d.bytes((n+7)/8, "chunk bitmap")
	enc := d.bytes(d.uvarint("chunk length"), "chunk")
	if d.err != nil {
		return
	}
	if n%8 != 0 && live[len(live)-1]>>(n%8) != 0 {
		d.fail("chunk bitmap")
		return
	}
	var err error
	cr.ents, err = decodeEntries(cr.ents[:0], enc, first, int(n))
	if err != nil {
		d.fail("chunk entries")
		return
	}
	for i, e := range cr.ents {
		if live[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		if cr.have > 0 && e.seq <= cr.lastSeq {
			d.fail("seq order")
			return
		}
		cr.c.idx.add(cr.dest, e)
		cr.have++
		cr.lastSeq = e.seq
	}
}
