// Package finetimer waits for less than a millisecond, and means it.
//
// The Go runtime fires a timer from the network poller when no goroutine
// is running, and the poller waits in whole milliseconds: on Linux a
// 200 µs time.Timer in a process that is otherwise waiting for I/O fires
// after about 1.1 ms (measured on the project's machine: p50 1.088 ms,
// p99 1.114 ms). Group commit waits of a few hundred microseconds are
// exactly that case: the writer is alone, waiting for company. These
// timers sleep in the kernel instead (nanosleep on a goroutine of their
// own, which holds a thread while it sleeps): the same 200 µs wait takes
// about 300 µs there. A wait of a millisecond or more is the runtime's
// timer (its error is small beside it, and it holds no thread).
package finetimer

import "time"

// fine is the longest wait slept in the kernel.
const fine = time.Millisecond

// After returns a channel that is closed once d has passed.
func After(d time.Duration) <-chan struct{} {
	c := make(chan struct{})
	if d >= fine {
		time.AfterFunc(d, func() { close(c) })
		return c
	}
	go func() {
		sleep(d)
		close(c)
	}()
	return c
}
