package journal

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// churn adds n messages to queue://churn and removes each right after.
func churn(t *testing.T, s *Store, from uint64, n int) uint64 {
	t.Helper()
	seq := from
	for i := 0; i < n; i++ {
		seq++
		var add, rm store.Batch
		add.Add("queue://churn", seq, payload(seq, 1000))
		rm.Remove("queue://churn", seq)
		for _, b := range []*store.Batch{&add, &rm} {
			if err := s.Apply(context.Background(), b); err != nil {
				t.Fatalf("Apply: %v", err)
			}
		}
	}
	return seq
}

// TestGCDeletesDeadSegmentsWithoutResurrection keeps one message alive in
// an old segment while many segments of adds and removes go by: the dead
// ones are deleted; the pinned one is kept, or compacted (its message copied
// forward) and then deleted; and after the pinned message is removed and the
// machine crashes, nothing comes back.
func TestGCDeletesDeadSegmentsWithoutResurrection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		compact int
	}{{"WithoutCompaction", -1}, {"WithCompaction", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMemFS()
			opts := Options{SegmentSize: 64 << 10, CheckpointBytes: 64 << 10, CompactLivePercent: tc.compact}
			s := open(t, fsys, opts)
			var pin store.Batch
			pin.Add("queue://pinned", 1, payload(1, 100))
			if err := s.Apply(context.Background(), &pin); err != nil {
				t.Fatal(err)
			}
			pinnedSeg := s.mu.idx.head(s.mu.idx.dests["queue://pinned"]).seg
			seq := churn(t, s, 1, 800) // ~0.9 MB of journal: about 14 segments
			segs := segFiles(t, fsys)
			if s.w.seg < 10 {
				t.Fatalf("only %d segments written", s.w.seg)
			}
			if len(segs) > 4 {
				t.Fatalf("%d of %d segments kept, want the dead ones deleted: %v", len(segs), s.w.seg, segs)
			}
			_, err := fsys.ReadFile(s.segPath(pinnedSeg))
			if compacted := err != nil; compacted != (tc.compact >= 0) {
				t.Fatalf("segment %d with a live message: compacted and deleted %v, want %v", pinnedSeg, compacted, tc.compact >= 0)
			}
			if got := scanSeqs(t, s, "queue://pinned"); len(got) != 1 {
				t.Fatalf("pinned message: %v", got)
			}
			crash(t, fsys, s, nil)
			s = open(t, fsys, opts)
			if got := scanSeqs(t, s, "queue://pinned"); len(got) != 1 {
				t.Fatalf("pinned message after crash: %v", got)
			}

			var unpin store.Batch
			unpin.Remove("queue://pinned", 1)
			if err := s.Apply(context.Background(), &unpin); err != nil {
				t.Fatal(err)
			}
			seq = churn(t, s, seq, 200)
			crash(t, fsys, s, nil)
			if _, err := fsys.ReadFile(s.segPath(pinnedSeg)); err == nil {
				t.Fatalf("segment %d not deleted once its message was removed", pinnedSeg)
			}

			s = open(t, fsys, opts)
			defer s.Close()
			st, err := s.Recover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Dests) != 0 {
				t.Fatalf("removed messages resurrected: %+v", st.Dests)
			}
			if st.LastSeq != seq {
				t.Fatalf("LastSeq %d, want %d", st.LastSeq, seq)
			}
			if u := s.Usage(); u.Messages != 0 || u.Bytes != 0 {
				t.Fatalf("usage %+v", u)
			}
		})
	}
}

// TestRecoveryStartsFromCheckpoint writes far more than a checkpoint
// interval and checks that recovery after a crash replays only what came
// after the last checkpoint, yet recovers everything.
func TestRecoveryStartsFromCheckpoint(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := Options{SegmentSize: 64 << 10, CheckpointBytes: 128 << 10}
	s := open(t, fsys, opts)
	const n = 600 // ~1.2 MB of journal
	for seq := uint64(1); seq <= n; seq++ {
		mustApplyAdd(t, s, seq, 1000)
		if seq%3 == 0 {
			var b store.Batch
			b.Remove("queue://a", seq-1)
			if err := s.Apply(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
		}
	}
	crash(t, fsys, s, nil)
	s = open(t, fsys, opts)
	defer s.Close()
	if s.w.ckptSeg == 0 {
		t.Fatal("no checkpoint was taken")
	}
	replayed := s.w.sinceCkpt
	if replayed > opts.CheckpointBytes+opts.SegmentSize {
		t.Fatalf("replayed %d bytes, want at most %d", replayed, opts.CheckpointBytes+opts.SegmentSize)
	}
	a, b := scanSeqs(t, s, "queue://a"), scanSeqs(t, s, "queue://b")
	if len(b) != n || len(a) != n-n/3 {
		t.Fatalf("recovered %d and %d messages, want %d and %d", len(a), len(b), n-n/3, n)
	}
	for _, seq := range a {
		if seq%3 == 2 {
			t.Fatalf("removed seq %d recovered", seq)
		}
	}
}

func TestDamagedCheckpointIsAnError(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{})
	mustApplyAdd(t, s, 1, 100)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fsys.FlipBit(dir+"/"+ckptName, 30, 0); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir, fsys, Options{}, testLog(t))
	if err == nil || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("Open with a damaged checkpoint: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{SegmentSize: 1},
		{SegmentSize: 2 << 30},
		{SizeLimit: -1},
		{MaxBatchBytes: 1 << 30},
		{CheckpointBytes: -5},
	} {
		o.EnsureDefaults()
		if err := o.Validate(); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	var o Options
	o.EnsureDefaults()
	if err := o.Validate(); err != nil || o.SegmentSize != DefaultSegmentSize {
		t.Fatalf("defaults: %+v %v", o, err)
	}
}

func TestBatchTooLarge(t *testing.T) {
	s := open(t, vfs.NewMemFS(), Options{MaxBatchBytes: 10 << 10})
	defer s.Close()
	err := applyAdd(s, 1, 20<<10)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("oversized batch: %v", err)
	}
	mustApplyAdd(t, s, 2, 1<<10)
}

// TestCrashDuringCompactionLosesNothing churns a queue that keeps one
// message in fifty, so segments are compacted all the time, and crashes at
// a sync again and again: every kept message must come back intact and no
// removed one may.
func TestCrashDuringCompactionLosesNothing(t *testing.T) {
	fsys := vfs.NewMemFS()
	rng := rand.New(rand.NewPCG(3, 4))
	opts := Options{SegmentSize: 64 << 10, CheckpointBytes: 64 << 10, CompactLivePercent: 50}
	kept := map[uint64]bool{}
	seq := uint64(0)
	for round := 0; round < 5; round++ {
		s := open(t, fsys, opts)
		for i := 0; i < 150+rng.IntN(150); i++ {
			seq++
			var b store.Batch
			b.Add("queue://a", seq, payload(seq, 900))
			if prev := seq - 1; prev > 0 && prev%50 != 0 {
				b.Remove("queue://a", prev)
			}
			if err := s.Apply(context.Background(), &b); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if seq%50 == 0 {
				kept[seq] = true
			}
		}
		crashAtSync(t, fsys, s, rng)
		s = open(t, fsys, opts)
		want := map[uint64]bool{seq: true}
		for q := range kept {
			want[q] = true
		}
		got := scanSeqs(t, s, "queue://a")
		if len(got) != len(want) {
			t.Fatalf("round %d: recovered %v, want %d messages", round, got, len(want))
		}
		for _, q := range got {
			if !want[q] {
				t.Fatalf("round %d: removed seq %d came back", round, q)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
