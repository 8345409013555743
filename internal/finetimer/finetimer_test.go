package finetimer

import (
	"testing"
	"time"
)

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

// A wait of a millisecond or more is the runtime's timer: nothing sleeps
// on a thread for it.
func TestCoarse(t *testing.T) {
	start := time.Now()
	<-After(2 * time.Millisecond)
	if d := time.Since(start); d < 2*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
	_ = After(time.Hour) // a pending runtime timer, no goroutine
}
