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

func countSyncs(fsys *vfs.MemFS) *int {
	n := new(int)
	fsys.SetHook(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync {
			*n++
		}
		return nil
	})
	return n
}

// A NoSync batch is applied and visible at once; the next synced batch
// makes it durable with a single sync.
func TestNoSyncRidesOnTheNextSync(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{LazySyncDelay: time.Hour})
	ctx := context.Background()
	var add store.Batch
	add.Add("queue://a", 1, payload(1, 100))
	add.Add("queue://a", 2, payload(2, 100))
	if err := s.Apply(ctx, &add); err != nil {
		t.Fatal(err)
	}
	syncs := countSyncs(fsys)
	rm := store.Batch{NoSync: true}
	rm.Remove("queue://a", 1)
	if err := s.Apply(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	if recs, _ := s.Scan(ctx, "queue://a", 0, 10, 0); len(recs) != 1 || recs[0].Seq != 2 {
		t.Fatalf("after a NoSync remove Scan returns %v", recs)
	}
	var add3 store.Batch
	add3.Add("queue://a", 3, payload(3, 100))
	if err := s.Apply(ctx, &add3); err != nil {
		t.Fatal(err)
	}
	if *syncs > 1 {
		t.Fatalf("%d syncs for one NoSync and one synced batch written back to back", *syncs)
	}
	crash(t, fsys, s, nil)
	s = open(t, fsys, Options{})
	defer s.Close()
	recs, err := s.Scan(ctx, "queue://a", 0, 10, 0)
	if err != nil || len(recs) != 2 || recs[0].Seq != 2 || recs[1].Seq != 3 {
		t.Fatalf("after the crash: %v %v; want seqs 2 and 3", recs, err)
	}
}

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
