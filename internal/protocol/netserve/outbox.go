package netserve

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Outbox is the queue between everything that produces a connection's
// output (its read loop, the broker's dispatchers) and the connection's one
// writer goroutine (Run). Pushing never blocks; what can be queued is
// bounded by the protocol (prefetch windows, answers to requests).
//
// A read loop answering its peer's request may Write instead of Push: when
// nothing else is being written it writes in its own goroutine, sparing
// the hand-over to the writer goroutine and back (on a loaded machine tens
// of microseconds a request).
type Outbox[T any] struct {
	wake  chan struct{}
	beats chan time.Duration
	done  chan struct{}
	last  atomic.Int64 // unix nanoseconds of the last flush, for beats
	mu    struct {
		sync.Mutex
		items   []T
		closed  bool
		writing bool       // Run or a Write is writing: nobody else may
		w       *Writer[T] // Run's, once it started; nil after it ended
	}
}

// NewOutbox returns an empty outbox.
func NewOutbox[T any]() *Outbox[T] {
	return &Outbox[T]{wake: make(chan struct{}, 1), beats: make(chan time.Duration, 1), done: make(chan struct{})}
}

// Push queues it for the writer; it reports false once the outbox is closed.
func (o *Outbox[T]) Push(it T) bool {
	o.mu.Lock()
	if o.mu.closed {
		o.mu.Unlock()
		return false
	}
	o.mu.items = append(o.mu.items, it)
	o.mu.Unlock()
	o.signal()
	return true
}

// Close queues nothing more: the writer writes what is queued, flushes and
// returns.
func (o *Outbox[T]) Close() {
	o.mu.Lock()
	o.mu.closed = true
	o.mu.Unlock()
	o.signal()
}

// Write writes it at once, in the caller's goroutine, when nothing is
// queued or being written, and otherwise queues it as Push does. It
// reports false once the outbox is closed. It may block for as long as
// the peer takes to read (up to the writer's Timeout), so call it only
// from a connection's own read loop, holding no lock others wait for. A
// failed write closes the connection, as in Run.
func (o *Outbox[T]) Write(it T) bool {
	o.mu.Lock()
	if o.mu.closed {
		o.mu.Unlock()
		return false
	}
	w := o.mu.w
	if w == nil || o.mu.writing || len(o.mu.items) > 0 {
		o.mu.items = append(o.mu.items, it)
		o.mu.Unlock()
		o.signal()
		return true
	}
	o.mu.writing = true
	o.mu.Unlock()
	err := o.flush(w, func() error { return w.Write(it) })
	o.mu.Lock()
	o.mu.writing = false
	more := len(o.mu.items) > 0 || o.mu.closed
	o.mu.Unlock()
	if err != nil {
		w.Conn.Close()
	}
	if more {
		o.signal() // what was pushed meanwhile waits for Run
	}
	return true
}

func (o *Outbox[T]) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// SetBeat makes the writer send a heart-beat whenever it would otherwise
// stay silent longer than d. Call it at most once.
func (o *Outbox[T]) SetBeat(d time.Duration) { o.beats <- d }

// Done is closed when Run has returned.
func (o *Outbox[T]) Done() <-chan struct{} { return o.done }

// Writer is what Run needs from a protocol.
type Writer[T any] struct {
	Conn    net.Conn      // closed by Run when a write fails
	Timeout time.Duration // bounds each batch of writes
	Write   func(T) error // encodes one item (buffered)
	Flush   func() error
	Beat    func() error // writes one heart-beat (buffered)
}

// Run is the writer goroutine: it writes what is pushed, flushing when the
// queue is drained, beats while idle, and returns once the outbox is closed
// and drained, ctx is done, or a write fails (then it closes the
// connection).
func (o *Outbox[T]) Run(ctx context.Context, w Writer[T]) {
	defer close(o.done)
	o.mu.Lock()
	o.mu.w = &w
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.mu.w = nil
		o.mu.Unlock()
	}()
	var tick <-chan time.Time
	var every time.Duration
	o.last.Store(time.Now().UnixNano())
	fail := func() { w.Conn.Close() }
	for {
		select {
		case <-o.wake:
		case every = <-o.beats:
			// Ticks every half interval, beating when idle for half of it,
			// keep every silence within the interval.
			t := time.NewTicker(every / 2)
			defer t.Stop()
			tick = t.C
			continue
		case now := <-tick:
			if now.Sub(time.Unix(0, o.last.Load())) < every/2 || !o.claim() {
				continue
			}
			err := o.flush(&w, w.Beat)
			o.release()
			if err != nil {
				fail()
				return
			}
			continue
		case <-ctx.Done():
			return
		}
		o.mu.Lock()
		if o.mu.writing {
			// A Write is under way; it signals when it is done.
			o.mu.Unlock()
			continue
		}
		items, closed := o.mu.items, o.mu.closed
		o.mu.items = nil
		o.mu.writing = len(items) > 0
		o.mu.Unlock()
		if len(items) > 0 {
			err := o.flush(&w, func() error {
				for _, it := range items {
					if err := w.Write(it); err != nil {
						return err
					}
				}
				return nil
			})
			o.release()
			if err != nil {
				fail()
				return
			}
		}
		if closed {
			// Wait for a Write still under way to finish its flush.
			o.mu.Lock()
			busy := o.mu.writing
			o.mu.Unlock()
			if !busy {
				return
			}
		}
	}
}

// flush writes (with write) and flushes within w.Timeout, by the one
// writer that holds the outbox.
func (o *Outbox[T]) flush(w *Writer[T], write func() error) error {
	w.Conn.SetWriteDeadline(time.Now().Add(w.Timeout))
	err := write()
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		o.last.Store(time.Now().UnixNano())
	}
	return err
}

// claim marks the outbox as being written by Run, unless a Write is.
func (o *Outbox[T]) claim() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mu.writing {
		return false
	}
	o.mu.writing = true
	return true
}

// release ends Run's writing, and wakes Run again if items were queued
// meanwhile.
func (o *Outbox[T]) release() {
	o.mu.Lock()
	o.mu.writing = false
	more := len(o.mu.items) > 0
	o.mu.Unlock()
	if more {
		o.signal()
	}
}

// Finish ends a connection whose read loop has returned, in the order every
// protocol needs. The outbox takes nothing more and the writer gets up to
// timeout to write and flush what is queued; stop then ends the writer (and
// whatever else runs on the connection's context), release frees what the
// connection holds in the broker (its client id, its subscriptions), and nc
// is closed. With linger — the server ended the connection, typically after
// an error frame, while the peer may still be sending (see Linger) — and a
// writer that flushed everything, nc is closed by CloseAfterError, after
// release so that a client reconnecting at once finds its old connection
// gone; otherwise it is closed at once.
func (o *Outbox[T]) Finish(nc net.Conn, timeout time.Duration, linger bool, stop, release func()) {
	o.Close()
	t := time.NewTimer(timeout)
	flushed := false
	select {
	case <-o.done:
		flushed = true
	case <-t.C:
	}
	t.Stop()
	stop()
	linger = linger && flushed
	if !linger {
		nc.Close() // also ends a writer stuck in a write
	}
	<-o.done
	release()
	if linger {
		CloseAfterError(nc, DrainTime)
	}
}
