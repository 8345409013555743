package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// reader decodes loose-encoded values from one frame body. The first error is
// sticky: later reads return zero values, and the caller checks r.err once.
type reader struct {
	buf        []byte
	off        int
	depth      int
	maxDepth   int
	stackTrace bool         // StackTraceEnabled negotiated: throwables carry frames and a cause
	version    int          // OpenWire version (1, 9, 10, 11, 12); 0 only for primitive-only readers
	strs       *stringCache // a Decoder's, or nil
	err        error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &MalformedError{Offset: r.off, Detail: fmt.Sprintf(format, args...)}
	}
}

func (r *reader) remaining() int { return len(r.buf) - r.off }

// take returns the next n bytes (aliasing the frame buffer), or nil on error.
func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.remaining() {
		r.fail("%s: need %d bytes, %d left", what, n, r.remaining())
		return nil
	}
	b := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

func (r *reader) u8() byte {
	b := r.take(1, "byte")
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) boolean() bool {
	b := r.take(1, "boolean")
	if b == nil {
		return false
	}
	if b[0] > 1 {
		r.off--
		r.fail("boolean byte %#x", b[0])
		return false
	}
	return b[0] == 1
}

func (r *reader) u16() uint16 {
	b := r.take(2, "short")
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) i32() int32 {
	b := r.take(4, "int")
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

func (r *reader) i64() int64 {
	b := r.take(8, "long")
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func (r *reader) f32() float32 { return math.Float32frombits(uint32(r.i32())) }
func (r *reader) f64() float64 { return math.Float64frombits(uint64(r.i64())) }

// utf reads a uint16 length and that many modified UTF-8 bytes.
func (r *reader) utf() string {
	n := int(r.u16())
	return r.utfBytes(n)
}

func (r *reader) utfBytes(n int) string {
	b := r.take(n, "string")
	if b == nil {
		return ""
	}
	var s string
	var err error
	if r.strs != nil {
		s, err = r.strs.decode(b)
	} else {
		s, err = DecodeModifiedUTF8(b)
	}
	if err != nil {
		r.off -= n
		r.fail("string: %v", err)
		return ""
	}
	return s
}

// str reads a nullable string (looseUnmarshalString); null decodes as "".
func (r *reader) str() string {
	if !r.boolean() {
		return ""
	}
	return r.utf()
}

// bytes reads a nullable byte array or byte sequence; null decodes as nil.
func (r *reader) bytes() []byte {
	if !r.boolean() {
		return nil
	}
	n := r.i32()
	if n < 0 {
		r.fail("byte array length %d", n)
		return nil
	}
	b := r.take(int(n), "byte array")
	if b == nil {
		return nil
	}
	return b
}

func (r *reader) enter() bool {
	if r.err != nil {
		return false
	}
	r.depth++
	if r.depth > r.maxDepth {
		r.fail("nesting deeper than %d", r.maxDepth)
		return false
	}
	return true
}

func (r *reader) leave() { r.depth-- }

// nested reads a nullable nested (or, with the cache off, cached) object.
func (r *reader) nested() DataStructure {
	if !r.boolean() {
		return nil
	}
	return r.object()
}

// object reads a type byte and that type's loose body.
func (r *reader) object() DataStructure {
	start := r.off
	t := r.u8()
	if r.err != nil {
		return nil
	}
	ds := newDataStructure(t)
	if ds == nil {
		r.off = start
		r.fail("nested object: %v", &UnknownTypeError{Type: t})
		return nil
	}
	if !typeInVersion(t, r.version) {
		r.off = start
		r.fail("nested object: %v", &UnknownTypeError{Type: t, Version: r.version})
		return nil
	}
	if !r.enter() {
		return nil
	}
	ds.unmarshal(r)
	r.leave()
	if r.err != nil {
		return nil
	}
	return ds
}

// arrayLen reads the notNull flag and int16 count of an object array. Every
// element takes at least one byte, which bounds the count by the frame.
func (r *reader) arrayLen() (int, bool) {
	if !r.boolean() {
		return 0, false
	}
	n := int(int16(r.u16()))
	if n < 0 || n > r.remaining() {
		r.fail("array count %d with %d bytes left", n, r.remaining())
		return 0, false
	}
	return n, r.err == nil
}

// readNested reads a nested object slot that must hold a T (or null).
func readNested[T DataStructure](r *reader, field string) T {
	var zero T
	start := r.off
	ds := r.nested()
	if ds == nil {
		return zero
	}
	v, ok := ds.(T)
	if !ok {
		r.off = start
		r.fail("%s: unexpected type %d", field, ds.DataType())
		return zero
	}
	return v
}

// readArray reads an object array whose elements must all be T.
func readArray[T DataStructure](r *reader, field string) []T {
	n, ok := r.arrayLen()
	if !ok {
		return nil
	}
	out := make([]T, 0, min(n, preallocLimit))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, readNested[T](r, field))
	}
	if r.err != nil {
		return nil
	}
	return out
}

// readDestination reads a Destination slot.
func readDestination(r *reader, field string) *Destination {
	return readNested[*Destination](r, field)
}

// readTransactionID reads a TransactionId slot (local or XA).
func readTransactionID(r *reader, field string) TransactionID {
	start := r.off
	ds := r.nested()
	if ds == nil {
		return nil
	}
	tx, ok := ds.(TransactionID)
	if !ok {
		r.off = start
		r.fail("%s: unexpected type %d", field, ds.DataType())
		return nil
	}
	return tx
}
