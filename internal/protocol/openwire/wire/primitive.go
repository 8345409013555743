package wire

import (
	"fmt"
	"math"
	"slices"
)

// Primitive value type codes (MarshallingSupport.java).
const (
	primNull      byte = 0
	primBool      byte = 1
	primByte      byte = 2
	primChar      byte = 3
	primShort     byte = 4
	primInt       byte = 5
	primLong      byte = 6
	primDouble    byte = 7
	primFloat     byte = 8
	primString    byte = 9
	primBytes     byte = 10
	primMap       byte = 11
	primList      byte = 12
	primBigString byte = 13
)

// bigStringThreshold: Java writes code 13 for strings of at least this many
// UTF-16 code units, code 9 below it.
const bigStringThreshold = 8191

// MaxWireFormatProperties is the entry limit Java applies to WireFormatInfo
// property maps.
const MaxWireFormatProperties = 4096

// MarshalPrimitiveMap encodes m as a Java primitive map (int32 count, then key,
// type code and value per entry). A nil map encodes as count -1. Keys are
// written in sorted order so the output is deterministic. Values must have
// one of the Go types listed in the package documentation.
func MarshalPrimitiveMap(m map[string]any) ([]byte, error) {
	w := &writer{}
	w.primitiveMap(m)
	if w.err != nil {
		return nil, fmt.Errorf("openwire: marshal primitive map: %w", w.err)
	}
	return w.buf, nil
}

// UnmarshalPrimitiveMap decodes a primitive map that fills all of b. Count -1
// yields a nil map. maxEntries bounds every (nested) map; 0 means no limit
// beyond the size of b.
func UnmarshalPrimitiveMap(b []byte, maxEntries int) (map[string]any, error) {
	return unmarshalPrimitiveMap(&reader{buf: b, maxDepth: defaultMaxDepth}, maxEntries)
}

func unmarshalPrimitiveMap(r *reader, maxEntries int) (map[string]any, error) {
	m := r.primitiveMap(maxEntries)
	if r.err == nil && r.remaining() > 0 {
		r.fail("%d trailing bytes after primitive map", r.remaining())
	}
	if r.err != nil {
		return nil, fmt.Errorf("openwire: unmarshal primitive map: %w", r.err)
	}
	return m, nil
}

// MarshalJavaProperties encodes m as MarshalPrimitiveMap does, except that
// its top-level string values are plain UTF-8 rather than Java's modified
// UTF-8. That is how a 5.x Java client decodes a message's properties and a
// MapMessage body: it reads those strings lazily as UTF8Buffer (standard
// UTF-8), so modified UTF-8 — what the Java client itself writes, and
// what ActiveMQ passes through — turns supplementary characters and NUL
// into U+FFFD. Keys and the strings of nested maps and lists stay modified
// UTF-8, which Java reads with readUTF.
func MarshalJavaProperties(m map[string]any) ([]byte, error) {
	w := writer{plainTopStrings: true, buf: make([]byte, 0, propertiesSize(m))}
	w.primitiveMap(m)
	if w.err != nil {
		return nil, fmt.Errorf("openwire: marshal properties: %w", w.err)
	}
	return w.buf, nil
}

// propertiesSize is about what m takes encoded: room enough for most maps
// of properties in one allocation.
func propertiesSize(m map[string]any) int {
	n := 4
	for k, v := range m {
		n += 2 + len(k) + 9 // key, type code, up to 8 bytes of a number
		switch v := v.(type) {
		case string:
			n += 4 + len(v)
		case []byte:
			n += 4 + len(v)
		}
	}
	return n
}

