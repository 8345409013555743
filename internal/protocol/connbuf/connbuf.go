// Package connbuf holds a client connection's read and write buffers: small
// while the connection is idle, large once it is busy. Ten thousand idle
// connections then hold Small bytes to read into, and none to write from
// between writes, instead of the large buffers a busy connection wants for
// batching its reads and writes (64 KiB each way was 1.3 GB of heap for
// 10,000 idle OpenWire connections, resident once reused).
package connbuf

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"sync"
)

// Small is the size of each buffer of a connection until it is busy.
const Small = 4 << 10

// growAfter is how many reads from the connection must fill the small read
// buffer before it grows: one message larger than the buffer fills it once
// (the rest of the message is read past the buffer), a stream of messages
// fills it every time.
const growAfter = 4

// Reader is a bufio.Reader of Small bytes over a connection that moves to
// a buffer of the large size once growAfter reads from the connection have
// filled it; what it had buffered is read first. Like a bufio.Reader, it is
// not safe for concurrent use, and a slice from ReadSlice or Peek is valid
// until the next read.
type Reader struct {
	src   fillCounter
	br    *bufio.Reader
	large int
}

// fillCounter counts the reads that filled the buffer they were given.
type fillCounter struct {
	rd    io.Reader
	fills int
}

func (f *fillCounter) Read(p []byte) (int, error) {
	n, err := f.rd.Read(p)
	if n == len(p) && n > 0 {
		f.fills++
	}
	return n, err
}

// NewReader returns a Reader over rd that grows to large bytes (at least
// Small).
func NewReader(rd io.Reader, large int) *Reader {
	r := &Reader{src: fillCounter{rd: rd}, large: max(large, Small)}
	r.br = bufio.NewReaderSize(&r.src, Small)
	return r
}

// buf returns the buffer to read from, grown first when the connection is
// busy.
func (r *Reader) buf() *bufio.Reader {
	if r.src.fills >= growAfter && r.br.Size() < r.large {
		var src io.Reader = &r.src
		if n := r.br.Buffered(); n > 0 {
			held, _ := r.br.Peek(n)
			src = io.MultiReader(bytes.NewReader(bytes.Clone(held)), src)
		}
		r.br = bufio.NewReaderSize(src, r.large)
	}
	return r.br
}

// Size returns the size of the buffer in use.
func (r *Reader) Size() int { return r.br.Size() }

// Read reads as bufio.Reader.Read does.
func (r *Reader) Read(p []byte) (int, error) { return r.buf().Read(p) }

// ReadByte reads as bufio.Reader.ReadByte does.
func (r *Reader) ReadByte() (byte, error) { return r.buf().ReadByte() }

// ReadSlice reads as bufio.Reader.ReadSlice does.
func (r *Reader) ReadSlice(delim byte) ([]byte, error) { return r.buf().ReadSlice(delim) }

// Peek returns the next n bytes without reading them, as
// bufio.Reader.Peek does.
func (r *Reader) Peek(n int) ([]byte, error) { return r.buf().Peek(n) }

// Buffered returns how many bytes can be read without reading the
// connection.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Writer is a bufio.Writer of Small bytes over a connection that moves to
// a buffer of the large size the first time a write does not fit beside
// what it holds (frames are being batched). Until then, with a Pool, it
// holds its small buffer only from a write to the next flush: an idle
// connection holds none. It is not safe for concurrent use.
type Writer struct {
	w     io.Writer
	bw    *bufio.Writer // nil between flushes while small and pooled
	pool  *Pool
	large int
}

// Pool lends small write buffers to the Writers made with it. Its zero
// value is ready to use; it is safe for concurrent use.
type Pool struct{ p sync.Pool }

func (p *Pool) get(w io.Writer) *bufio.Writer {
	if bw, ok := p.p.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, Small)
}

func (p *Pool) put(bw *bufio.Writer) {
	bw.Reset(nil)
	p.p.Put(bw)
}

// NewWriter returns a Writer to w that grows to large bytes (at least
// Small), taking its small buffer from pool (nil: a buffer of its own).
func NewWriter(w io.Writer, large int, pool *Pool) *Writer {
	wr := &Writer{w: w, pool: pool, large: max(large, Small)}
	if pool == nil {
		wr.bw = bufio.NewWriterSize(w, Small)
	}
	return wr
}

// Size returns the size of the buffer in use.
func (w *Writer) Size() int {
	if w.bw == nil {
		return Small
	}
	return w.bw.Size()
}

// Write writes as bufio.Writer.Write does.
func (w *Writer) Write(p []byte) (int, error) {
	if w.bw == nil {
		w.bw = w.pool.get(w.w)
	}
	if len(p) > w.bw.Available() && w.bw.Buffered() > 0 && w.bw.Size() < w.large {
		if err := w.bw.Flush(); err != nil {
			return 0, err
		}
		if w.pool != nil {
			w.pool.put(w.bw)
		}
		w.bw = bufio.NewWriterSize(w.w, w.large)
	}
	return w.bw.Write(p)
}

// Flush writes what is buffered, as bufio.Writer.Flush does, and gives a
// small buffer back to the pool.
func (w *Writer) Flush() error {
	if w.bw == nil {
		return nil
	}
	err := w.bw.Flush()
	if err == nil && w.pool != nil && w.bw.Size() < w.large {
		w.pool.put(w.bw)
		w.bw = nil
	}
	return err
}

// ReadChunk is how much of a declared body ReadN allocates before its
// bytes arrive.
const ReadChunk = 64 << 10

// ReadN reads exactly n bytes of a body whose length the peer declared.
// It allocates at most ReadChunk before bytes arrive and then at most twice
// what it has read so far, so a peer that announces a large frame and sends
// nothing holds little memory.
func ReadN(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, 0, min(n, ReadChunk))
	for len(b) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, min(len(b), n-len(b)))
		}
		k, err := io.ReadFull(r, b[len(b):min(cap(b), n)])
		b = b[:len(b)+k]
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}
