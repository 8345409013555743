package journal

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// A NoSync batch alone is synced within a short delay, without waiting for
// another write or for Close.
func TestNoSyncAloneIsSyncedSoon(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{LazySyncDelay: time.Millisecond})
	ctx := context.Background()
	var add store.Batch
	add.Add("queue://a", 1, payload(1, 100))
	if err := s.Apply(ctx, &add); err != nil {
		t.Fatal(err)
	}
	var synced atomic.Bool
	fsys.SetHook(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync {
			synced.Store(true)
		}
		return nil
	})
	rm := store.Batch{NoSync: true}
	rm.Remove("queue://a", 1)
	if err := s.Apply(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !synced.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a lone NoSync batch was not synced within 10 s")
		}
	}
	crash(t, fsys, s, nil)
	s = open(t, fsys, Options{})
	defer s.Close()
	if recs, _ := s.Scan(ctx, "queue://a", 0, 10, 0); len(recs) != 0 {
		t.Fatalf("the NoSync remove was lost: %v", recs)
	}
}

// A crash before any sync loses the NoSync batch whole, never part of it.
func TestNoSyncLostWholeOnCrash(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{LazySyncDelay: time.Hour})
	ctx := context.Background()
	var add store.Batch
	for seq := uint64(1); seq <= 4; seq++ {
		add.Add("queue://a", seq, payload(seq, 100))
	}
	if err := s.Apply(ctx, &add); err != nil {
		t.Fatal(err)
	}
	// No lazy sync before the crash: the batch is written, not synced.
	rm := store.Batch{NoSync: true}
	for seq := uint64(1); seq <= 4; seq++ {
		rm.Remove("queue://a", seq)
	}
	if err := s.Apply(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	crash(t, fsys, s, rand.New(rand.NewPCG(1, 2))) // keeps a torn part of the unsynced write
	s = open(t, fsys, Options{})
	defer s.Close()
	recs, _ := s.Scan(ctx, "queue://a", 0, 10, 0)
	if len(recs) != 0 && len(recs) != 4 {
		t.Fatalf("a NoSync batch was partly recovered: %d of 4 messages left", len(recs))
	}
}

// countOps counts the writes and syncs the journal makes from now on.
func countOps(fsys *vfs.MemFS) (writes, syncs *atomic.Int64) {
	writes, syncs = new(atomic.Int64), new(atomic.Int64)
	fsys.SetHook(func(op vfs.Op, _ string) error {
		switch op {
		case vfs.OpWrite:
			writes.Add(1)
		case vfs.OpSync:
			syncs.Add(1)
		}
		return nil
	})
	return writes, syncs
}

// A NoSync batch is in the index when Apply returns; the next synced batch
// makes it durable with a single sync, and both are recovered after a
// crash. By default a batch of removals (a consumer's acknowledgements)
// is not even written until then: one write for both.
func TestNoSyncRidesOnTheNextSync(t *testing.T) {
	for _, atOnce := range []bool{false, true} {
		fsys := vfs.NewMemFS()
		s := open(t, fsys, Options{LazySyncDelay: time.Hour, WriteNoSyncAtOnce: atOnce})
		ctx := context.Background()
		var add store.Batch
		add.Add("queue://a", 1, payload(1, 100))
		add.Add("queue://a", 2, payload(2, 100))
		mustApply(t, s, &add)
		writes, syncs := countOps(fsys)
		rm := store.Batch{NoSync: true, Mark: 7}
		rm.Remove("queue://a", 1)
		mustApply(t, s, &rm)
		if recs, _ := s.Scan(ctx, "queue://a", 0, 10, 0); len(recs) != 1 || recs[0].Seq != 2 {
			t.Fatalf("atOnce=%v: after a NoSync remove Scan returns %v", atOnce, recs)
		}
		if w := writes.Load(); !atOnce && w != 0 {
			t.Fatalf("%d writes for a NoSync removal: it should wait for the next synced batch", w)
		}
		var add3 store.Batch
		add3.Add("queue://a", 3, payload(3, 100))
		mustApply(t, s, &add3)
		if y := syncs.Load(); y != 1 {
			t.Fatalf("atOnce=%v: %d syncs for one NoSync and one synced batch written back to back", atOnce, y)
		}
		if w := writes.Load(); !atOnce && w != 1 {
			t.Fatalf("%d writes for a held removal and a synced batch: want 1", w)
		}
		crash(t, fsys, s, nil)
		s = open(t, fsys, Options{})
		st, err := s.Recover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mark != 7 {
			t.Errorf("atOnce=%v: recovered mark %d, want 7", atOnce, st.Mark)
		}
		recs, err := s.Scan(ctx, "queue://a", 0, 10, 0)
		s.Close()
		if err != nil || len(recs) != 2 || recs[0].Seq != 2 || recs[1].Seq != 3 {
			t.Fatalf("atOnce=%v: after the crash: %v %v; want seqs 2 and 3", atOnce, recs, err)
		}
	}
}

// A held removal that no synced batch follows is written and synced after
// LazySyncDelay; one lost to a crash before that is lost whole.
func TestNoSyncRemovalsHeldThenLazyOrLost(t *testing.T) {
	ctx := context.Background()
	for _, lazy := range []bool{true, false} {
		fsys := vfs.NewMemFS()
		delay := time.Hour
		if lazy {
			delay = time.Millisecond
		}
		s := open(t, fsys, Options{LazySyncDelay: delay})
		var add store.Batch
		for seq := uint64(1); seq <= 4; seq++ {
			add.Add("queue://a", seq, payload(seq, 100))
		}
		mustApply(t, s, &add)
		_, syncs := countOps(fsys)
		rm := store.Batch{NoSync: true}
		rm.Remove("queue://a", 1)
		rm.Remove("queue://a", 2)
		mustApply(t, s, &rm)
		if lazy {
			deadline := time.Now().Add(10 * time.Second)
			for syncs.Load() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("a held removal was not synced within 10 s")
				}
				time.Sleep(time.Millisecond)
			}
		}
		crash(t, fsys, s, nil)
		s = open(t, fsys, Options{})
		recs, err := s.Scan(ctx, "queue://a", 0, 10, 0)
		s.Close()
		want := 4
		if lazy {
			want = 2
		}
		if err != nil || len(recs) != want {
			t.Fatalf("lazy=%v: %d messages recovered (%v), want %d", lazy, len(recs), err, want)
		}
	}
}
