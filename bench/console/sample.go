package main

import (
	"flag"
	"slices"
	"sync"
	"time"

	"github.com/piermq/pier/bench/internal/proc"
)

// usage is what a broker process used over a measured stretch.
type usage struct {
	rssBefore, rssPeak, rssAfter int64 // KiB
	cpu                          time.Duration
}

// kv returns the figures as key=value pairs named with prefix.
func (u usage) kv(prefix string) []any {
	return []any{prefix + "rss_before_kb", u.rssBefore, prefix + "rss_peak_kb", u.rssPeak,
		prefix + "rss_after_kb", u.rssAfter, prefix + "cpu_ms", proc.Ms(u.cpu)}
}

// watch runs f while sampling p's RSS every 100 ms (the peak includes the
// figures before and after). PID 0 measures nothing.
func watch(p proc.Proc, f func() error) (usage, error) {
	var u usage
	var err error
	if u.rssBefore, err = p.RSSKB(); err != nil {
		return u, err
	}
	cpu0, err := p.CPU()
	if err != nil {
		return u, err
	}
	u.rssPeak = u.rssBefore
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
				u.rssPeak = max(u.rssPeak, kb)
				mu.Unlock()
			}
		}
	})
	ferr := f()
	close(stop)
	wg.Wait()
	cpu1, err := p.CPU()
	if err == nil {
		u.cpu = cpu1 - cpu0
		u.rssAfter, err = p.RSSKB()
		u.rssPeak = max(u.rssPeak, u.rssAfter)
	}
	if ferr != nil {
		return u, ferr
	}
	return u, err
}

// timings are the durations of repeated runs of one step.
type timings []time.Duration

// median is the lower middle one (0 when empty).
func (ts timings) median() time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// max is the longest (0 when empty).
func (ts timings) max() time.Duration {
	if len(ts) == 0 {
		return 0
	}
	return slices.Max(ts)
}

// first is the first run's (0 when empty).
func (ts timings) first() time.Duration {
	if len(ts) == 0 {
		return 0
	}
	return ts[0]
}

// brokerFlags adds --pid and --clk-tck, the broker process watched, to fs.
func brokerFlags(fs *flag.FlagSet, p *proc.Proc) {
	fs.IntVar(&p.PID, "pid", 0, "the broker process whose CPU time and memory are reported (0: none)")
	fs.IntVar(&p.ClkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
}
