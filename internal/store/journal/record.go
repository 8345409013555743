package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/frame"
)

// Record framing: internal/store/frame (length, CRC-32C, type, payload).
const headerSize = frame.HeaderSize

// Record types.
const (
	recSegment    byte = 1 // first record of a segment file: magic, segment id
	recBatch      byte = 2 // one store.Batch, applied atomically
	recCheckpoint byte = 3 // the only record after the header of a checkpoint file
	recCkptHeader byte = 4 // first record of a checkpoint file
)

const (
	segMagic    = "pier-journal-v1"
	ckptMagic   = "pier-checkpoint-v4" // written; pieces (checkpoint.go)
	ckptMagicV3 = "pier-checkpoint-v3" // still read; one record, ending with the applied mark
	ckptMagicV2 = "pier-checkpoint-v2" // still read; no mark
	ckptMagicV1 = "pier-checkpoint-v1" // still read; no mark, no producer table
)

var castagnoli = frame.Castagnoli

// Reasons a record cannot be read; both end the valid part of a segment.
var (
	errTorn    = frame.ErrTorn
	errCorrupt = frame.ErrCorrupt
)

// appendRecord appends a framed record with the given payload to dst.
func appendRecord(dst []byte, typ byte, payload []byte) []byte {
	return frame.Append(dst, typ, payload)
}

// sealRecord fills in the length and CRC of the framed record rec.
func sealRecord(rec []byte) { frame.Seal(rec) }

// parseRecord reads the record at the start of b. It returns the type, the
// payload (aliasing b) and the record's total length.
func parseRecord(b []byte, maxPayload int) (typ byte, payload []byte, n int, err error) {
	return frame.Parse(b, recCkptHeader, int64(maxPayload))
}

// opMove is the journal's own op: a copy of a live message made by
// compaction, encoded like an add. It re-points the message's entry if the
// message is still there, and is ignored otherwise.
const opMove store.OpKind = 0x80

// opMark is the journal's own op that carries store.Batch.Mark: a uvarint,
// never 0, and only ever the last op of a batch record.
const opMark store.OpKind = 0x81

// op is a decoded batch operation, without the message itself: for an add,
// off is the offset within the payload of the message's CRC, followed by
// its n encoded bytes.
type op struct {
	kind store.OpKind
	dest string
	seq  uint64 // for opMark, the mark
	off  uint32
	n    uint32
	sub  store.Subscription
	// prod and pseq are the producer id and sequence of an add's message
	// (taken from the message on Apply, read from its encoding on replay).
	prod string
	pseq int64
}

// encodeBatch encodes b as a framed batch record. It returns the record,
// its decoded ops (offsets relative to the payload) and the encoded size of
// the messages it adds. A non-zero b.Mark becomes a last opMark op.
func encodeBatch(b *store.Batch, maxPayload int) (rec []byte, ops []op, addBytes int64, err error) {
	nops := len(b.Ops)
	if b.Mark != 0 {
		nops++
	}
	// Allocated once at the batch's size (at most what maxPayload allows):
	// growing it message by message was 4% of a group follower's CPU.
	rec = make([]byte, headerSize, headerSize+min(16+b.SizeHint(), maxPayload+1))
	rec = binary.AppendUvarint(rec, uint64(nops))
	ops = make([]op, 0, nops)
	var scratch []byte
	for i := range b.Ops {
		o := &b.Ops[i]
		rec = append(rec, byte(o.Kind))
		d := op{kind: o.Kind, dest: o.Dest, seq: o.Seq}
		switch o.Kind {
		case store.OpAdd:
			enc := o.Raw
			switch {
			case enc != nil:
				id, seq, ok := message.PeekProducer(enc)
				if !ok {
					return nil, nil, 0, fmt.Errorf("journal: op %d: not an encoded message", i)
				}
				d.prod, d.pseq = string(id), seq
			case o.Msg == nil:
				return nil, nil, 0, fmt.Errorf("journal: op %d: add without a message", i)
			default:
				if scratch, err = message.Marshal(scratch[:0], o.Msg); err != nil {
					return nil, nil, 0, fmt.Errorf("journal: op %d: %w", i, err)
				}
				enc = scratch
				d.prod, d.pseq = o.Msg.ProducerID, o.Msg.ProducerSeq
			}
			rec = appendString(rec, o.Dest)
			rec = binary.AppendUvarint(rec, o.Seq)
			rec = binary.AppendUvarint(rec, uint64(len(enc)))
			d.off, d.n = uint32(len(rec)-headerSize), uint32(len(enc))
			rec = binary.LittleEndian.AppendUint32(rec, crc32.Checksum(enc, castagnoli))
			rec = append(rec, enc...)
			addBytes += int64(len(enc))
		case store.OpRemove:
			rec = appendString(rec, o.Dest)
			rec = binary.AppendUvarint(rec, o.Seq)
		case store.OpPutSub, store.OpDeleteSub:
			if o.Sub == nil {
				return nil, nil, 0, fmt.Errorf("journal: op %d: subscription op without a subscription", i)
			}
			rec = appendSub(rec, o.Sub)
			d.sub = *o.Sub
		default:
			return nil, nil, 0, fmt.Errorf("journal: op %d: unknown kind %d", i, o.Kind)
		}
		if len(rec)-headerSize > maxPayload {
			return nil, nil, 0, fmt.Errorf("journal: batch larger than %d bytes: %w", maxPayload, ErrTooLarge)
		}
		ops = append(ops, d)
	}
	if b.Mark != 0 {
		rec = append(rec, byte(opMark))
		rec = binary.AppendUvarint(rec, b.Mark)
		if len(rec)-headerSize > maxPayload {
			return nil, nil, 0, fmt.Errorf("journal: batch larger than %d bytes: %w", maxPayload, ErrTooLarge)
		}
		ops = append(ops, op{kind: opMark, seq: b.Mark})
	}
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(rec)-headerSize))
	rec[8] = recBatch
	sealRecord(rec)
	return rec, ops, addBytes, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendSub(dst []byte, s *store.Subscription) []byte {
	dst = appendString(dst, s.ClientID)
	dst = appendString(dst, s.Name)
	dst = appendString(dst, s.Topic)
	dst = appendString(dst, s.Selector)
	flags := byte(0)
	if s.NoLocal {
		flags |= subNoLocal
	}
	if s.Remote != "" {
		flags |= subNetwork
	}
	dst = append(dst, flags)
	dst = appendString(dst, s.Dest)
	if s.Remote != "" {
		dst = appendString(dst, s.Remote)
		dst = binary.AppendUvarint(dst, uint64(max(s.TTL, 0)))
	}
	return dst
}

