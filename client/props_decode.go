package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// decodeProperties decodes a primitive map (message properties or a map
// body); nil for none. The Java client writes its strings in modified
// UTF-8 but reads the top-level strings of properties and map bodies as
// plain UTF-8, and Pier sends them that way (wire.MarshalJavaProperties);
// so when the strict decoding fails, the top level is decoded again
// accepting either form.
func decodeProperties(b []byte) (map[string]any, error) {
	if b == nil {
		return nil, nil
	}
	m, err := wire.UnmarshalPrimitiveMap(b, 0)
	if err == nil {
		return m, nil
	}
	if lm, lerr := lenientMap(b); lerr == nil {
		return lm, nil
	}
	return nil, err
}

var errShort = errors.New("truncated primitive map")

// lenientMap decodes a primitive map whose values are scalars (no nested
// maps or lists), with strings in plain or modified UTF-8.
func lenientMap(b []byte) (map[string]any, error) {
	r := lenientReader{b: b}
	n := int32(r.u32())
	if n < 0 {
		return nil, r.err
	}
	m := make(map[string]any, min(int(n), len(b)/4))
	for i := int32(0); i < n && r.err == nil; i++ {
		key := r.str(int(r.u16()))
		m[key] = r.value()
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

type lenientReader struct {
	b   []byte
	err error
}

func (r *lenientReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errShort
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *lenientReader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *lenientReader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *lenientReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *lenientReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *lenientReader) str(n int) string {
	b := r.take(n)
	if r.err != nil {
		return ""
	}
	if s, err := wire.DecodeModifiedUTF8(b); err == nil {
		return s
	}
	if !utf8.Valid(b) {
		r.err = errors.New("string is neither modified nor plain UTF-8")
	}
	return string(b)
}

func (r *lenientReader) value() any {
	switch t := r.u8(); t {
	case 0:
		return nil
	case 1:
		return r.u8() != 0
	case 2:
		return int8(r.u8())
	case 3:
		return r.u16()
	case 4:
		return int16(r.u16())
	case 5:
		return int32(r.u32())
	case 6:
		return int64(r.u64())
	case 7:
		return math.Float64frombits(r.u64())
	case 8:
		return math.Float32frombits(r.u32())
	case 9:
		return r.str(int(r.u16()))
	case 10:
		return append([]byte{}, r.take(int(int32(r.u32())))...)
	case 13:
		return r.str(int(int32(r.u32())))
	default:
		if r.err == nil {
			r.err = fmt.Errorf("value type %d not decoded leniently", t)
		}
		return nil
	}
}
