package raftlog

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/vfs"
)

// leaderLog opens a log whose StoreLogs leaves the sync to the syncer
// while leader is true (it is, at first).
func leaderLog(t *testing.T) (*vfs.MemFS, *atomic.Bool, *Log) {
	t.Helper()
	fsys, leader := vfs.NewMemFS(), new(atomic.Bool)
	leader.Store(true)
	return fsys, leader, openMem(t, fsys, Options{Async: leader.Load, CacheEntries: -1, SegmentSize: 1 << 20})
}

// mustRecover loses power under l, reopens its log and checks that it
// holds entries 1 to want.
func mustRecover(t *testing.T, l *Log, fsys *vfs.MemFS, held bool, want uint64) {
	t.Helper()
	powerLoss(l, fsys, nil, held)
	l = openMem(t, fsys, Options{})
	if got := readLog(t, l); uint64(len(got)) != want {
		t.Fatalf("recovered %s after a power loss, want 1-%d", describe(got), want)
	}
}

// powerLoss crashes the machine under l (unsynced data is lost; torn, some
// of it may survive) and closes l, whose syncer is let go again.
func powerLoss(l *Log, fsys *vfs.MemFS, rng *rand.Rand, held bool) {
	fsys.SetHook(func(vfs.Op, string) error { return vfs.ErrCrashed })
	if rng != nil {
		fsys.CrashTorn(rng)
	} else {
		fsys.Crash()
	}
	if held {
		l.fileMu.Unlock()
	}
	l.Close()
	fsys.SetHook(nil)
}

// A leader's StoreLogs returns before its entries are synced; Durable
// says what is; a power loss keeps everything durable and may lose the
// rest (from its end only).
func TestAsyncLeavesTheSyncBehind(t *testing.T) {
	for seed := range uint64(20) {
		fsys, _, l := leaderLog(t)
		must(t, l.StoreLogs(entriesLike(t, 1, 10)))
		if !l.WaitDurable(10) || l.Durable() < 10 {
			t.Fatalf("durable %d after WaitDurable(10)", l.Durable())
		}
		l.fileMu.Lock() // the syncer cannot sync now
		must(t, l.StoreLogs(entriesLike(t, 11, 20)))
		must(t, l.StoreLogs(entriesLike(t, 21, 25)))
		if d := l.Durable(); d != 10 {
			t.Fatalf("durable %d with the syncer held, want 10", d)
		}
		if last, _ := l.LastIndex(); last != 25 {
			t.Fatalf("last index %d, want 25: written entries are readable before they are synced", last)
		}
		var rng *rand.Rand
		if seed%2 == 1 {
			rng = rand.New(rand.NewPCG(seed, 7))
		}
		powerLoss(l, fsys, rng, true)
		l = openMem(t, fsys, Options{})
		got := readLog(t, l)
		if len(got) < 10 || len(got) > 25 || !sameLog(got, entriesLike(t, 1, uint64(len(got)))) {
			t.Fatalf("seed %d: recovered %s; want 1-10 at least, a prefix of 1-25", seed, describe(got))
		}
		if rng == nil && len(got) != 10 {
			t.Fatalf("recovered %s after a clean power loss; want exactly the durable 1-10", describe(got))
		}
	}
}

// The syncer catches up by itself, and WaitDurable waits for it.
func TestAsyncSyncerCatchesUp(t *testing.T) {
	fsys, _, l := leaderLog(t)
	l.fileMu.Lock()
	must(t, l.StoreLogs(entriesLike(t, 1, 5)))
	done := make(chan bool)
	go func() { done <- l.WaitDurable(5) }()
	if d := l.Durable(); d != 0 {
		t.Fatalf("durable %d with the syncer held", d)
	}
	l.fileMu.Unlock()
	if !<-done || l.Durable() != 5 {
		t.Fatalf("WaitDurable(5) returned with durable %d", l.Durable())
	}
	mustRecover(t, l, fsys, false, 5)
}

