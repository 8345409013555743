package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// A Raft log entry of Pier's is one store.Batch:
//
//	version byte (entryV1)
//	count   uvarint: number of ops
//	ops     count times: kind byte, then
//	          add:              dest string, seq uvarint, message bytes (decoded
//	                            as store.Op.Raw: the journal stores them as they are)
//	          remove:           dest string, seq uvarint
//	          put/delete sub:   client id, name, topic, selector strings, no-local byte, dest string
//
// where a string or bytes value is a uvarint length and the bytes, and a
// message is its internal/message encoding. Entries are decoded on every
// replica, so the decoder checks everything and never panics.
const entryV1 byte = 1

// errBadEntry is returned for an entry that does not decode.
var errBadEntry = errors.New("replication: bad log entry")

// encodeBatch encodes b's ops as a log entry. It also returns the encoded
// size of the messages it adds (what the journal counts against its limit).
func encodeBatch(b *store.Batch) (out []byte, addBytes int64, err error) {
	out = make([]byte, 0, 16+b.SizeHint())
	out = append(out, entryV1)
	out = binary.AppendUvarint(out, uint64(len(b.Ops)))
	var scratch []byte
	for i := range b.Ops {
		o := &b.Ops[i]
		out = append(out, byte(o.Kind))
		switch o.Kind {
		case store.OpAdd:
			enc := o.Raw
			if enc == nil {
				if o.Msg == nil {
					return nil, 0, fmt.Errorf("replication: op %d: add without a message", i)
				}
				if scratch, err = message.Marshal(scratch[:0], o.Msg); err != nil {
					return nil, 0, fmt.Errorf("replication: op %d: %w", i, err)
				}
				enc = scratch
			}
			addBytes += int64(len(enc))
			out = appendBytes(out, o.Dest)
			out = binary.AppendUvarint(out, o.Seq)
			out = appendBytes(out, enc)
		case store.OpRemove:
			out = appendBytes(out, o.Dest)
			out = binary.AppendUvarint(out, o.Seq)
		case store.OpPutSub, store.OpDeleteSub:
			if o.Sub == nil {
				return nil, 0, fmt.Errorf("replication: op %d: subscription op without a subscription", i)
			}
			s := o.Sub
			for _, f := range []string{s.ClientID, s.Name, s.Topic, s.Selector} {
				out = appendBytes(out, f)
			}
			// Flags: bit 0 no-local, bit 1 a network subscription, whose
			// remote broker id and TTL follow the destination.
			flags := boolByte(s.NoLocal)
			if s.Remote != "" {
				flags |= 2
			}
			out = append(out, flags)
			out = appendBytes(out, s.Dest)
			if s.Remote != "" {
				out = appendBytes(out, s.Remote)
				out = binary.AppendUvarint(out, uint64(max(s.TTL, 0)))
			}
		default:
			return nil, 0, fmt.Errorf("replication: op %d: unknown kind %d", i, o.Kind)
		}
	}
	return out, addBytes, nil
}

func appendBytes[T string | []byte](dst []byte, s T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decodeBatch decodes a log entry into ops (appended to ops).
func decodeBatch(ops []store.Op, p []byte) ([]store.Op, error) {
	d := decoder{b: p}
	if v := d.byte(); v != entryV1 && d.err == nil {
		return ops, fmt.Errorf("%w: version %d", errBadEntry, v)
	}
	n := d.uvarint()
	if n > uint64(len(p)) {
		return ops, fmt.Errorf("%w: op count %d", errBadEntry, n)
	}
	ops = slices.Grow(ops, int(n)) // each op takes at least a byte of p
	for i := uint64(0); i < n && d.err == nil; i++ {
		o := store.Op{Kind: store.OpKind(d.byte())}
		switch o.Kind {
		case store.OpAdd:
			o.Dest = d.dest()
			o.Seq = d.uvarint()
			// The message stays encoded (Raw, a slice of p): the journal
			// stores it as it is. Its leading fields are checked here;
			// the whole of it was checked by the master that encoded it
			// and by the CRC of the log record that carried it.
			raw := d.bytes()
			if d.err == nil {
				if _, _, ok := message.PeekProducer(raw); !ok {
					return ops, fmt.Errorf("%w: op %d: not an encoded message", errBadEntry, i)
				}
				o.Raw = raw
			}
		case store.OpRemove:
			o.Dest = d.dest()
			o.Seq = d.uvarint()
		case store.OpPutSub, store.OpDeleteSub:
			s := &store.Subscription{}
			s.ClientID = string(d.bytes())
			s.Name = string(d.bytes())
			s.Topic = string(d.bytes())
			s.Selector = string(d.bytes())
			flags := d.byte()
			if flags&^3 != 0 {
				d.fail()
			}
			s.NoLocal = flags&1 != 0
			s.Dest = string(d.bytes())
			if flags&2 != 0 {
				s.Remote = string(d.bytes())
				ttl := d.uvarint()
				if ttl > math.MaxInt32 || s.Remote == "" {
					d.fail()
				}
				s.TTL = int(ttl)
			}
			o.Sub = s
		default:
			if d.err == nil {
				return ops, fmt.Errorf("%w: op %d: kind %d", errBadEntry, i, o.Kind)
			}
		}
		ops = append(ops, o)
	}
	if d.err != nil {
		return ops, d.err
	}
	if d.pos != len(p) {
		return ops, fmt.Errorf("%w: %d trailing bytes", errBadEntry, len(p)-d.pos)
	}
	return ops, nil
}

// decoder reads the fields of an entry; the first failure sticks.
type decoder struct {
	b    []byte
	pos  int
	err  error
	last string // the destination of the last add or remove
}

// dest reads a destination name: as a string of its own only when it is
// not the previous op's (an entry's ops are mostly on a few queues).
func (d *decoder) dest() string {
	if b := d.bytes(); string(b) != d.last {
		d.last = string(b)
	}
	return d.last
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed at offset %d", errBadEntry, d.pos)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || d.pos >= len(d.b) {
		d.fail()
		return 0
	}
	d.pos++
	return d.b[d.pos-1]
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.fail()
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)-d.pos) {
		d.fail()
		return nil
	}
	b := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b
}
