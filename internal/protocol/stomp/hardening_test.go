package stomp

import (
	"bufio"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/protocol/connbuf"
)

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestDeclaredLengthsAreCheckedBeforeAllocating feeds frames whose
// content-length, header count or header length is out of bounds: each must
// fail cleanly and allocate far less than what it declares.
func TestDeclaredLengthsAreCheckedBeforeAllocating(t *testing.T) {
	const connect = "CONNECT\naccept-version:1.2\n\n\x00"
	many := "SEND\n" + strings.Repeat("h:v\n", 5000) + "\n\x00"
	for _, tc := range []struct {
		name     string
		in       string
		want     error
		maxAlloc uint64
	}{
		{"content-length beyond the maximum", "SEND\ncontent-length:99999999999\n\n", ErrFrameTooLarge, 64 << 10},
		{"content-length beyond int64", "SEND\ncontent-length:99999999999999999999999\n\n", ErrMalformed, 64 << 10},
		{"negative content-length", "SEND\ncontent-length:-5\n\nab\x00", ErrMalformed, 64 << 10},
		{"non-numeric content-length", "SEND\ncontent-length:0x10\n\nab\x00", ErrMalformed, 64 << 10},
		{"signed content-length", "SEND\ncontent-length:+2\n\nab\x00", ErrMalformed, 64 << 10},
		{"empty content-length", "SEND\ncontent-length:\n\nab\x00", ErrMalformed, 64 << 10},
		{"content-length at the maximum, 10 bytes sent",
			"SEND\ncontent-length:" + itoa(DefaultMaxFrameSize) + "\n\n0123456789", io.ErrUnexpectedEOF, 256 << 10},
		{"more headers than allowed", many, ErrTooManyHeaders, 1 << 20},
		{"endless header line", "SEND\nh:" + strings.Repeat("v", 1<<20), ErrHeaderTooLong, 512 << 10},
		{"endless command line", strings.Repeat("S", 1<<20), ErrHeaderTooLong, 512 << 10},
		{"endless body without content-length", "SEND\n\n" + strings.Repeat("b", DefaultMaxFrameSize+10), ErrFrameTooLarge, 3 * DefaultMaxFrameSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := connect + tc.in
			var err error
			n := allocated(func() {
				r := NewReader(bufio.NewReaderSize(strings.NewReader(in), 32<<10), Limits{})
				if _, err = r.ReadFrame(); err != nil {
					return
				}
				_, err = r.ReadFrame()
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if n > tc.maxAlloc {
				t.Fatalf("allocated %d bytes, want at most %d", n, tc.maxAlloc)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestLargeBodyReadsIncrementally reads bodies around the size read in one
// piece, sent a byte at a time.
func TestLargeBodyReadsIncrementally(t *testing.T) {
	for _, n := range []int{connbuf.ReadChunk - 1, connbuf.ReadChunk, connbuf.ReadChunk + 1, 3*connbuf.ReadChunk + 7} {
		body := strings.Repeat("x", n)
		in := "SEND\ncontent-length:" + itoa(n) + "\n\n" + body + "\x00"
		r := NewReader(bufio.NewReaderSize(&oneByte{strings.NewReader(in)}, 16), Limits{})
		f, err := r.ReadFrame()
		if err != nil || string(f.Body) != body {
			t.Fatalf("body of %d bytes: read %d bytes, %v", n, len(f.Body), err)
		}
	}
}

type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
