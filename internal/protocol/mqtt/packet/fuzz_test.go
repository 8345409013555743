package packet

import (
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzReadPacket decodes arbitrary bytes for each version: the decoder must
// not panic, and what it accepts must encode and decode to the same value.
func FuzzReadPacket(f *testing.F) {
	versions := []byte{0, Version311, Version5}
	for i, v := range versions[1:] {
		for _, p := range samples(v) {
			b, err := Append(nil, p, v)
			if err != nil {
				f.Fatal(err)
			}
			if p.Type() == CONNECT {
				f.Add(b, byte(0))
			}
			f.Add(b, byte(i+1))
		}
	}
	f.Add(hx("30 ff ff ff 7f"), byte(1))
	f.Add(hx("82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 61 04"), byte(2))
	f.Fuzz(func(t *testing.T, data []byte, sel byte) {
		version := versions[int(sel)%len(versions)]
		limits := Limits{MaxPacketSize: 1 << 16}
		p, err := read(data, version, limits)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error of an unexpected kind: %v", err)
			}
			return
		}
		wv := version
		if c, ok := p.(*Connect); ok {
			wv = c.Version
		}
		b, err := Append(nil, p, wv)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", p, err)
		}
		q, err := read(b, version, limits)
		if err != nil {
			t.Fatalf("re-encoded % x does not decode: %v", b, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the packet\n got %#v\nwant %#v", q, p)
		}
	})
}
