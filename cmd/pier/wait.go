package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// notice is a line said on stderr when a wait lasts: a command that
// waits quietly for a broker or a message looks hung.
type notice struct {
	cancel chan struct{}
	done   chan struct{}
	once   sync.Once
}

// sayAfter writes the line (format and args, a newline added) to w unless
// stop is called within d.
func sayAfter(d time.Duration, w io.Writer, format string, args ...any) *notice {
	n := &notice{cancel: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(n.done)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			fmt.Fprintf(w, "pier: "+format+"\n", args...)
		case <-n.cancel:
		}
	}()
	return n
}

// stop cancels the line if it has not been said, and returns once it
// cannot be any more; it may be called more than once.
func (n *notice) stop() {
	n.once.Do(func() { close(n.cancel) })
	<-n.done
}

// sendWatch says on stderr when one send waits long for the broker (a
// producer held back by flow control waits up to the broker's timeout).
type sendWatch struct {
	w     io.Writer
	what  string
	after time.Duration
	since atomic.Int64 // unix nanos the current send began; 0 between sends
	n     atomic.Int64 // the number of the current message, from 1
	said  atomic.Int64 // the message last said to wait
	quit  chan struct{}
	done  chan struct{}
}

// watchSends starts a watch that says, once per message, that a send of
// a message to what has waited longer than after.
func watchSends(w io.Writer, what string, after time.Duration) *sendWatch {
	s := &sendWatch{w: w, what: what, after: after, quit: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *sendWatch) run() {
	defer close(s.done)
	t := time.NewTicker(s.after / 4)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		since, n := s.since.Load(), s.n.Load()
		if since != 0 && time.Since(time.Unix(0, since)) >= s.after && s.said.Swap(n) != n {
			fmt.Fprintf(s.w, "pier: waiting for the broker to accept message %d for %s (a broker whose memory or store is full holds producers back; a failover URL waits for a broker)\n", n, s.what)
		}
	}
}

// begin notes that the send of message n (from 1) begins; end that it
// ended.
func (s *sendWatch) begin(n int) { s.n.Store(int64(n)); s.since.Store(time.Now().UnixNano()) }
func (s *sendWatch) end()        { s.since.Store(0) }

// close stops the watch and returns once it cannot write any more.
func (s *sendWatch) close() {
	close(s.quit)
	<-s.done
}
