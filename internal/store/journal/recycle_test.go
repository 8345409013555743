package journal

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

func recycleOpts() Options {
	return Options{SegmentSize: 64 << 10, CheckpointBytes: 64 << 10, Preallocate: true}
}

// reuse counts, on fsys from now on, the dead segments kept for reuse
// (renamed from a segment's name) and the spares made as new files.
type reuse struct {
	mu          sync.Mutex
	kept, fresh int
}

func watchReuse(fsys *vfs.MemFS) *reuse {
	r := &reuse{}
	fsys.SetHook(func(op vfs.Op, name string) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case op == vfs.OpRename && strings.HasSuffix(name, ".seg"):
			r.kept++
		case op == vfs.OpCreate && isSpare(filepath.Base(name)):
			r.fresh++
		}
		return nil
	})
	return r
}

func (r *reuse) counts() (kept, fresh int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kept, r.fresh
}

// flow sends messages seq from..to to queue://a and queue://b (1,000
// bytes each, addBatch), removing each once window later ones were sent:
// dead segments appear at every checkpoint. It returns the sequence
// numbers still live.
func flow(t *testing.T, s *Store, from, to uint64, window uint64) []uint64 {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		mustApplyAdd(t, s, seq, 1000)
		if seq > window {
			var b store.Batch
			b.Remove("queue://a", seq-window)
			b.Remove("queue://b", seq-window)
			if err := s.Apply(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
		}
	}
	var live []uint64
	for seq := max(to, window) - window + 1; seq <= to; seq++ {
		live = append(live, seq)
	}
	return live
}

// Dead segments are kept and the next spares are zero-filled over them
// instead of made as new files; after a crash, and after writing on past
// the recovered end, exactly the live messages come back, and nothing is
// cut or set aside.
func TestRecycledSegments(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := recycleOpts()
	s := open(t, fsys, opts)
	r := watchReuse(fsys)
	live := flow(t, s, 1, 600, 20)
	s.spare.Wait()
	fsys.SetHook(nil)
	kept, fresh := r.counts()
	if made := int(s.w.seg); kept == 0 || fresh*4 > made {
		t.Fatalf("%d dead segments kept, %d spares made as new files for ~%d segments", kept, fresh, made)
	}
	if got := scanSeqs(t, s, "queue://a"); fmt.Sprint(got) != fmt.Sprint(live) {
		t.Fatalf("before the crash: %v, want %v", got, live)
	}
	for round := range 3 {
		crash(t, fsys, s, nil)
		var logs logBuffer
		var err error
		s, err = Open(context.Background(), dir, fsys, opts, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		if got := scanSeqs(t, s, "queue://a"); fmt.Sprint(got) != fmt.Sprint(live) {
			t.Fatalf("round %d: recovered %v, want %v", round, got, live)
		}
		if l := logs.String(); strings.Contains(l, "cut off") || strings.Contains(l, "set aside") {
			t.Fatalf("round %d: recovery cut or set aside a recycled segment:\n%s", round, l)
		}
		// Write on over the old contents, fewer than a segment's worth,
		// so the next recovery ends inside a recycled file.
		from := live[len(live)-1] + 1
		live = flow(t, s, from, from+30+uint64(round)*17, 20)
	}
	s.Close()
}

// A crash at a random point, torn writes included, while segments are
// recycled keeps every acknowledged message and brings no removed one
// back.
func TestCrashWhileRecycling(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for round := range 20 {
		fsys := vfs.NewMemFS()
		opts := recycleOpts()
		s := open(t, fsys, opts)
		r := watchReuse(fsys)
		live := flow(t, s, 1, 200+uint64(rng.IntN(400)), 10)
		if kept, _ := r.counts(); kept == 0 {
			t.Fatalf("round %d: no dead segment kept", round)
		}
		fsys.SetHook(nil)
		// Unacknowledged writes in flight at the crash: a sync that never
		// returns, the data before it torn anywhere.
		next := live[len(live)-1] + 1
		crashAtSync(t, fsys, s, rng)
		_ = applyAdd(s, next, 1000)
		crash(t, fsys, s, rng)
		s = open(t, fsys, opts)
		got := scanSeqs(t, s, "queue://a")
		if len(got) > 0 && got[len(got)-1] == next {
			got = got[:len(got)-1] // the unacknowledged one may or may not be there
		}
		if fmt.Sprint(got) != fmt.Sprint(live) {
			t.Fatalf("round %d: recovered %v, want %v", round, got, live)
		}
		s.Close()
	}
}
