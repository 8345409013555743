package replication

import (
	"sync"
	"time"
)

// repeatInterval is how often a line that repeats while one condition
// lasts is written at most (with the count of those held back).
const repeatInterval = 30 * time.Second

// repeatKey is what a repeating line is about: a family of lines (or one
// message) and the member it names, if any.
type repeatKey struct{ family, peer string }

// repeats holds back lines that say the same thing again: of the lines
// with one key, the first is written, then at most one an interval, which
// carries the count of those held back in between. reset ends the
// condition (the member answers again), so that the next failure is
// written at once.
type repeats struct {
	interval time.Duration
	now      func() time.Time

	mu struct {
		sync.Mutex
		seen map[repeatKey]*repeat
	}
}

type repeat struct {
	first   time.Time // the first line of the condition
	written time.Time // the last line written
	held    int       // held back since written
	total   int       // lines of the condition, written or not
}

func newRepeats(interval time.Duration, now func() time.Time) *repeats {
	if now == nil {
		now = time.Now
	}
	r := &repeats{interval: interval, now: now}
	r.mu.seen = map[repeatKey]*repeat{}
	return r
}

// admit reports whether a line with key is to be written now; when it is,
// held is how many were held back since the last one written and lasted
// how long the condition has lasted.
func (r *repeats) admit(key repeatKey) (ok bool, held int, lasted time.Duration) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.mu.seen[key]
	if e == nil {
		r.mu.seen[key] = &repeat{first: now, written: now, total: 1}
		return true, 0, 0
	}
	e.total++
	if now.Sub(e.written) < r.interval {
		e.held++
		return false, 0, 0
	}
	held, e.held, e.written = e.held, 0, now
	return true, held, now.Sub(e.first)
}

// resetPeer ends every condition about peer and reports whether there was
// one, since when the earliest lasted and how many lines it had in all.
func (r *repeats) resetPeer(peer string) (ok bool, since time.Time, lines int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, e := range r.mu.seen {
		if k.peer != peer {
			continue
		}
		if !ok || e.first.Before(since) {
			since = e.first
		}
		ok = true
		lines = max(lines, e.total)
		delete(r.mu.seen, k)
	}
	return ok, since, lines
}

// reset ends every condition (leadership changed: what a leader or a
// candidate saw no longer goes on).
func (r *repeats) reset() {
	r.mu.Lock()
	clear(r.mu.seen)
	r.mu.Unlock()
}
