package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

// allocated returns the bytes allocated while f runs (the package's tests
// do not run in parallel, so this is f's).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// patched marshals cmd and overwrites the bytes at the offset of the marker
// string plus delta (negative: before it) with val.
func patched(tb testing.TB, cmd Command, opts Options, marker string, delta int, val ...byte) []byte {
	tb.Helper()
	b, err := AppendFrame(nil, cmd, opts)
	if err != nil {
		tb.Fatal(err)
	}
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		tb.Fatalf("marker %q not in the frame", marker)
	}
	copy(b[i+delta:], val)
	return b
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// nestedContainers is a primitive map body of size bytes: a map holding
// depth-1 nested containers of code (primMap or primList), each declaring
// as many entries as the rest of the body could hold, the innermost one's
// first value of an unknown type.
func nestedContainers(code byte, depth, size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, be32(1)...) // the outer map: one entry
	b = append(b, 0, 0, code) // key "", the first container
	for i := 0; i < depth; i++ {
		n := uint32(size - len(b) - 4) // what is left after the count
		if code == primMap {
			b = append(b, be32(n/3)...)
			b = append(b, 0, 0, code) // the first entry: key "", the next container
		} else {
			b = append(b, be32(n)...)
			b = append(b, code)
		}
	}
	b[len(b)-1] = 0xEE // the innermost container's first value: an unknown type code
	return append(b, make([]byte, size-len(b))...)
}

