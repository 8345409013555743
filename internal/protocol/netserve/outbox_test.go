package netserve

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOutboxWritesInOrderAndDrainsOnClose(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	o := NewOutbox[string]()
	var buf bytes.Buffer
	go o.Run(context.Background(), Writer[string]{Conn: a, Timeout: time.Second,
		Write: func(s string) error { buf.WriteString(s); return nil },
		Flush: func() error { return nil },
		Beat:  func() error { buf.WriteString("♥"); return nil },
	})
	for _, s := range []string{"a", "b", "c"} {
		if !o.Push(s) {
			t.Fatal("push refused before Close")
		}
	}
	o.Close()
	if o.Push("late") {
		t.Fatal("push accepted after Close")
	}
	select {
	case <-o.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("writer did not return after Close")
	}
	if got := buf.String(); got != "abc" {
		t.Fatalf("wrote %q", got)
	}
}

func TestOutboxBeatsWhenIdle(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	o := NewOutbox[string]()
	beats := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	go o.Run(ctx, Writer[string]{Conn: a, Timeout: time.Second,
		Write: func(string) error { return nil },
		Flush: func() error { return nil },
		Beat:  func() error { beats <- struct{}{}; return nil },
	})
	o.SetBeat(20 * time.Millisecond)
	for i := 0; i < 3; i++ {
		select {
		case <-beats:
		case <-time.After(5 * time.Second):
			t.Fatal("no heart-beat while idle")
		}
	}
	cancel()
	<-o.Done()
}

func TestOutboxClosesConnOnWriteError(t *testing.T) {
	a, b := net.Pipe()
	o := NewOutbox[string]()
	go o.Run(context.Background(), Writer[string]{Conn: a, Timeout: time.Second,
		Write: func(string) error { return net.ErrClosed },
		Flush: func() error { return nil },
		Beat:  func() error { return nil },
	})
	o.Push("x")
	<-o.Done()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := b.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("connection not closed after a failed write: %v", err)
	}
}

// Write and Push from a read loop and from dispatchers at once: every item
// is written exactly once, each caller's items in the order it gave them,
// and never two writers at the same time (the race detector watches buf).
func TestOutboxWriteBesidePush(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	o := NewOutbox[string]()
	var got []string
	var inWrite atomic.Bool
	go o.Run(context.Background(), Writer[string]{Conn: a, Timeout: time.Second,
		Write: func(s string) error {
			if !inWrite.CompareAndSwap(false, true) {
				t.Error("two writers at once")
			}
			got = append(got, s)
			inWrite.Store(false)
			return nil
		},
		Flush: func() error { return nil },
		Beat:  func() error { return nil },
	})
	const n = 2000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			o.Write(fmt.Sprintf("w%d", i))
		}
	})
	wg.Go(func() {
		for i := range n {
			o.Push(fmt.Sprintf("p%d", i))
		}
	})
	wg.Wait()
	o.Close()
	<-o.Done()
	if len(got) != 2*n {
		t.Fatalf("%d items written, want %d", len(got), 2*n)
	}
	next := map[byte]int{}
	for _, s := range got {
		if i, _ := strconv.Atoi(s[1:]); i != next[s[0]] {
			t.Fatalf("%s written when %c%d was due", s, s[0], next[s[0]])
		}
		next[s[0]]++
	}
}

// A Write while nothing is queued is written in the caller's goroutine,
// before Write returns.
func TestOutboxWriteWritesAtOnce(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	o := NewOutbox[string]()
	var written atomic.Int32
	go o.Run(context.Background(), Writer[string]{Conn: a, Timeout: time.Second,
		Write: func(string) error { written.Add(1); return nil },
		Flush: func() error { return nil },
		Beat:  func() error { return nil },
	})
	for running := false; !running; { // until Run has begun (before, Write queues)
		o.mu.Lock()
		running = o.mu.w != nil
		o.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	for i := range 10 {
		o.Write("x")
		if got := written.Load(); got != int32(i+1) {
			t.Fatalf("after Write %d: %d items written", i+1, got)
		}
	}
	o.Close()
	<-o.Done()
}
