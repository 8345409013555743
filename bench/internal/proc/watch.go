package proc

import (
	"flag"
	"sync"
	"time"
)

// Usage is what a process used over a measured stretch.
type Usage struct {
	RSSBefore, RSSPeak, RSSAfter int64 // KiB
	CPU                          time.Duration
}

// KV returns the figures as key=value pairs (for Line) named with prefix.
func (u Usage) KV(prefix string) []any {
	return []any{prefix + "rss_before_kb", u.RSSBefore, prefix + "rss_peak_kb", u.RSSPeak,
		prefix + "rss_after_kb", u.RSSAfter, prefix + "cpu_ms", Ms(u.CPU)}
}

// Watch runs f while sampling p's RSS every 100 ms (the peak includes the
// figures before and after). PID 0 measures nothing.
func Watch(p Proc, f func() error) (Usage, error) {
	var u Usage
	var err error
	if u.RSSBefore, err = p.RSSKB(); err != nil {
		return u, err
	}
	cpu0, err := p.CPU()
	if err != nil {
		return u, err
	}
	u.RSSPeak = u.RSSBefore
	stop := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if kb, err := p.RSSKB(); err == nil {
				mu.Lock()
				u.RSSPeak = max(u.RSSPeak, kb)
				mu.Unlock()
			}
		}
	})
	ferr := f()
	close(stop)
	wg.Wait()
	cpu1, err := p.CPU()
	if err == nil {
		u.CPU = cpu1 - cpu0
		u.RSSAfter, err = p.RSSKB()
		u.RSSPeak = max(u.RSSPeak, u.RSSAfter)
	}
	if ferr != nil {
		return u, ferr
	}
	return u, err
}

// Flags adds --pid and --clk-tck, the process watched, to fs.
func Flags(fs *flag.FlagSet, p *Proc) {
	fs.IntVar(&p.PID, "pid", 0, "the broker process whose CPU time and memory are reported (0: none)")
	fs.IntVar(&p.ClkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
}
