package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

const dir = "/data/j"

func open(t *testing.T, fsys vfs.FS, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, fsys, opts, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// crash simulates a power loss under s: nothing more reaches the disk,
// unsynced data is lost (torn if rng is set), and s is shut down.
func crash(t *testing.T, fsys *vfs.MemFS, s *Store, rng *rand.Rand) {
	t.Helper()
	fsys.SetHook(func(vfs.Op, string) error { return vfs.ErrCrashed })
	if rng != nil {
		fsys.CrashTorn(rng)
	} else {
		fsys.Crash()
	}
	_ = s.Close() // fails: the machine is gone
	fsys.SetHook(nil)
}

// crashAtSync crashes the machine at the next sync, after the data it would
// have synced was written: with CrashTorn, some of it survives, torn.
func crashAtSync(t *testing.T, fsys *vfs.MemFS, s *Store, rng *rand.Rand) {
	t.Helper()
	var dead atomic.Bool
	fsys.SetHook(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync {
			dead.Store(true)
		}
		if dead.Load() {
			return vfs.ErrCrashed
		}
		return nil
	})
	var b store.Batch
	b.Remove("queue://nothing", 1)
	if err := s.Apply(context.Background(), &b); err == nil {
		t.Fatal("Apply succeeded with a failing sync")
	}
	fsys.CrashTorn(rng)
	_ = s.Close()
	fsys.SetHook(nil)
}

func payload(seq uint64, size int) *message.Message {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(seq) + byte(i)
	}
	return &message.Message{ID: fmt.Sprint(seq), Persistent: true, BodyKind: message.Bytes, Body: body}
}

// addBatch adds message seq to queue://a and queue://b.
func addBatch(seq uint64, size int) *store.Batch {
	var b store.Batch
	b.Add("queue://a", seq, payload(seq, size))
	b.Add("queue://b", seq, payload(seq, size))
	return &b
}

func applyAdd(s *Store, seq uint64, size int) error {
	return s.Apply(context.Background(), addBatch(seq, size))
}

func mustApplyAdd(t *testing.T, s *Store, seq uint64, size int) {
	t.Helper()
	if err := applyAdd(s, seq, size); err != nil {
		t.Fatalf("Apply seq %d: %v", seq, err)
	}
}

func scanSeqs(t *testing.T, s *Store, dest string) []uint64 {
	t.Helper()
	recs, err := s.Scan(context.Background(), dest, 0, 0, 0)
	if err != nil {
		t.Fatalf("Scan %s: %v", dest, err)
	}
	out := make([]uint64, len(recs))
	for i, r := range recs {
		want := payload(r.Seq, len(r.Msg.Body))
		if r.Msg.ID != want.ID || !bytes.Equal(r.Msg.Body, want.Body) {
			t.Fatalf("Scan %s: seq %d has wrong content", dest, r.Seq)
		}
		out[i] = r.Seq
	}
	return out
}

// TestCrashRecoversEveryAcknowledgedBatch crashes the machine repeatedly
// while many goroutines apply, and checks after each recovery that every
// Apply that returned nil is there, that batches are all-or-nothing, and
// that nothing that was never applied appears. Each batch carries its seq
// as its mark, so the recovered mark must be the highest recovered seq: a
// mark is kept exactly when its batch is.
func TestCrashRecoversEveryAcknowledgedBatch(t *testing.T) {
	crashRecoversEveryAcknowledgedBatch(t, Options{SegmentSize: 64 << 10, CheckpointBytes: 64 << 10},
		rand.New(rand.NewPCG(7, 9)))
}

