package server

import (
	"context"
	"runtime/debug"
	"time"
)

// After a backlog has drained, the Go heap stays as large as the backlog
// made it. An idle broker allocates nothing, so the collector does not run
// until the runtime forces it (every two minutes): until then the dead
// messages count as heap in use, and the scavenger keeps the heap's pages
// resident up to the goal of the last collection, made with the backlog
// live (issue 15: 101 MB RSS 90 s after a 100,000-message run, idle at
// 15 MB). The trimmer watches the broker's message memory, and when a
// backlog of at least trimFrom bytes has drained to an eighth of its peak
// it has the runtime collect and return the free pages at once
// (debug.FreeOSMemory; 32 ms after a 75 MiB backlog on a 2-core VM, most
// of it returning 230 MB of pages). A large drain is what makes that worth
// its cost; memory that is merely held (a deep queue at rest) never
// triggers it, nor does steady traffic without a backlog.
const (
	trimFrom   = 16 << 20
	trimSample = time.Second
)

// trimmer decides when to return memory to the operating system from
// samples of the bytes of message bodies in memory.
type trimmer struct {
	from int64 // the smallest peak worth a trim
	peak int64 // the highest sample since the last trim
}

// observe takes one sample and reports whether to trim now, and the peak
// that drained: the peak since the last trim was at least t.from and used
// is at most an eighth of it. A trim starts the next peak from used.
func (t *trimmer) observe(used int64) (peak int64, ok bool) {
	t.peak = max(t.peak, used)
	if t.peak < t.from || used > t.peak/8 {
		return 0, false
	}
	peak, t.peak = t.peak, used
	return peak, true
}

// trim samples used every interval until ctx ends and calls free with the
// drained peak when the trimmer says so.
func trim(ctx context.Context, t *trimmer, interval time.Duration, used func() int64, free func(peak int64)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if peak, ok := t.observe(used()); ok {
				free(peak)
			}
		}
	}
}

// startTrim runs the trimmer over the span's broker beside its services.
func (s *Server) startTrim(ctx context.Context, sp *span) {
	sp.svcs.Add(1)
	go func() {
		defer sp.svcs.Done()
		trim(ctx, &trimmer{from: trimFrom}, trimSample, sp.b.MemoryUsed, func(peak int64) {
			start := time.Now()
			debug.FreeOSMemory()
			s.log.Debug("backlog drained; memory returned to the system",
				"peak_bytes", peak, "took", time.Since(start).Round(time.Microsecond).String())
		})
	}()
}