// Flags of a stored subscription. subNetwork (a network bridge's
// subscription) is followed, after the destination, by the remote broker's
// id and the TTL; journals without it read the same.
const (
	subNoLocal = 1 << 0
	subNetwork = 1 << 1
)

// decoder reads the fields of a payload; the first failure sticks.
type decoder struct {
	b   []byte
	pos int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s at payload offset %d", errCorrupt, what, d.pos)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil || n > uint64(len(d.b)-d.pos) {
		d.fail(what)
		return nil
	}
	b := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b
}

func (d *decoder) string(what string) string { return string(d.bytes(d.uvarint(what), what)) }

func (d *decoder) byte(what string) byte {
	b := d.bytes(1, what)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) sub() store.Subscription {
	var s store.Subscription
	s.ClientID = d.string("client id")
	s.Name = d.string("subscription name")
	s.Topic = d.string("topic")
	s.Selector = d.string("selector")
	flags := d.byte("subscription flags")
	if flags&^(subNoLocal|subNetwork) != 0 {
		d.fail("subscription flags")
	}
	s.NoLocal = flags&subNoLocal != 0
	s.Dest = d.string("subscription dest")
	if flags&subNetwork != 0 {
		s.Remote = d.string("subscription remote")
		ttl := d.uvarint("subscription ttl")
		if ttl > math.MaxInt32 || s.Remote == "" {
			d.fail("subscription network fields")
		}
		s.TTL = int(ttl)
	}
	return s
}

// decodeBatch decodes the payload of a batch record. Messages are not
// decoded, but their CRC is checked.
func decodeBatch(payload []byte) ([]op, error) {
	d := &decoder{b: payload}
	count := d.uvarint("op count")
	if count > uint64(len(payload)) {
		return nil, fmt.Errorf("%w: op count %d", errCorrupt, count)
	}
	ops := make([]op, 0, count)
	for i := uint64(0); i < count && d.err == nil; i++ {
		o := op{kind: store.OpKind(d.byte("op kind"))}
		switch o.kind {
		case store.OpAdd, opMove:
			o.dest = d.string("dest")
			o.seq = d.uvarint("seq")
			n := d.uvarint("message length")
			if n > uint64(len(payload)) {
				d.fail("message length")
			}
			o.off = uint32(d.pos)
			body := d.bytes(4+n, "message")
			if d.err == nil && crc32.Checksum(body[4:], castagnoli) != binary.LittleEndian.Uint32(body) {
				d.fail("message checksum")
			}
			o.n = uint32(n)
			if o.kind == store.OpAdd && d.err == nil {
				if id, seq, ok := producerOf(body[4:]); ok && len(id) > 0 && seq > 0 {
					o.prod, o.pseq = string(id), seq
				}
			}
		case store.OpRemove:
			o.dest = d.string("dest")
			o.seq = d.uvarint("seq")
		case store.OpPutSub, store.OpDeleteSub:
			o.sub = d.sub()
		case opMark:
			o.seq = d.uvarint("mark")
			if o.seq == 0 || i != count-1 {
				d.fail("mark")
			}
		default:
			d.fail("op kind")
		}
		ops = append(ops, o)
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.pos != len(payload) {
		return nil, fmt.Errorf("%w: %d trailing bytes in batch", errCorrupt, len(payload)-d.pos)
	}
	return ops, nil
}

// segmentHeader returns the framed first record of segment id.
func segmentHeader(id uint32) []byte {
	p := append([]byte(segMagic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(p[len(segMagic):], id)
	return appendRecord(nil, recSegment, p)
}

// checkSegmentHeader checks that b starts with the header of segment id and
// returns its length.
func checkSegmentHeader(b []byte, id uint32) (int, error) {
	typ, p, n, err := parseRecord(b, 64)
	if err != nil {
		return 0, err
	}
	if typ != recSegment || len(p) != len(segMagic)+4 || string(p[:len(segMagic)]) != segMagic {
		return 0, fmt.Errorf("%w: not a segment header", errCorrupt)
	}
	if got := binary.LittleEndian.Uint32(p[len(segMagic):]); got != id {
		return 0, fmt.Errorf("%w: header says segment %d", errCorrupt, got)
	}
	return n, nil
}
