package netserve

import (
	"bytes"
	"context"
	"net"
	"strings"
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
