package netserve

import (
	"context"
	"net"
	"sync"
	"time"
)

// Outbox is the queue between everything that produces a connection's
// output (its read loop, the broker's dispatchers) and the connection's one
// writer goroutine (Run). Pushing never blocks; what can be queued is
// bounded by the protocol (prefetch windows, answers to requests).
type Outbox[T any] struct {
	wake  chan struct{}
	beats chan time.Duration
	done  chan struct{}
	mu    struct {
		sync.Mutex
		items  []T
		closed bool
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
	var tick <-chan time.Time
	var every time.Duration
	last := time.Now()
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
			if now.Sub(last) >= every/2 {
				w.Conn.SetWriteDeadline(time.Now().Add(w.Timeout))
				if w.Beat() != nil || w.Flush() != nil {
					fail()
					return
				}
				last = now
			}
			continue
		case <-ctx.Done():
			return
		}
		o.mu.Lock()
		items, closed := o.mu.items, o.mu.closed
		o.mu.items = nil
		o.mu.Unlock()
		w.Conn.SetWriteDeadline(time.Now().Add(w.Timeout))
		for _, it := range items {
			if err := w.Write(it); err != nil {
				fail()
				return
			}
		}
		if err := w.Flush(); err != nil {
			fail()
			return
		}
		last = time.Now()
		if closed {
			return
		}
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
