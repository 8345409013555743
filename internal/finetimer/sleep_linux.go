package finetimer

import (
	"syscall"
	"time"
)

// sleep sleeps for d in the kernel (the thread, not the goroutine),
// resuming after a signal for what is left.
func sleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var left syscall.Timespec
		if err := syscall.Nanosleep(&ts, &left); err != syscall.EINTR {
			return
		}
		ts = left
	}
}