// A replica that stopped leading with entries not yet synced syncs them
// before Raft reads them back (to take a new leader's copy as stored).
func TestAsyncFollowerReadSyncsFirst(t *testing.T) {
	fsys, leader, l := leaderLog(t)
	l.fileMu.Lock()
	must(t, l.StoreLogs(entriesLike(t, 1, 8)))
	leader.Store(false)
	var e raft.Log
	must(t, l.GetLog(6, &e))
	if d := l.Durable(); d != 8 {
		t.Fatalf("durable %d after a follower read entry 6, want 8", d)
	}
	// And as follower, StoreLogs syncs before it returns.
	must(t, l.StoreLogs(entriesLike(t, 9, 9)))
	if d := l.Durable(); d != 9 {
		t.Fatalf("durable %d after a follower's StoreLogs, want 9", d)
	}
	mustRecover(t, l, fsys, true, 9)
}

// Moving on to a new segment syncs the old one first (a sync of the new
// file would not cover it); deleting a suffix lowers Durable.
func TestAsyncRollAndTruncate(t *testing.T) {
	fsys := vfs.NewMemFS()
	var leader atomic.Bool
	leader.Store(true)
	l := openMem(t, fsys, Options{Async: leader.Load, CacheEntries: -1})
	l.fileMu.Lock()
	var last uint64
	for len(segFiles(t, fsys, testDir)) < 3 {
		must(t, l.StoreLogs(entriesLike(t, last+1, last+4)))
		last += 4
	}
	segs := l.mu.segs
	if d, want := l.Durable(), segs[len(segs)-2].last(); d < want {
		t.Fatalf("durable %d after rolling past segment ending at %d", d, want)
	}
	l.fileMu.Unlock() // deleting closes files, which waits for the syncer
	must(t, l.DeleteRange(last-5, last))
	if d := l.Durable(); d != last-6 {
		t.Fatalf("durable %d after deleting from %d, want %d", d, last-5, last-6)
	}
	mustRecover(t, l, fsys, false, last-6)
}

// Close syncs what the syncer had not.
func TestAsyncCloseSyncs(t *testing.T) {
	fsys := vfs.NewMemFS()
	var leader atomic.Bool
	leader.Store(true)
	l, err := Open(t.Context(), testDir, fsys, Options{Async: leader.Load, SegmentSize: minSegmentSize}, nil)
	must(t, err)
	must(t, l.StoreLogs(entriesLike(t, 1, 30)))
	must(t, l.Close())
	fsys.Crash()
	l = openMem(t, fsys, Options{})
	if got := readLog(t, l); len(got) != 30 {
		t.Fatalf("recovered %s after Close and a power loss, want 1-30", describe(got))
	}
}

// A failed background sync fails the log: OnFail hears of it, changes
// fail, WaitDurable gives up.
func TestAsyncSyncFailure(t *testing.T) {
	fsys := vfs.NewMemFS()
	var leader atomic.Bool
	leader.Store(true)
	failed := make(chan error, 1)
	l := openMem(t, fsys, Options{Async: leader.Load, OnFail: func(err error) { failed <- err }})
	must(t, l.StoreLogs(entriesLike(t, 1, 2))) // creates the segment
	if !l.WaitDurable(2) {
		t.Fatal("entries 1-2 not synced")
	}
	fsys.FailNext(vfs.OpSync, vfs.ErrInjected)
	must(t, l.StoreLogs(entriesLike(t, 3, 3)))
	if l.WaitDurable(3) {
		t.Fatal("WaitDurable reported entries durable whose sync failed")
	}
	if err := <-failed; err == nil {
		t.Fatal("OnFail called with nil")
	}
	if err := l.StoreLogs(entriesLike(t, 4, 4)); err == nil {
		t.Fatal("StoreLogs accepted after a failed sync")
	}
}