// TestDeclaredLengthsAreCheckedBeforeAllocating feeds lengths and counts
// that the frame cannot hold: each must fail cleanly with ErrMalformed (or
// ErrFrameTooLarge) and allocate next to nothing.
func TestDeclaredLengthsAreCheckedBeforeAllocating(t *testing.T) {
	st := Options{StackTraceEnabled: true}
	decode := func(frame []byte, opts Options) func() error {
		return func() error { _, err := Unmarshal(frame, opts); return err }
	}
	props := func(frame []byte) func() error {
		return func() error {
			cmd, err := Unmarshal(frame, Options{})
			if err != nil {
				return err
			}
			_, err = cmd.(*Message).Properties()
			return err
		}
	}
	withProps := &Message{Type: TypeTextMessage}
	if err := withProps.SetProperties(map[string]any{"MARK": int32(1)}); err != nil {
		t.Fatal(err)
	}
	nestedMaps := nestedContainers(primMap, 31, 1<<20)
	nestedLists := nestedContainers(primList, 31, 1<<20)
	tooDeep := nestedContainers(primMap, 40, 1<<10)
	peers := nestedPeerInfos(t, 30)
	tests := []struct {
		name     string
		run      func() error
		want     error
		maxAlloc uint64
	}{
		{"2 GiB byte array in a 100-byte frame",
			decode(patched(t, &Message{Type: TypeBytesMessage, Content: []byte("MARK")}, Options{}, "MARK", -4, 0x7f, 0xff, 0xff, 0xff), Options{}),
			ErrMalformed, 64 << 10},
		{"negative byte array length",
			decode(patched(t, &ConnectionControl{Token: []byte("MARK")}, Options{}, "MARK", -4, 0xff, 0xff, 0xff, 0xfe), Options{}),
			ErrMalformed, 64 << 10},
		{"2 GiB marshalled properties",
			decode(patched(t, withProps, Options{}, "MARK", -10, 0x7f, 0xff, 0xff, 0xff), Options{}),
			ErrMalformed, 64 << 10},
		{"message properties declaring 1<<30 entries",
			props(patched(t, withProps, Options{}, "MARK", -6, be32(1<<30)...)),
			ErrMalformed, 64 << 10},
		{"WireFormatInfo properties declaring 1<<30 entries",
			decode(patched(t, NewBrokerWireFormat(BrokerWireFormatConfig{}), Options{}, Magic, 8+4+1+4, be32(1<<30)...), Options{}),
			ErrMalformed, 64 << 10},
		{"string longer than the frame",
			decode(patched(t, &ConnectionInfo{ClientID: "MARK"}, Options{}, "MARK", -2, 0xff, 0xff), Options{}),
			ErrMalformed, 64 << 10},
		{"object array of 32767 elements",
			decode(patched(t, &ConnectionInfo{BrokerPath: []*BrokerID{{Value: "MARK"}}}, Options{}, "MARK", -7, 0x7f, 0xff), Options{}),
			ErrMalformed, 64 << 10},
		{"negative object array count",
			decode(patched(t, &ConnectionInfo{BrokerPath: []*BrokerID{{Value: "MARK"}}}, Options{}, "MARK", -7, 0xff, 0xfe), Options{}),
			ErrMalformed, 64 << 10},
		{"stack trace of 32767 frames",
			decode(patched(t, &ExceptionResponse{Exception: &Throwable{Class: "MARK",
				StackTrace: []StackTraceElement{{Class: "C", Method: "m", File: "F", Line: 1}}}}, st, "MARK", 5, 0x7f, 0xff), st),
			ErrMalformed, 64 << 10},
		{"primitive map declaring 1<<30 entries",
			func() error { _, err := UnmarshalPrimitiveMap(append(be32(1<<30), 0, 0, 0), 0); return err },
			ErrMalformed, 64 << 10},
		{"primitive list declaring 1<<30 entries",
			func() error { _, err := DecodeStream(append([]byte{primList}, be32(1<<30)...)); return err },
			ErrMalformed, 64 << 10},
		{"primitive byte array of 2 GiB",
			func() error { _, err := DecodeStream(append([]byte{primBytes}, be32(1<<31-1)...)); return err },
			ErrMalformed, 64 << 10},
		{"primitive big string of 2 GiB",
			func() error { _, err := DecodeStream(append([]byte{primBigString}, be32(1<<31-1)...)); return err },
			ErrMalformed, 64 << 10},
		{"text body of 2 GiB",
			func() error { _, _, err := DecodeText(append(be32(1<<31-1), 'a')); return err },
			ErrMalformed, 64 << 10},
		{"compressed bytes body declaring 2 GiB",
			func() error {
				_, err := (&Message{Type: TypeBytesMessage, Compressed: true, Content: append(be32(1<<31-1), 0x78, 0x9c)}).Body(1 << 20)
				return err
			},
			ErrFrameTooLarge, 64 << 10},
		{"compressed bytes body declaring a negative length",
			func() error {
				_, err := (&Message{Type: TypeBytesMessage, Compressed: true, Content: append(be32(1<<32-1), 0x78, 0x9c)}).Body(1 << 20)
				return err
			},
			ErrMalformed, 64 << 10},
		{"maps nested 31 deep, each declaring the rest of 1 MiB",
			func() error { _, err := UnmarshalPrimitiveMap(nestedMaps, 0); return err },
			ErrMalformed, 1 << 20},
		{"lists nested 31 deep, each declaring the rest of 1 MiB",
			func() error { _, err := UnmarshalPrimitiveMap(nestedLists, 0); return err },
			ErrMalformed, 1 << 20},
		{"maps nested deeper than the limit",
			func() error { _, err := UnmarshalPrimitiveMap(tooDeep, 0); return err },
			ErrMalformed, 1 << 20},
		{"peer broker infos nested 31 deep, each declaring 32767",
			decode(peers, Options{}),
			ErrMalformed, 1 << 20},
		{"size prefix of 100 MiB with 10 bytes behind it",
			func() error {
				in := append(be32(100<<20), make([]byte, 10)...)
				_, err := NewDecoder(bytes.NewReader(in), Options{MaxFrameSize: 128 << 20}).Decode()
				return err
			},
			io.ErrUnexpectedEOF, 256 << 10},
		{"size prefix of 1 MiB with 10 bytes behind it",
			func() error {
				_, err := NewDecoder(bytes.NewReader(append(be32(1<<20), make([]byte, 10)...)), Options{}).Decode()
				return err
			},
			io.ErrUnexpectedEOF, 256 << 10},
		{"size prefix above the maximum",
			func() error {
				_, err := NewDecoder(bytes.NewReader(be32(1<<31-1)), Options{}).Decode()
				return err
			},
			ErrFrameTooLarge, 64 << 10},
		{"negative size prefix",
			func() error {
				_, err := NewDecoder(bytes.NewReader(be32(1<<32-1)), Options{}).Decode()
				return err
			},
			ErrMalformed, 64 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocated(func() { err = tc.run() })
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if n > tc.maxAlloc {
				t.Fatalf("allocated %d bytes, want at most %d", n, tc.maxAlloc)
			}
		})
	}
}

