package message

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrCorrupt reports bytes that are not a valid encoded message.
var ErrCorrupt = errors.New("message: corrupt encoding")

// Codec versions: 2 tells a nil body (a JMS text message whose text is
// null) from an empty one; 1 did not and is still read. 3 adds the broker
// path after the original destination. Marshal writes version 3 only for a
// message that has a broker path and version 2 otherwise, so the messages
// of a broker that takes part in no network are stored exactly as before
// (and an older Pier can still read them).
const (
	codecVersion   = 2
	codecVersionV1 = 1
	codecVersionV3 = 3
)

// Property type tags in the encoding.
const (
	tagNull byte = iota
	tagBool
	tagInt8
	tagInt16
	tagInt32
	tagInt64
	tagFloat32
	tagFloat64
	tagString
	tagBytes
	tagChar
)

// Marshal appends the binary encoding of m to dst. The encoding is stable:
// properties are written in key order, so equal messages encode equally.
func Marshal(dst []byte, m *Message) ([]byte, error) {
	version := byte(codecVersion)
	if len(m.BrokerPath) > 0 {
		version = codecVersionV3
	}
	dst = append(dst, version)
	dst = appendString(dst, m.ID)
	dst = append(dst, byte(m.Dest.Kind))
	dst = appendString(dst, m.Dest.Name)
	dst = append(dst, byte(m.ReplyTo.Kind))
	dst = appendString(dst, m.ReplyTo.Name)
	dst = appendString(dst, m.CorrelationID)
	dst = appendString(dst, m.Type)
	dst = append(dst, m.Priority)
	dst = binary.AppendVarint(dst, m.Expiration)
	dst = binary.AppendVarint(dst, m.Timestamp)
	var flags byte
	if m.Persistent {
		flags |= 1
	}
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, int64(m.DeliveryCount))
	dst = appendString(dst, m.GroupID)
	dst = binary.AppendVarint(dst, int64(m.GroupSeq))
	dst = appendString(dst, m.ProducerID)
	dst = binary.AppendVarint(dst, m.ProducerSeq)
	dst = appendString(dst, m.UserID)
	dst = append(dst, byte(m.OriginalDest.Kind))
	dst = appendString(dst, m.OriginalDest.Name)
	if version == codecVersionV3 {
		dst = binary.AppendUvarint(dst, uint64(len(m.BrokerPath)))
		for _, id := range m.BrokerPath {
			dst = appendString(dst, id)
		}
	}
	keys := make([]string, 0, len(m.Properties))
	for k := range m.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendString(dst, k)
		var err error
		if dst, err = appendValue(dst, m.Properties[k]); err != nil {
			return nil, fmt.Errorf("message: property %q: %w", k, err)
		}
	}
	dst = append(dst, byte(m.BodyKind))
	if m.Body == nil {
		dst = append(dst, 0)
	} else {
		dst = binary.AppendUvarint(dst, uint64(len(m.Body))+1)
		dst = append(dst, m.Body...)
	}
	return dst, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst []byte, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, tagNull), nil
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		return append(dst, tagBool, b), nil
	case int8:
		return append(dst, tagInt8, byte(x)), nil
	case int16:
		return binary.AppendVarint(append(dst, tagInt16), int64(x)), nil
	case int32:
		return binary.AppendVarint(append(dst, tagInt32), int64(x)), nil
	case int64:
		return binary.AppendVarint(append(dst, tagInt64), x), nil
	case uint16:
		return binary.BigEndian.AppendUint16(append(dst, tagChar), x), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(dst, tagFloat32), math.Float32bits(x)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, tagFloat64), math.Float64bits(x)), nil
	case string:
		return appendString(append(dst, tagString), x), nil
	case []byte:
		return appendBytes(append(dst, tagBytes), x), nil
	}
	return nil, fmt.Errorf("unsupported property type %T", v)
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = ErrCorrupt
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) raw(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	r := d.b[:n:n]
	d.b = d.b[n:]
	return r
}

func (d *decoder) string() string { return string(d.raw(d.uvarint())) }

// strings reads a count and that many strings; nil for none.
func (d *decoder) strings() []string {
	n := d.uvarint()
	if n > uint64(len(d.b)) { // each string takes at least its length byte
		d.fail()
	}
	if d.err != nil || n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string()
	}
	return out
}

