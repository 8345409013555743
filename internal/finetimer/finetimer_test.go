package finetimer

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestAfterFuncAndStop(t *testing.T) {
	fired := make(chan time.Time, 1)
	start := time.Now()
	AfterFunc(300*time.Microsecond, func() { fired <- time.Now() })
	if at := <-fired; at.Sub(start) < 300*time.Microsecond {
		t.Fatalf("fired after %v, before its 300µs", at.Sub(start))
	}
	var calls atomic.Int32
	tm := AfterFunc(time.Millisecond, func() { calls.Add(1) })
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if tm.Stop() {
		t.Fatal("a second Stop reported true")
	}
	time.Sleep(5 * time.Millisecond)
	if calls.Load() != 0 {
		t.Fatal("a stopped timer called its function")
	}
}

func TestAfter(t *testing.T) {
	start := time.Now()
	<-After(200 * time.Microsecond)
	if d := time.Since(start); d < 200*time.Microsecond {
		t.Fatalf("closed after %v", d)
	}
}

// BenchmarkWait200us compares how long a 200 µs wait takes with this
// package and with the runtime's timers in an otherwise idle process.
func BenchmarkWait200us(b *testing.B) {
	const d = 200 * time.Microsecond
	b.Run("finetimer", func(b *testing.B) {
		for b.Loop() {
			<-After(d)
		}
	})
	b.Run("time.Timer", func(b *testing.B) {
		for b.Loop() {
			<-time.NewTimer(d).C
		}
	})
}

// A wait of a millisecond or more is the runtime's timer: Stop works on
// it, and nothing sleeps on a thread for it.
func TestCoarse(t *testing.T) {
	var calls atomic.Int32
	tm := AfterFunc(time.Hour, func() { calls.Add(1) })
	if !tm.Stop() || calls.Load() != 0 {
		t.Fatal("Stop of an hour's timer")
	}
	fired := make(chan struct{})
	AfterFunc(2*time.Millisecond, func() { close(fired) })
	<-fired
	_ = After(time.Hour) // a pending runtime timer, no goroutine
}