func crashRecoversEveryAcknowledgedBatch(t *testing.T, opts Options, rng *rand.Rand) {
	fsys := vfs.NewMemFS()
	acked := map[uint64]bool{}
	attempted := map[uint64]bool{}
	next := uint64(0)
	for round := 0; round < 6; round++ {
		s := open(t, fsys, opts)
		var (
			mu  sync.Mutex
			wg  sync.WaitGroup
			got = 0
		)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					next++
					seq := next
					attempted[seq] = true
					mu.Unlock()
					b := addBatch(seq, 100+int(seq%7)*200)
					b.Mark = seq
					err := s.Apply(context.Background(), b)
					mu.Lock()
					if err == nil {
						acked[seq] = true
						got++
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
		for {
			mu.Lock()
			n := got
			mu.Unlock()
			if n >= 300 {
				break
			}
			if err := s.Apply(context.Background(), &store.Batch{Ops: []store.Op{{Kind: store.OpRemove, Dest: "x", Seq: 1}}}); err != nil {
				t.Fatalf("pacing Apply: %v", err)
			}
		}
		if round%2 == 0 {
			crashAtSync(t, fsys, s, rng)
		} else {
			crash(t, fsys, s, rng)
		}
		wg.Wait()

		s = open(t, fsys, opts)
		st, err := s.Recover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		a, b := scanSeqs(t, s, "queue://a"), scanSeqs(t, s, "queue://b")
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("round %d: batch not atomic: queue://a has %d, queue://b %d messages", round, len(a), len(b))
		}
		have := map[uint64]bool{}
		for _, seq := range a {
			if !attempted[seq] {
				t.Fatalf("round %d: recovered seq %d that was never applied", round, seq)
			}
			have[seq] = true
		}
		for seq := range acked {
			if !have[seq] {
				t.Fatalf("round %d: acknowledged seq %d lost", round, seq)
			}
		}
		if len(a) == 0 || st.Mark != a[len(a)-1] {
			t.Fatalf("round %d: recovered mark %d, highest recovered seq %v", round, st.Mark, a[max(len(a)-1, 0):])
		}
		// What was recovered is acknowledged from now on.
		for seq := range have {
			acked[seq] = true
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

// writeSegments applies n adds of 1,000 bytes (seqs 1..n, to queue://a
// and queue://b), crashes, and returns the segment files, of which there
// must be at least two.
func writeSegments(t *testing.T, fsys *vfs.MemFS, opts Options, n uint64) []string {
	t.Helper()
	s := open(t, fsys, opts)
	for seq := uint64(1); seq <= n; seq++ {
		mustApplyAdd(t, s, seq, 1000)
	}
	crash(t, fsys, s, nil)
	segs := segFiles(t, fsys)
	if len(segs) < 2 {
		t.Fatalf("want several segments, have %v", segs)
	}
	return segs
}

// segFiles returns the paths of the segment files of the test journal.
func segFiles(t *testing.T, fsys vfs.FS) []string {
	t.Helper()
	var segs []string
	for _, n := range dirNames(t, fsys, func(n string) bool { return strings.HasSuffix(n, ".seg") }) {
		segs = append(segs, dir+"/"+n)
	}
	return segs
}

// dirNames returns the names of the files of the test journal that keep
// accepts.
func dirNames(t *testing.T, fsys vfs.FS, keep func(string) bool) []string {
	t.Helper()
	names, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// recordOffsets returns the offsets of the records of a segment file.
func recordOffsets(t *testing.T, fsys *vfs.MemFS, name string) []int64 {
	t.Helper()
	b, err := fsys.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for pos := 0; pos < len(b); {
		_, _, n, err := parseRecord(b[pos:], len(b))
		if err != nil {
			t.Fatalf("%s at %d: %v", name, pos, err)
		}
		offs = append(offs, int64(pos))
		pos += n
	}
	return offs
}

// logBuffer captures log output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDamagedTail(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(fsys *vfs.MemFS, seg string, offs []int64) error
		want    int    // batches recovered of 10
		wantLog string // in the log of the recovery
	}{
		{"TruncatedLastRecordIsCutOff", func(fsys *vfs.MemFS, seg string, offs []int64) error {
			b, _ := fsys.ReadFile(seg)
			return fsys.TruncateFile(seg, int64(len(b)-3))
		}, 9, "level=WARN"},
		{"LastRecordCutInsideHeaderIsCutOff", func(fsys *vfs.MemFS, seg string, offs []int64) error {
			return fsys.TruncateFile(seg, offs[10]+4)
		}, 9, "torn record"},
		{"BitFlipInMiddleRecordStopsRecoveryThere", func(fsys *vfs.MemFS, seg string, offs []int64) error {
			return fsys.FlipBit(seg, offs[5]+headerSize+20, 3)
		}, 4, "level=ERROR"},
		{"BitFlipInLengthStopsRecoveryThere", func(fsys *vfs.MemFS, seg string, offs []int64) error {
			return fsys.FlipBit(seg, offs[3], 1)
		}, 2, "checksum mismatch"},
		{"BadTypeStopsRecoveryThere", func(fsys *vfs.MemFS, seg string, offs []int64) error {
			return fsys.FlipBit(seg, offs[8]+8, 6)
		}, 7, "unknown type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := vfs.NewMemFS()
			s := open(t, fsys, Options{})
			for seq := uint64(1); seq <= 10; seq++ {
				mustApplyAdd(t, s, seq, 500)
			}
			crash(t, fsys, s, nil) // no final checkpoint: recovery replays
			segs := segFiles(t, fsys)
			if len(segs) != 1 {
				t.Fatalf("segments %v", segs)
			}
			offs := recordOffsets(t, fsys, segs[0])
			if len(offs) != 11 { // header + 10 batches
				t.Fatalf("%d records", len(offs))
			}
			if err := tc.damage(fsys, segs[0], offs); err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			s, err := Open(context.Background(), dir, fsys, Options{}, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			got := scanSeqs(t, s, "queue://a")
			if len(got) != tc.want || (tc.want > 0 && got[len(got)-1] != uint64(tc.want)) {
				t.Fatalf("recovered %v, want seqs 1..%d", got, tc.want)
			}
			if !strings.Contains(logs.String(), "cut off") || !strings.Contains(logs.String(), tc.wantLog) {
				t.Fatalf("log does not report the cut with %q:\n%s", tc.wantLog, logs.String())
			}
			if b, _ := fsys.ReadFile(segs[0]); int64(len(b)) != offs[tc.want+1] {
				t.Fatalf("segment is %d bytes after recovery, want cut at %d", len(b), offs[tc.want+1])
			}
			// The journal goes on after the cut, and the cut stays cut.
			mustApplyAdd(t, s, 100, 500)
			crash(t, fsys, s, nil)
			s = open(t, fsys, Options{})
			defer s.Close()
			got = scanSeqs(t, s, "queue://b")
			if len(got) != tc.want+1 || got[len(got)-1] != 100 {
				t.Fatalf("after appending past the cut: %v", got)
			}
		})
	}
}

func TestCorruptionInEarlierSegmentSetsLaterAside(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := Options{SegmentSize: 64 << 10, CheckpointBytes: 1 << 30}
	segs := writeSegments(t, fsys, opts, 60)
	offs := recordOffsets(t, fsys, segs[0])
	if err := fsys.FlipBit(segs[0], offs[len(offs)-1]+headerSize+1, 0); err != nil {
		t.Fatal(err)
	}
	s := open(t, fsys, opts)
	defer s.Close()
	got := scanSeqs(t, s, "queue://a")
	if want := len(offs) - 2; len(got) != want {
		t.Fatalf("recovered %d batches, want %d (those before the flipped record)", len(got), want)
	}
	names, _ := fsys.ReadDir(dir)
	corrupt := 0
	for _, n := range names {
		if strings.HasSuffix(n, ".corrupt") {
			corrupt++
		}
	}
	if corrupt != len(segs)-1 {
		t.Fatalf("%d segments set aside, want %d: %v", corrupt, len(segs)-1, names)
	}
}

func TestSyncFailureIsStickyAndRecoverable(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{})
	mustApplyAdd(t, s, 1, 100)
	fsys.FailNext(vfs.OpSync, vfs.ErrInjected)
	if err := applyAdd(s, 2, 100); !errors.Is(err, ErrFailed) || !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Apply with failing sync: %v", err)
	}
	if err := applyAdd(s, 3, 100); !errors.Is(err, ErrFailed) {
		t.Fatalf("Apply after a failed sync: %v", err)
	}
	crash(t, fsys, s, nil)
	s = open(t, fsys, Options{})
	defer s.Close()
	if got := scanSeqs(t, s, "queue://a"); fmt.Sprint(got) != "[1]" {
		t.Fatalf("recovered %v, want [1]", got)
	}
	mustApplyAdd(t, s, 4, 100)
}

func TestCorruptMessageIsReportedByScan(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{})
	defer s.Close()
	mustApplyAdd(t, s, 1, 100)
	s.mu.RLock()
	e := s.mu.idx.head(s.mu.idx.dests["queue://a"])
	s.mu.RUnlock()
	if err := fsys.FlipBit(s.segPath(e.seg), int64(e.off)+50, 2); err != nil {
		t.Fatal(err)
	}
	_, err := s.Scan(context.Background(), "queue://a", 0, 10, 0)
	if !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(), "seq 1") {
		t.Fatalf("Scan of a damaged message: %v", err)
	}
}
