package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
)

// writer appends loose-encoded values. The first error is sticky.
type writer struct {
	plainTopStrings bool // MarshalJavaProperties: top-level string values in UTF-8
	buf             []byte
	stackTrace      bool
	version         int // OpenWire version (1, 9, 10, 11, 12)
	err             error
}

func (w *writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidValue}, args...)...)
	}
}

// failWith records err unless an earlier error is already sticky.
func (w *writer) failWith(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *writer) u8(b byte) { w.buf = append(w.buf, b) }

func (w *writer) boolean(v bool) {
	if v {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

func (w *writer) u16(v uint16)  { w.buf = binary.BigEndian.AppendUint16(w.buf, v) }
func (w *writer) i32(v int32)   { w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v)) }
func (w *writer) i64(v int64)   { w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(v)) }
func (w *writer) f32(v float32) { w.i32(int32(math.Float32bits(v))) }
func (w *writer) f64(v float64) { w.i64(int64(math.Float64bits(v))) }
func (w *writer) raw(b []byte)  { w.buf = append(w.buf, b...) }

// utf writes a uint16 length and modified UTF-8 (DataOutput.writeUTF).
func (w *writer) utf(s string) {
	n := ModifiedUTF8Len(s)
	if n > math.MaxUint16 {
		w.fail("string of %d encoded bytes exceeds 65535", n)
		return
	}
	w.u16(uint16(n))
	w.buf = AppendModifiedUTF8(w.buf, s)
}

// str writes a nullable string; "" is written as null.
func (w *writer) str(s string) {
	if s == "" {
		w.u8(0)
		return
	}
	w.u8(1)
	w.utf(s)
}

// bytes writes a nullable byte array; nil is written as null.
func (w *writer) bytes(b []byte) {
	if b == nil {
		w.u8(0)
		return
	}
	if len(b) > math.MaxInt32 {
		w.fail("byte array of %d bytes", len(b))
		return
	}
	w.u8(1)
	w.i32(int32(len(b)))
	w.raw(b)
}

func isNil(ds DataStructure) bool {
	if ds == nil {
		return true
	}
	v := reflect.ValueOf(ds)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// nested writes a nullable nested object (also used for cached slots, since
// the cache is off).
func (w *writer) nested(ds DataStructure) {
	if isNil(ds) {
		w.u8(0)
		return
	}
	w.u8(1)
	w.object(ds)
}

func (w *writer) object(ds DataStructure) {
	t := ds.DataType()
	if !knownTypes[t] {
		w.failWith(&UnknownTypeError{Type: t})
		return
	}
	if !typeInVersion(t, w.version) {
		w.failWith(&UnknownTypeError{Type: t, Version: w.version})
		return
	}
	w.u8(t)
	ds.marshal(w)
}

// writeArray writes a nullable object array; a nil slice is written as null.
func writeArray[T DataStructure](w *writer, items []T) {
	if items == nil {
		w.u8(0)
		return
	}
	if len(items) > math.MaxInt16 {
		w.fail("object array of %d elements", len(items))
		return
	}
	w.u8(1)
	w.u16(uint16(len(items)))
	for _, it := range items {
		w.nested(it)
	}
}
