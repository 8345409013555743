package raftlog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/vfs"
)

// crashOp is one change to the log in a crash test.
type crashOp struct {
	kind     string // "store", "prefix", "suffix", "all"
	batch    []*raft.Log
	min, max uint64
}

func (o crashOp) run(l *Log) error {
	if o.kind == "store" {
		return l.StoreLogs(o.batch)
	}
	return l.DeleteRange(o.min, o.max)
}

// apply returns the log m after o.
func (o crashOp) apply(m []*raft.Log) []*raft.Log {
	if o.kind == "store" {
		return append(m[:len(m):len(m)], o.batch...)
	}
	var out []*raft.Log
	for _, e := range m {
		if e.Index < o.min || e.Index > o.max {
			out = append(out, e)
		}
	}
	return out
}

// allowed reports whether got is a state the log may be in after a crash
// during o, from m: before or after o; for a suffix or whole delete also
// any prefix of m between the two.
func (o crashOp) allowed(m, got []*raft.Log) bool {
	after := o.apply(m)
	if sameLog(got, m) || sameLog(got, after) {
		return true
	}
	if o.kind == "suffix" || o.kind == "all" {
		return len(got) >= len(after) && len(got) <= len(m) && sameLog(got, m[:len(got)])
	}
	return false
}

func sameLog(a, b []*raft.Log) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameEntry(a[i], b[i]) {
			return false
		}
	}
	return true
}

// randomOp picks the next change to log m: mostly appends (sometimes after
// a gap), sometimes deletes of a prefix, a suffix or everything.
func randomOp(rng *rand.Rand, m []*raft.Log, term uint64) crashOp {
	if len(m) > 0 {
		first, last := m[0].Index, m[len(m)-1].Index
		switch r := rng.IntN(20); {
		case r < 2 && len(m) > 1:
			return crashOp{kind: "prefix", min: first, max: m[rng.IntN(len(m)-1)].Index}
		case r < 4 && len(m) > 1:
			return crashOp{kind: "suffix", min: m[1+rng.IntN(len(m)-1)].Index, max: last}
		case r < 5 && rng.IntN(4) == 0:
			return crashOp{kind: "all", min: first, max: last}
		}
	}
	next := uint64(1)
	if len(m) > 0 {
		next = m[len(m)-1].Index + 1
	}
	if rng.IntN(15) == 0 {
		next += uint64(rng.IntN(20)) // a gap, as after a snapshot install
	}
	batch := entries(next, next+uint64(rng.IntN(8)), term)
	for _, e := range batch {
		e.Data = make([]byte, rng.IntN(400))
		for i := range e.Data {
			e.Data[i] = byte(e.Index + e.Term + uint64(i))
		}
	}
	return crashOp{kind: "store", batch: batch}
}

// readLog returns every entry of l, ascending.
func readLog(t *testing.T, l *Log) []*raft.Log {
	t.Helper()
	first, err := l.FirstIndex()
	must(t, err)
	last, err := l.LastIndex()
	must(t, err)
	var out []*raft.Log
	for i := first; i != 0 && i <= last; i++ {
		e := new(raft.Log)
		err := l.GetLog(i, e)
		if errors.Is(err, raft.ErrLogNotFound) && i != first && i != last {
			continue
		}
		must(t, err)
		out = append(out, e)
	}
	return out
}

// crashSeeds is how many workloads TestCrash runs: $PIER_CRASH_SEEDS, or 30.
func crashSeeds(t *testing.T) uint64 {
	if s := os.Getenv("PIER_CRASH_SEEDS"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if testing.Short() {
		return 5
	}
	return 30
}

// TestCrash runs random workloads on a MemFS with small segments and
// crashes the machine at random points: every file-system operation after
// the N-th fails, then the unsynced writes are lost (or, half the time, a
// random part of them survives), sometimes again during the recovery. After
// every crash the log must be as it was before the change in flight, or
// after it (for a suffix delete, also anything in between): every
// StoreLogs and DeleteRange that returned is in effect, no batch is
// partly there. Each workload runs with spare segments prepared in the
// background (as in production: where the preparer's file operations fall
// among the log's varies from run to run), in the caller (the same
// operations every run: a seed that fails fails again), and never.
func TestCrash(t *testing.T) {
	for _, mode := range []struct {
		name     string
		prealloc preallocation
	}{{"background", preallocBackground}, {"inline", preallocInline}, {"grown", preallocOff}} {
		t.Run(mode.name, func(t *testing.T) {
			for seed := range crashSeeds(t) {
				t.Run(fmt.Sprint(seed), func(t *testing.T) { crashWorkload(t, seed, mode.prealloc) })
			}
		})
	}
}

func crashWorkload(t *testing.T, seed uint64, prealloc preallocation) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	fsys := vfs.NewMemFS()
	open := func() *Log {
		l, err := Open(context.Background(), testDir, fsys, Options{SegmentSize: minSegmentSize, CacheEntries: 8, prealloc: prealloc}, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return l
	}
	l := open()
	var m []*raft.Log
	term := uint64(1)
	var stores, deletes int
	for round := range 25 {
		var ops atomic.Int64
		limit := int64(1 + rng.IntN(40))
		fsys.SetHook(func(vfs.Op, string) error {
			if ops.Add(1) > limit {
				return vfs.ErrInjected
			}
			return nil
		})
		var o crashOp
		for {
			o = randomOp(rng, m, term)
			err := o.run(l)
			if err != nil {
				if !errors.Is(err, ErrFailed) {
					t.Fatalf("round %d: %s: %v", round, o.kind, err)
				}
				break
			}
			m = o.apply(m)
			if o.kind == "store" {
				stores++
			} else {
				deletes++
				term++ // entries written after a delete differ from the deleted ones
			}
		}
		fsys.SetHook(nil)
		l.Close()
		crash(rng, fsys)
		if rng.IntN(4) == 0 { // crash again, during recovery
			limit := int64(1 + rng.IntN(6))
			ops.Store(0)
			fsys.SetHook(func(vfs.Op, string) error {
				if ops.Add(1) > limit {
					return vfs.ErrInjected
				}
				return nil
			})
			if l, err := Open(context.Background(), testDir, fsys, Options{SegmentSize: minSegmentSize, prealloc: prealloc}, nil); err == nil {
				l.Close()
			}
			fsys.SetHook(nil)
			crash(rng, fsys)
		}
		l = open()
		got := readLog(t, l)
		if !o.allowed(m, got) {
			t.Fatalf("round %d: crash during %s (%d..%d, batch of %d): recovered %s; before it %s, after it %s",
				round, o.kind, o.min, o.max, len(o.batch), describe(got), describe(m), describe(o.apply(m)))
		}
		m = got
		term++
	}
	l.Close()
	if stores < 20 || deletes < 3 {
		t.Fatalf("only %d appends and %d deletes succeeded", stores, deletes)
	}
}

func crash(rng *rand.Rand, fsys *vfs.MemFS) {
	if rng.IntN(2) == 0 {
		fsys.Crash()
	} else {
		fsys.CrashTorn(rng)
	}
}

// describe summarises a log as its runs of indexes and their terms.
func describe(es []*raft.Log) string {
	if len(es) == 0 {
		return "[]"
	}
	s := "["
	start := 0
	for i := 1; i <= len(es); i++ {
		if i < len(es) && es[i].Index == es[i-1].Index+1 && es[i].Term == es[i-1].Term {
			continue
		}
		s += fmt.Sprintf(" %d-%d@%d", es[start].Index, es[i-1].Index, es[start].Term)
		start = i
	}
	return s + " ]"
}
