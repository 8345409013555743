package bench

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// startProgress draws a progress line on cfg.Progress every 250 ms until
// the returned stop function is called (which draws a final line).
func (r *run) startProgress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprint(r.cfg.Progress, "\r"+r.progressLine(time.Now()))
			case <-done:
				fmt.Fprint(r.cfg.Progress, "\r"+r.progressLine(time.Now())+"\n")
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// progressLine renders e.g. "[#####.....]  50%  sent 5000  recv 4990  9985 msg/s  1.0s".
func (r *run) progressLine(now time.Time) string {
	elapsed := now.Sub(r.start)
	sent, recv := r.sent.Load(), r.received.Load()
	var frac float64
	switch {
	case r.cfg.Count > 0:
		want := float64(r.cfg.Count)
		if r.cfg.Consumers > 0 {
			frac = float64(recv) / (want * float64(max(1, r.expectedCopies())))
		} else {
			frac = float64(sent) / want
		}
	case r.cfg.Duration > 0:
		frac = float64(elapsed) / float64(r.cfg.Duration)
	}
	frac = min(max(frac, 0), 1)
	const width = 30
	filled := int(frac * width)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(sent) / s
	}
	return fmt.Sprintf("[%s%s] %3.0f%%  sent %d  recv %d  %.0f msg/s  %.1fs ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), frac*100, sent, recv, rate, elapsed.Seconds())
}

func (r *run) expectedCopies() int {
	if r.cfg.topic() {
		return r.cfg.Consumers
	}
	return 1
}