func (w *writer) primitiveMap(m map[string]any) {
	if m == nil {
		w.i32(-1)
		return
	}
	var held [16]string
	keys := held[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.i32(int32(len(keys)))
	plain := w.plainTopStrings
	w.plainTopStrings = false // nested maps and lists are read with readUTF
	for _, k := range keys {
		w.utf(k)
		if str, ok := m[k].(string); ok && plain {
			w.plainString(str)
			continue
		}
		w.primitive(m[k])
	}
	w.plainTopStrings = plain
}

// plainString writes a string value as code 9 or 13 with standard UTF-8
// bytes (see MarshalJavaProperties).
func (w *writer) plainString(s string) {
	if JavaLength(s) < bigStringThreshold && len(s) <= math.MaxUint16 {
		w.u8(primString)
		w.u16(uint16(len(s)))
		w.buf = append(w.buf, s...)
		return
	}
	w.u8(primBigString)
	w.i32(int32(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *writer) primitive(v any) {
	switch v := v.(type) {
	case nil:
		w.u8(primNull)
	case bool:
		w.u8(primBool)
		w.boolean(v)
	case int8:
		w.u8(primByte)
		w.u8(byte(v))
	case uint16:
		w.u8(primChar)
		w.u16(v)
	case int16:
		w.u8(primShort)
		w.u16(uint16(v))
	case int32:
		w.u8(primInt)
		w.i32(v)
	case int64:
		w.u8(primLong)
		w.i64(v)
	case float64:
		w.u8(primDouble)
		w.f64(v)
	case float32:
		w.u8(primFloat)
		w.f32(v)
	case string:
		if JavaLength(v) < bigStringThreshold {
			w.u8(primString)
			w.utf(v)
			return
		}
		w.u8(primBigString)
		w.i32(int32(ModifiedUTF8Len(v)))
		w.buf = AppendModifiedUTF8(w.buf, v)
	case []byte:
		if len(v) > math.MaxInt32 {
			w.fail("byte array of %d bytes", len(v))
			return
		}
		w.u8(primBytes)
		w.i32(int32(len(v)))
		w.raw(v)
	case map[string]any:
		w.u8(primMap)
		w.primitiveMap(v)
	case []any:
		w.u8(primList)
		w.i32(int32(len(v)))
		for _, e := range v {
			w.primitive(e)
		}
	default:
		w.fail("primitive value of Go type %T", v)
	}
}

func (r *reader) primitiveMap(maxEntries int) map[string]any {
	n := int(r.i32())
	if r.err != nil || n == -1 {
		return nil
	}
	// An entry is at least a 2-byte key length and a type code. The count
	// is checked before anything is allocated for it.
	if n < 0 || n > r.remaining()/3 || (maxEntries > 0 && n > maxEntries) {
		r.fail("primitive map of %d entries with %d bytes left", n, r.remaining())
		return nil
	}
	if !r.enter() {
		return nil
	}
	defer r.leave()
	m := make(map[string]any, min(n, preallocLimit))
	for i := 0; i < n && r.err == nil; i++ {
		k := r.utf()
		m[k] = r.primitive(maxEntries)
	}
	if r.err != nil {
		return nil
	}
	return m
}

func (r *reader) primitive(maxEntries int) any {
	start := r.off
	code := r.u8()
	if r.err != nil {
		return nil
	}
	switch code {
	case primNull:
		return nil
	case primBool:
		return r.boolean()
	case primByte:
		return int8(r.u8())
	case primChar:
		return r.u16()
	case primShort:
		return int16(r.u16())
	case primInt:
		return r.i32()
	case primLong:
		return r.i64()
	case primDouble:
		return r.f64()
	case primFloat:
		return r.f32()
	case primString:
		return r.utf()
	case primBytes:
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
	case primMap:
		m := r.primitiveMap(maxEntries)
		if m == nil {
			// A nested null map has no Go representation distinct from nil.
			return nil
		}
		return m
	case primList:
		return r.primitiveList(maxEntries)
	case primBigString:
		n := r.i32()
		if n == -1 {
			return nil
		}
		if n < 0 {
			r.fail("big string length %d", n)
			return nil
		}
		return r.utfBytes(int(n))
	}
	r.off = start
	r.fail("unknown primitive type code %d", code)
	return nil
}

func (r *reader) primitiveList(maxEntries int) []any {
	n := int(r.i32())
	if r.err != nil {
		return nil
	}
	// Each element is at least its type code.
	if n < 0 || n > r.remaining() {
		r.fail("primitive list of %d entries with %d bytes left", n, r.remaining())
		return nil
	}
	if !r.enter() {
		return nil
	}
	defer r.leave()
	out := make([]any, 0, min(n, preallocLimit))
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.primitive(maxEntries))
	}
	if r.err != nil {
		return nil
	}
	return out
}
