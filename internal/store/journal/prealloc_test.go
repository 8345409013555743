package journal

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/store/storetest"
	"github.com/piermq/pier/internal/store/vfs"
)

func preallocOpts() Options {
	return Options{SegmentSize: 64 << 10, CheckpointBytes: 1 << 30, Preallocate: true}
}

// TestConformancePreallocated runs the store's contract on segments made
// ahead of time, reopening after a simulated crash.
func TestConformancePreallocated(t *testing.T) {
	opts := preallocOpts()
	opts.CheckpointBytes = 128 << 10
	storetest.Run(t, crashFSHarness(opts))
}

// fileSize returns the size of name on fsys.
func fileSize(t *testing.T, fsys *vfs.MemFS, name string) int64 {
	t.Helper()
	b, err := fsys.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b))
}

// spares lists the spare files of the test journal.
func spares(t *testing.T, fsys vfs.FS) []string {
	t.Helper()
	return dirNames(t, fsys, isSpare)
}

// A new journal's first segment is zero-filled at once; a spare is made
// beside it, and the roll turns it into the next segment (already at full
// size, holding little) and makes another. Writing and recovering across
// the zero tails loses nothing, and a crash leaves nothing to set aside.
func TestPreallocatedSegmentsRollAndRecover(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := preallocOpts()
	s := open(t, fsys, opts)
	segs := segFiles(t, fsys)
	if len(segs) != 1 || fileSize(t, fsys, segs[0]) != opts.SegmentSize {
		t.Fatalf("first segment: %v, want one of %d bytes", segs, opts.SegmentSize)
	}
	s.spare.Wait()
	first := spares(t, fsys)
	if len(first) != 1 {
		t.Fatalf("spares after open: %v", first)
	}
	seq := uint64(0)
	for len(segFiles(t, fsys)) < 2 {
		seq++
		mustApplyAdd(t, s, seq, 1000)
	}
	// The roll happens after the batch that filled segment 1 was
	// answered; the next batch is taken once the roll is over.
	seq++
	mustApplyAdd(t, s, seq, 1000)
	segs = segFiles(t, fsys)
	if got := fileSize(t, fsys, segs[1]); got != opts.SegmentSize {
		t.Fatalf("segment 2 is %d bytes, want the spare's %d", got, opts.SegmentSize)
	}
	s.spare.Wait()
	if now := spares(t, fsys); len(now) != 1 || now[0] == first[0] {
		t.Fatalf("spares after the roll: %v (before: %v)", now, first)
	}
	for n := 0; n < 150; n++ { // several more rolls
		seq++
		mustApplyAdd(t, s, seq, 1000)
	}
	crash(t, fsys, s, nil)

	var logs logBuffer
	s, err := Open(context.Background(), dir, fsys, opts, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got := scanSeqs(t, s, "queue://a")
	if len(got) != int(seq) || got[len(got)-1] != seq {
		t.Fatalf("recovered %d batches (last %v), want %d", len(got), got[max(len(got)-1, 0):], seq)
	}
	if strings.Contains(logs.String(), "cut off") || strings.Contains(logs.String(), "set aside") {
		t.Fatalf("recovery cut or set aside at a zero tail:\n%s", logs.String())
	}
	// The journal goes on where the records end, not at the file's end.
	mustApplyAdd(t, s, seq+1, 1000)
	crash(t, fsys, s, nil)
	s = open(t, fsys, opts)
	defer s.Close()
	if got := scanSeqs(t, s, "queue://b"); len(got) != int(seq+1) {
		t.Fatalf("after writing on: %d batches, want %d", len(got), seq+1)
	}
}

// Zeros after the last record of a segment that is not the newest are its
// end (a segment rolled before its preallocated space was used up), not
// damage: the later segments are replayed.
func TestZeroTailInOlderSegmentIsItsEnd(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := Options{SegmentSize: 64 << 10, CheckpointBytes: 1 << 30}
	segs := writeSegments(t, fsys, opts, 200)
	for _, name := range segs[:len(segs)-1] {
		f, err := fsys.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := vfs.ZeroFill(f, fileSize(t, fsys, name), 2*opts.SegmentSize); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	s := open(t, fsys, opts)
	defer s.Close()
	if got := scanSeqs(t, s, "queue://a"); len(got) != 200 {
		t.Fatalf("recovered %d batches, want 200", len(got))
	}
	names, _ := fsys.ReadDir(dir)
	for _, n := range names {
		if strings.HasSuffix(n, ".corrupt") {
			t.Fatalf("segment set aside: %v", names)
		}
	}
}

// A record that reached a preallocated segment in part (its first bytes,
// zeros after) is cut off as an unfinished write, with a warning.
func TestPartlyWrittenRecordInPreallocatedSegment(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := preallocOpts()
	s := open(t, fsys, opts)
	for seq := uint64(1); seq <= 10; seq++ {
		mustApplyAdd(t, s, seq, 500)
	}
	crash(t, fsys, s, nil)
	seg := segFiles(t, fsys)[0]
	b, _ := fsys.ReadFile(seg)
	end := int64(len(b))
	for end > 0 && b[end-1] == 0 {
		end--
	}
	// Zero the last 200 bytes of the last record, as a disk that wrote
	// only its first sectors would leave it.
	f, err := fsys.Open(seg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 200), end-200); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var logs logBuffer
	s, err = Open(context.Background(), dir, fsys, opts, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if got := scanSeqs(t, s, "queue://a"); len(got) != 9 {
		t.Fatalf("recovered %v, want 1..9", got)
	}
	if !strings.Contains(logs.String(), "cut off") || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("the cut is not reported as an unfinished write:\n%s", logs.String())
	}
}

// A spare left by a crash (or by another broker of a shared directory) is
// removed at open.
func TestLeftoverSpareIsRemoved(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{})
	s.Close()
	f, err := fsys.Create(dir + "/spare-0123456789abcdef.tmp")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("half made"), 0)
	f.Sync()
	f.Close()
	fsys.SyncDir(dir)
	s = open(t, fsys, Options{})
	defer s.Close()
	if left := spares(t, fsys); len(left) != 0 {
		t.Fatalf("spares after open: %v", left)
	}
}

// Crashes, torn writes included, under concurrent writers on preallocated
// segments keep every acknowledged batch (the test of crash_test.go with
// Options.Preallocate).
func TestCrashPreallocated(t *testing.T) {
	crashRecoversEveryAcknowledgedBatch(t, Options{SegmentSize: 64 << 10, CheckpointBytes: 64 << 10, Preallocate: true},
		rand.New(rand.NewPCG(11, 13)))
}