func (d *decoder) int32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail()
	}
	return int32(v)
}

func (d *decoder) value() any {
	switch d.byte() {
	case tagNull:
		return nil
	case tagBool:
		return d.byte() != 0
	case tagInt8:
		return int8(d.byte())
	case tagInt16:
		v := d.varint()
		if v < math.MinInt16 || v > math.MaxInt16 {
			d.fail()
		}
		return int16(v)
	case tagInt32:
		return d.int32()
	case tagInt64:
		return d.varint()
	case tagChar:
		b := d.raw(2)
		if b == nil {
			return nil
		}
		return binary.BigEndian.Uint16(b)
	case tagFloat32:
		b := d.raw(4)
		if b == nil {
			return nil
		}
		return math.Float32frombits(binary.BigEndian.Uint32(b))
	case tagFloat64:
		b := d.raw(8)
		if b == nil {
			return nil
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b))
	case tagString:
		return d.string()
	case tagBytes:
		return append([]byte(nil), d.raw(d.uvarint())...)
	}
	d.fail()
	return nil
}

func knownVersion(v byte) bool {
	return v == codecVersion || v == codecVersionV1 || v == codecVersionV3
}

// Unmarshal decodes a message written by Marshal. The returned message does
// not alias b.
func Unmarshal(b []byte) (*Message, error) {
	d := &decoder{b: b}
	version := d.byte()
	if !knownVersion(version) {
		return nil, fmt.Errorf("%w: version %d", ErrCorrupt, version)
	}
	m := &Message{}
	m.ID = d.string()
	m.Dest.Kind = DestKind(d.byte())
	m.Dest.Name = d.string()
	m.ReplyTo.Kind = DestKind(d.byte())
	m.ReplyTo.Name = d.string()
	m.CorrelationID = d.string()
	m.Type = d.string()
	m.Priority = d.byte()
	m.Expiration = d.varint()
	m.Timestamp = d.varint()
	m.Persistent = d.byte()&1 != 0
	m.DeliveryCount = d.int32()
	m.GroupID = d.string()
	m.GroupSeq = d.int32()
	m.ProducerID = d.string()
	m.ProducerSeq = d.varint()
	m.UserID = d.string()
	m.OriginalDest.Kind = DestKind(d.byte())
	m.OriginalDest.Name = d.string()
	if version == codecVersionV3 {
		m.BrokerPath = d.strings()
	}
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
	}
	if d.err == nil && n > 0 {
		m.Properties = make(map[string]any, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			k := d.string()
			m.Properties[k] = d.value()
		}
	}
	m.BodyKind = BodyKind(d.byte())
	if version == codecVersionV1 {
		if body := d.raw(d.uvarint()); len(body) > 0 {
			m.Body = append([]byte(nil), body...)
		}
	} else if n := d.uvarint(); n > 0 {
		m.Body = append([]byte{}, d.raw(n-1)...)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	if m.Dest.Kind > TempTopic || m.ReplyTo.Kind > TempTopic || m.OriginalDest.Kind > TempTopic || m.BodyKind > Stream {
		return nil, fmt.Errorf("%w: bad kind", ErrCorrupt)
	}
	return m, nil
}

// PeekProducer returns the producer id and sequence of an encoded message
// without decoding the rest, for stores that track producers' sequence
// numbers while replaying. ok is false if b is not an encoded message.
func PeekProducer(b []byte) (id []byte, seq int64, ok bool) {
	d := &decoder{b: b}
	if !knownVersion(d.byte()) {
		return nil, 0, false
	}
	d.raw(d.uvarint()) // id
	d.byte()           // destination
	d.raw(d.uvarint())
	d.byte() // reply-to
	d.raw(d.uvarint())
	d.raw(d.uvarint()) // correlation id
	d.raw(d.uvarint()) // type
	d.byte()           // priority
	d.varint()         // expiration
	d.varint()         // timestamp
	d.byte()           // flags
	d.varint()         // delivery count
	d.raw(d.uvarint()) // group id
	d.varint()         // group sequence
	id = d.raw(d.uvarint())
	seq = d.varint()
	if d.err != nil {
		return nil, 0, false
	}
	return id, seq, true
}
