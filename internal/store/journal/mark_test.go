package journal

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

func recoverMark(t *testing.T, s *Store) uint64 {
	t.Helper()
	st, err := s.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Mark
}

// TestMarkRecord: a mark is encoded as the last op of its batch record and
// decoded back; a record with a mark anywhere else, or a zero mark, is
// corrupt.
func TestMarkRecord(t *testing.T) {
	for _, mark := range []uint64{1, 300, math.MaxUint64} {
		var b store.Batch
		b.Remove("queue://a", 4)
		b.Mark = mark
		rec, ops, _, err := encodeBatch(&b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) != 2 || ops[1] != (op{kind: opMark, seq: mark}) {
			t.Fatalf("mark %d: encoded ops %+v", mark, ops)
		}
		_, p, _, err := parseRecord(rec, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeBatch(p)
		if err != nil || len(got) != 2 || got[1] != ops[1] {
			t.Fatalf("mark %d: decoded %+v, %v", mark, got, err)
		}
	}
	m := byte(opMark)
	rm := []byte{byte(store.OpRemove), 1, 'q', 7}
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"ZeroMark", []byte{1, m, 0}},
		{"MarkBeforeAnotherOp", append([]byte{2, m, 5}, rm...)},
		{"TwoMarks", []byte{2, m, 5, m, 6}},
		{"MarkCutShort", []byte{1, m, 0x80}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ops, err := decodeBatch(tc.payload); !errors.Is(err, errCorrupt) {
				t.Fatalf("decoded %+v, %v; want errCorrupt", ops, err)
			}
		})
	}
	if ops, err := decodeBatch(append(append([]byte{2}, rm...), m, 5)); err != nil || len(ops) != 2 {
		t.Fatalf("remove then mark: %+v, %v", ops, err)
	}
}

// TestEmptyBatchWritesNothing: a batch with neither ops nor a mark is not
// written; one with only a mark is.
func TestEmptyBatchWritesNothing(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{})
	defer s.Close()
	segSize := func() int {
		t.Helper()
		segs := segFiles(t, fsys)
		if len(segs) != 1 {
			t.Fatalf("segments %v", segs)
		}
		b, err := fsys.ReadFile(segs[0])
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	before := segSize()
	mustApply(t, s, &store.Batch{})
	if n := segSize(); n != before {
		t.Fatalf("an empty batch wrote %d bytes", n-before)
	}
	mustApply(t, s, &store.Batch{Mark: 1})
	if n := segSize(); n == before {
		t.Fatal("a mark-only batch wrote nothing")
	}
}

// TestMarkSurvivesGCOfItsSegments: the segment that holds the records of
// the highest marks is garbage collected (holding only marks, or after
// compaction moved its one live message away); the mark comes from the
// checkpoint, across a crash and a reopen.
func TestMarkSurvivesGCOfItsSegments(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pinned  int // live messages kept in the first segment: 0 or 1
		compact int
	}{{"MarksOnly", 0, -1}, {"Compacted", 1, 50}} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMemFS()
			// No checkpoint at the first roll (the marks must still be
			// there to be counted), several during the churn.
			opts := Options{SegmentSize: 64 << 10, CheckpointBytes: 80 << 10, CompactLivePercent: tc.compact}
			s := open(t, fsys, opts)
			if tc.pinned > 0 {
				b := store.Batch{Mark: 1}
				b.Add("queue://pinned", 1, payload(1, 100))
				mustApply(t, s, &b)
			}
			// About 14 bytes a record: more than a segment of marks alone.
			const top = 6000
			for m := uint64(2); m <= top; m++ {
				mustApply(t, s, &store.Batch{Mark: m, NoSync: m%10 != 0})
			}
			if len(segFiles(t, fsys)) < 2 {
				t.Fatal("the marks did not fill a segment")
			}
			churn(t, s, 1, 300) // no marks; several rolls and checkpoints
			mustApply(t, s, &store.Batch{Mark: 3})
			if _, err := fsys.ReadFile(s.segPath(1)); err == nil {
				t.Fatal("segment 1, which held the marks, was not deleted")
			}
			crash(t, fsys, s, nil)

			s = open(t, fsys, opts)
			if m := recoverMark(t, s); m != top {
				t.Fatalf("Mark %d after GC and a crash, want %d", m, top)
			}
			if got := scanSeqs(t, s, "queue://pinned"); len(got) != tc.pinned {
				t.Fatalf("pinned message: %v", got)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, fsys, opts)
			defer s.Close()
			if m := recoverMark(t, s); m != top {
				t.Fatalf("Mark %d after GC and a reopen, want %d", m, top)
			}
		})
	}
}

// TestMarkOfNoSyncBatchLostWithIt: a crash keeps a prefix of the unsynced
// NoSync batches, and the recovered mark is the one of the last batch kept:
// never a mark without its batch, never a batch without its mark.
func TestMarkOfNoSyncBatchLostWithIt(t *testing.T) {
	ctx := context.Background()
	seen := map[uint64]bool{}
	for seed := uint64(1); seed <= 20; seed++ {
		fsys := vfs.NewMemFS()
		// Written at once: what a crash keeps of written, unsynced
		// batches (held back, they would be lost whole).
		s := open(t, fsys, Options{LazySyncDelay: time.Hour, WriteNoSyncAtOnce: true})
		add := store.Batch{Mark: 3}
		rm := store.Batch{Mark: 9, NoSync: true}
		for seq := uint64(1); seq <= 4; seq++ {
			add.Add("queue://a", seq, payload(seq, 100))
			rm.Remove("queue://a", seq)
		}
		mustApply(t, s, &add)
		mustApply(t, s, &rm)
		mustApply(t, s, &store.Batch{Mark: 12, NoSync: true})
		crash(t, fsys, s, rand.New(rand.NewPCG(seed, 5)))

		s = open(t, fsys, Options{})
		mark := recoverMark(t, s)
		recs, err := s.Scan(ctx, "queue://a", 0, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(recs) == 4 && mark == 3:
		case len(recs) == 0 && (mark == 9 || mark == 12):
		default:
			t.Fatalf("seed %d: %d messages and mark %d recovered", seed, len(recs), mark)
		}
		seen[mark] = true
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if !seen[3] || !seen[9] || !seen[12] {
		t.Fatalf("marks recovered %v: want every outcome (no, one, both NoSync batches kept) among the seeds", seen)
	}
}
