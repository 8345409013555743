package connbuf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// chunked reads from b at most n bytes at a time, as a socket hands out
// what has arrived.
type chunked struct {
	b []byte
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}

func stream(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestReaderStaysSmallWhileIdle(t *testing.T) {
	// A few frames, each alone on the wire: no read fills the buffer.
	var in []byte
	for range 10 {
		in = append(in, bytes.Repeat([]byte{'x'}, 100)...)
	}
	r := NewReader(&chunked{b: in, n: 100}, 64<<10)
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if r.Size() != Small {
		t.Errorf("buffer %d bytes after an idle stream, want %d", r.Size(), Small)
	}
}

func TestReaderGrowsKeepingWhatItHeld(t *testing.T) {
	in := stream(1 << 20)
	r := NewReader(&chunked{b: in, n: 1 << 20}, 64<<10)
	rnd := rand.New(rand.NewPCG(1, 2))
	var got []byte
	for len(got) < len(in) {
		switch rnd.IntN(4) {
		case 0:
			c, err := r.ReadByte()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		case 1:
			s, err := r.ReadSlice(in[len(got)+min(len(in)-len(got)-1, rnd.IntN(100))])
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				t.Fatal(err)
			}
			got = append(got, s...)
		case 2:
			if _, err := r.Peek(min(16, len(in)-len(got))); err != nil {
				t.Fatal(err)
			}
		default:
			p := make([]byte, 1+rnd.IntN(3000))
			n, err := r.Read(p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p[:n]...)
		}
	}
	if !bytes.Equal(got, in) {
		t.Fatal("bytes read differ from those sent")
	}
	if r.Size() != 64<<10 {
		t.Errorf("buffer %d bytes after a busy stream, want %d", r.Size(), 64<<10)
	}
}

func TestReaderErrors(t *testing.T) {
	r := NewReader(iotest.TimeoutReader(bytes.NewReader(stream(10))), 64<<10)
	if _, err := r.Peek(10); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("error %v, want the connection's", err)
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestWriter(t *testing.T) {
	for _, pool := range []*Pool{nil, new(Pool)} {
		t.Run(fmt.Sprintf("pooled=%v", pool != nil), func(t *testing.T) { testWriter(t, pool) })
	}
}

func testWriter(t *testing.T, pool *Pool) {
	t.Run("idle", func(t *testing.T) {
		var out countingWriter
		w := NewWriter(&out, 64<<10, pool)
		for i := range 10 { // each frame flushed alone, one of them larger than the buffer
			n := 100
			if i == 5 {
				n = 3 * Small
			}
			w.Write(stream(n))
			w.Flush()
			if pool != nil && w.bw != nil {
				t.Fatal("a pooled writer holds a buffer after a flush")
			}
		}
		if w.Size() != Small {
			t.Errorf("buffer %d bytes after frames written one at a time, want %d", w.Size(), Small)
		}
		if got := out.Len(); got != 9*100+3*Small {
			t.Errorf("%d bytes written, want %d", got, 9*100+3*Small)
		}
	})
	t.Run("batching", func(t *testing.T) {
		var out countingWriter
		w := NewWriter(&out, 64<<10, pool)
		var want []byte
		for i := range 1000 {
			p := stream(1 + i%1500)
			want = append(want, p...)
			if _, err := w.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatal("bytes written differ from those given")
		}
		if w.Size() != 64<<10 {
			t.Errorf("buffer %d bytes after batched frames, want %d", w.Size(), 64<<10)
		}
		if max := len(want)/(64<<10) + 4; out.writes > max {
			t.Errorf("%d writes for %d bytes, want at most %d", out.writes, len(want), max)
		}
	})
	t.Run("error", func(t *testing.T) {
		w := NewWriter(failingWriter{}, 64<<10, pool)
		w.Write(stream(100))
		if _, err := w.Write(stream(Small)); !errors.Is(err, errBroken) {
			t.Fatalf("error %v, want the connection's", err)
		}
		w = NewWriter(failingWriter{}, 64<<10, pool)
		w.Write(stream(100))
		if err := w.Flush(); !errors.Is(err, errBroken) {
			t.Fatalf("flush: %v, want the connection's error", err)
		}
		if err := w.Flush(); !errors.Is(err, errBroken) {
			t.Fatalf("second flush: %v, want the error again", err)
		}
	})
}

var errBroken = errors.New("broken")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errBroken }