// nestedPeerInfos is a BrokerInfo frame whose peerBrokerInfos hold one
// BrokerInfo, whose peerBrokerInfos hold one..., each array declaring 32767
// elements.
func nestedPeerInfos(tb testing.TB, depth int) []byte {
	tb.Helper()
	inner := &BrokerInfo{BrokerName: "MARK"}
	for i := 0; i < depth; i++ {
		inner = &BrokerInfo{PeerBrokerInfos: []*BrokerInfo{inner}}
	}
	b, err := Marshal(inner)
	if err != nil {
		tb.Fatal(err)
	}
	// Room for the counts, filled with bytes that are no valid element.
	b = append(b, bytes.Repeat([]byte{0xFF}, 40<<10)...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	// Each level: commandId, responseRequired, null brokerId, null
	// brokerURL, then the array: notNull, int16 count.
	prefix := []byte{0, 0, 0, 0, 0, 0, 0, 1}
	for i := 0; ; {
		j := bytes.Index(b[i:], prefix)
		if j < 0 {
			break
		}
		i += j + len(prefix)
		if i+2 <= len(b) && b[i] == 0 && b[i+1] == 1 {
			b[i], b[i+1] = 0x7f, 0xff
		}
	}
	return b
}

// malformedLengthFrames are frames whose lengths and counts lie, for the
// fuzz corpus (FuzzDecode).
func malformedLengthFrames(tb testing.TB) [][]byte {
	tb.Helper()
	withProps := &Message{Type: TypeTextMessage}
	if err := withProps.SetProperties(map[string]any{"MARK": int32(1)}); err != nil {
		tb.Fatal(err)
	}
	nested, err := Marshal(&Message{Type: TypeMapMessage, Content: nestedContainers(primMap, 31, 4<<10),
		MarshalledProperties: nestedContainers(primList, 31, 4<<10)})
	if err != nil {
		tb.Fatal(err)
	}
	tooDeep, err := Marshal(&Message{Type: TypeStreamMessage, Content: nestedContainers(primList, 40, 1<<10)})
	if err != nil {
		tb.Fatal(err)
	}
	st := Options{StackTraceEnabled: true}
	return [][]byte{
		patched(tb, &Message{Type: TypeBytesMessage, Content: []byte("MARK")}, Options{}, "MARK", -4, 0x7f, 0xff, 0xff, 0xff),
		patched(tb, &ConnectionControl{Token: []byte("MARK")}, Options{}, "MARK", -4, 0xff, 0xff, 0xff, 0xfe),
		patched(tb, withProps, Options{}, "MARK", -10, 0x7f, 0xff, 0xff, 0xff),
		patched(tb, withProps, Options{}, "MARK", -6, be32(1<<30)...),
		patched(tb, NewBrokerWireFormat(BrokerWireFormatConfig{}), Options{}, Magic, 8+4+1+4, be32(1<<30)...),
		patched(tb, &ConnectionInfo{ClientID: "MARK"}, Options{}, "MARK", -2, 0xff, 0xff),
		patched(tb, &ConnectionInfo{BrokerPath: []*BrokerID{{Value: "MARK"}}}, Options{}, "MARK", -7, 0x7f, 0xff),
		patched(tb, &ConnectionInfo{BrokerPath: []*BrokerID{{Value: "MARK"}}}, Options{}, "MARK", -7, 0xff, 0xfe),
		patched(tb, &ExceptionResponse{Exception: &Throwable{Class: "MARK",
			StackTrace: []StackTraceElement{{Class: "C", Method: "m", File: "F", Line: 1}}}}, st, "MARK", 5, 0x7f, 0xff),
		patched(tb, &Message{Type: TypeBytesMessage, Compressed: true, Content: []byte("MARK\x78\x9c")}, Options{}, "MARK", 0, 0x7f, 0xff, 0xff, 0xff),
		patched(tb, &Message{Type: TypeTextMessage, Content: []byte("MARKa")}, Options{}, "MARK", 0, 0x7f, 0xff, 0xff, 0xff),
		nested,
		tooDeep,
		nestedPeerInfos(tb, 30),
		append(be32(100<<20), make([]byte, 10)...),
		be32(1<<32 - 1),
	}
}
