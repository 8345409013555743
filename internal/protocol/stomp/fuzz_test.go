package stomp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReadFrame decodes arbitrary bytes at each version; every frame that
// decodes must validate, re-encode, and decode again to the same frame.
func FuzzReadFrame(f *testing.F) {
	seeds := []string{
		"CONNECT\naccept-version:1.2\nhost:pier\n\n\x00",
		"SEND\ndestination:/queue/a\n\nhello\x00\n",
		"SEND\r\ndestination:/queue/a\r\ncontent-length:3\r\n\r\na\x00b\x00\r\n",
		"MESSAGE\nk\\c:v\\n\\r\\\\\n\n\x00",
		"\n\n\r\nRECEIPT\nreceipt-id:7\n\n\x00",
		"SUBSCRIBE\nid:1\ndestination:/topic/x\nack:client\nselector:a = 'b'\n\n\x00",
		"ERROR\nmessage:bad\\t\n\n\x00",
		"STOMP\nlogin:a\\b\n\n\x00",
		"SEND\ncontent-length: 2 \n\nab\x00",
		"SEND\nk:a\rb\n\n\x00",
		// Lengths and counts out of bounds (Limits small below).
		"SEND\ncontent-length:99999999999\n\n",
		"SEND\ncontent-length:99999999999999999999999\n\nab\x00",
		"SEND\ncontent-length:-1\n\nab\x00",
		"SEND\ncontent-length:+2\n\nab\x00",
		"SEND\ncontent-length:\n\nab\x00",
		"SEND\ncontent-length:4096\n\n0123456789",
		"SEND\ncontent-length:4097\n\n0123456789",
		"SEND\n" + strings.Repeat("h:v\n", 40) + "\n\x00",
		"SEND\nh:" + strings.Repeat("v", 300) + "\n\n\x00",
		strings.Repeat("S", 300) + "\n\n\x00",
		"SEND\n\n" + strings.Repeat("b", 5000) + "\x00",
	}
	for _, s := range seeds {
		for v := V10; v <= V12; v++ {
			f.Add(byte(v), []byte(s))
		}
	}
	small := Limits{MaxFrameSize: 1 << 12, MaxHeaders: 32, MaxHeaderLength: 256}
	f.Fuzz(func(t *testing.T, vb byte, data []byte) {
		v := Version(vb%3 + 1)
		r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 16), small)
		r.SetVersion(v)
		for range 16 {
			fr, err := r.ReadFrame()
			if err != nil {
				checkReadError(t, err)
				return
			}
			if fr == nil {
				continue
			}
			roundTrip(t, fr, v)
		}
	})
}

func checkReadError(t *testing.T, err error) {
	t.Helper()
	for _, want := range []error{io.EOF, io.ErrUnexpectedEOF, ErrMalformed, ErrFrameTooLarge, ErrTooManyHeaders, ErrHeaderTooLong} {
		if errors.Is(err, want) {
			return
		}
	}
	t.Fatalf("untyped error %v", err)
}

func roundTrip(t *testing.T, fr *Frame, v Version) {
	t.Helper()
	if err := fr.Validate(v); err != nil {
		t.Fatalf("decoded frame does not validate: %v\n%q", err, dump([]*Frame{fr}))
	}
	enc := AppendFrame(nil, fr, v)
	r := NewReader(bufio.NewReader(bytes.NewReader(enc)), Limits{})
	r.SetVersion(v)
	again, err := r.ReadFrame()
	if err != nil || again == nil {
		t.Fatalf("re-decode %q: frame %v, err %v", enc, again, err)
	}
	if !frameEqual(fr, again) {
		t.Fatalf("round trip at %s changed the frame:\n first %s\nsecond %s\nwire %q", v, dump([]*Frame{fr}), dump([]*Frame{again}), enc)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("encoding %q left trailing bytes (err %v)", enc, err)
	}
}
