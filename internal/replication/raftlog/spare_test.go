package raftlog

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/frame"
	"github.com/piermq/pier/internal/store/vfs"
)

// fileSizes returns the size of every file in testDir, by name.
func fileSizes(t *testing.T, fsys *vfs.MemFS) map[string]int64 {
	t.Helper()
	names, err := fsys.ReadDir(testDir)
	must(t, err)
	sizes := map[string]int64{}
	for _, name := range names {
		b, err := fsys.ReadFile(filepath.Join(testDir, name))
		must(t, err)
		sizes[name] = int64(len(b))
	}
	return sizes
}

// segName is the file name of segment num.
func segName(num uint32) string { return filepath.Base((&Log{}).segPath(num)) }

// A roll renames the ready spare into place (no segment is created), the
// batches after it overwrite zeros without growing any file, and the log,
// every segment of which ends in zeros, reads back whole after a power
// loss and goes on writing where its records end, not at the file's end.
func TestRollOntoSpare(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{})
	if got := fileSizes(t, fsys); len(got) != 1 || got[spareName] != minSegmentSize {
		t.Fatalf("files after Open: %v; want a spare of %d bytes", got, minSegmentSize)
	}
	var mu sync.Mutex
	var ops []string
	fsys.SetHook(func(op vfs.Op, name string) error {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(name, segSuffix) || op == vfs.OpRename {
			ops = append(ops, fmtOp(op, name))
		}
		return nil
	})
	must(t, l.StoreLogs(entriesLike(t, 1, 4)))
	fsys.SetHook(nil)
	if want := []string{fmtOp(vfs.OpRename, spareName)}; !equalStrings(ops, want) {
		t.Fatalf("the first StoreLogs did %v to segment files; want %v", ops, want)
	}
	for i := uint64(5); i <= 60; i += 4 {
		must(t, l.StoreLogs(entriesLike(t, i, i+3)))
		for name, size := range fileSizes(t, fsys) {
			if size != minSegmentSize {
				t.Fatalf("after entries up to %d, %s has %d bytes; want every file made ahead at %d", i+3, name, size, minSegmentSize)
			}
		}
	}
	if n := len(segFiles(t, fsys, testDir)); n < 5 {
		t.Fatalf("%d segments; want several", n)
	}
	fsys.Crash() // without Close: what StoreLogs returned is synced
	l.Close()
	l = openMem(t, fsys, Options{})
	wantLog(t, l, entriesLike(t, 1, 60))
	must(t, l.StoreLogs(entriesLike(t, 61, 61)))
	must(t, l.Close())
	fsys.Crash()
	wantLog(t, openMem(t, fsys, Options{}), entriesLike(t, 1, 61))
}

func fmtOp(op vfs.Op, name string) string { return fmt.Sprintf("%s op%d", filepath.Base(name), op) }

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// Spares start at 64 KiB after Open and double up to the segment size.
func TestSparesGrow(t *testing.T) {
	const segSize = 256 << 10
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{SegmentSize: segSize})
	next := uint64(1)
	for len(segFiles(t, fsys, testDir)) < 5 {
		es := entries(next, next+3, 1)
		for _, e := range es {
			e.Data = make([]byte, 4<<10)
		}
		must(t, l.StoreLogs(es))
		next += 4
	}
	sizes := fileSizes(t, fsys)
	for i, want := range []int64{64 << 10, 128 << 10, segSize, segSize} {
		if got := sizes[segName(uint32(i+1))]; got != want {
			t.Fatalf("segment %d has %d bytes, want %d (files: %v)", i+1, got, want, sizes)
		}
	}
	if got := sizes[spareName]; got != segSize {
		t.Fatalf("spare of %d bytes, want %d", got, segSize)
	}
	must(t, l.Close())
	fsys.Crash()
	l = openMem(t, fsys, Options{SegmentSize: segSize})
	if last, err := l.LastIndex(); err != nil || last != next-1 {
		t.Fatalf("last index %d (%v) after a reopen; want %d", last, err, next-1)
	}
	if got := fileSizes(t, fsys)[spareName]; got != 64<<10 {
		t.Fatalf("spare of %d bytes after a reopen, want 64 KiB", got)
	}
}

// gateFS is a MemFS on which creating the spare waits for gate to close.
type gateFS struct {
	*vfs.MemFS
	gate    chan struct{}
	waiting chan struct{} // a value when a Create of the spare waits
}

func newGateFS() *gateFS {
	return &gateFS{MemFS: vfs.NewMemFS(), gate: make(chan struct{}), waiting: make(chan struct{}, 1)}
}

func (g *gateFS) Create(name string) (vfs.File, error) {
	if filepath.Base(name) == spareName {
		select {
		case g.waiting <- struct{}{}:
		default:
		}
		<-g.gate
	}
	return g.MemFS.Create(name)
}

// While the spare is not ready, a roll creates its segment and writes go
// on (nothing waits for the preparation); once it is ready, the log moves
// to it at the next write that would grow the file.
func TestRollWithoutSpare(t *testing.T) {
	fsys := newGateFS()
	l, err := Open(t.Context(), testDir, fsys, Options{SegmentSize: minSegmentSize, prealloc: preallocBackground}, nil)
	must(t, err)
	defer l.Close()
	<-fsys.waiting // the preparer is held
	for i := uint64(1); i <= 40; i += 4 {
		must(t, l.StoreLogs(entriesLike(t, i, i+3)))
	}
	grown := segFiles(t, fsys, testDir)
	if len(grown) < 3 {
		t.Fatalf("%d segments; want several made without a spare", len(grown))
	}
	for name, size := range fileSizes(t, fsys.MemFS) {
		if name != spareName && size == minSegmentSize {
			t.Fatalf("%s has %d bytes: made ahead, though no spare was ready", name, size)
		}
	}
	close(fsys.gate)
	l.sp.Wait()
	must(t, l.StoreLogs(entriesLike(t, 41, 41)))
	segs := segFiles(t, fsys, testDir)
	if len(segs) != len(grown)+1 || fileSizes(t, fsys.MemFS)[segs[len(segs)-1]] != minSegmentSize {
		t.Fatalf("segments %v after the spare became ready (before: %v); want a new one made ahead", segs, grown)
	}
	must(t, l.Close())
	fsys.Crash()
	wantLog(t, openMem(t, fsys.MemFS, Options{}), entriesLike(t, 1, 41))
}

// Close waits for a preparation under way, which gives up and removes its
// file (TestMain checks that no goroutine is left).
func TestCloseStopsPreparation(t *testing.T) {
	fsys := newGateFS()
	l, err := Open(t.Context(), testDir, fsys, Options{prealloc: preallocBackground}, nil) // 64 MiB
	must(t, err)
	must(t, l.StoreLogs(entries(1, 3, 1)))
	<-fsys.waiting
	closed := make(chan error)
	go func() { closed <- l.Close() }()
	<-l.sp.Closing() // Close has told the preparation to stop
	for range 100 {
		runtime.Gosched() // let a Close that does not wait return
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the spare's preparation was held", err)
	default:
	}
	close(fsys.gate)
	must(t, <-closed)
	running, ready := l.sp.Busy(), l.sp.Ready()
	if running || ready {
		t.Fatalf("after Close: a preparation running %v, a spare open %v", running, ready)
	}
	if _, ok := fileSizes(t, fsys.MemFS)[spareName]; ok {
		t.Fatal("the interrupted spare is still there")
	}
	fsys.Crash()
	wantLog(t, openMem(t, fsys.MemFS, Options{}), entries(1, 3, 1))
}

// A failed preparation costs nothing else (segments grow as they are
// written), leaves no file behind and is tried again at the next roll; it
// is logged once until a preparation succeeds.
func TestSparePreparationFails(t *testing.T) {
	fsys := vfs.NewMemFS()
	var failing atomic.Bool
	failing.Store(true)
	fsys.SetHook(func(op vfs.Op, name string) error {
		if op == vfs.OpCreate && filepath.Base(name) == spareName && failing.Load() {
			return vfs.ErrInjected
		}
		return nil
	})
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&out, nil))
	l, err := Open(t.Context(), testDir, fsys, Options{SegmentSize: minSegmentSize, prealloc: preallocInline}, logger)
	must(t, err)
	defer l.Close()
	warnings := func(want int) {
		t.Helper()
		if n := strings.Count(out.String(), "level=WARN"); n != want || !strings.Contains(out.String(), "injected") {
			t.Fatalf("%d warnings, want %d:\n%s", n, want, out.String())
		}
	}
	warnings(1)
	next := uint64(1)
	store := func() {
		t.Helper()
		must(t, l.StoreLogs(entriesLike(t, next, next+3)))
		next += 4
	}
	for len(segFiles(t, fsys, testDir)) < 2 { // a roll, and the preparation fails again
		store()
	}
	warnings(1)
	if _, ok := fileSizes(t, fsys)[spareName]; ok {
		t.Fatal("a failed spare is still there")
	}
	failing.Store(false)
	for len(segFiles(t, fsys, testDir)) < 4 { // a roll to a grown segment, then one to a spare
		store()
	}
	failing.Store(true)
	for len(segFiles(t, fsys, testDir)) < 5 { // onto the spare made before, then a failure again
		store()
	}
	warnings(2)
	sizes := fileSizes(t, fsys)
	for i, ahead := range []bool{false, false, false, true, true} {
		if got := sizes[segName(uint32(i+1))]; (got == minSegmentSize) != ahead {
			t.Fatalf("files %v; want segments 1 to 3 grown, 4 and 5 made ahead", sizes)
		}
	}
	fsys.SetHook(nil)
	wantLog(t, l, entriesLike(t, 1, next-1))
}

// A spare left behind is removed at Open (and a new one made), except by a
// read-only Open.
func TestSpareLeftOver(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{prealloc: preallocOff})
	must(t, l.StoreLogs(entries(1, 5, 1)))
	must(t, l.Close())
	junk := bytes.Repeat([]byte("junk"), 100) // an unfinished, or foreign, file
	f, err := fsys.Create(filepath.Join(testDir, spareName))
	must(t, err)
	_, err = f.WriteAt(junk, 0)
	must(t, err)
	must(t, f.Sync())
	must(t, fsys.SyncDir(testDir))

	ro, err := Open(t.Context(), testDir, fsys, Options{ReadOnly: true}, nil)
	must(t, err)
	wantLog(t, ro, entries(1, 5, 1))
	must(t, ro.Close())
	if b, err := fsys.ReadFile(filepath.Join(testDir, spareName)); err != nil || !bytes.Equal(b, junk) {
		t.Fatalf("a read-only Open changed the leftover spare (%v)", err)
	}
	l = openMem(t, fsys, Options{})
	b, err := fsys.ReadFile(filepath.Join(testDir, spareName))
	must(t, err)
	if len(b) != minSegmentSize || !frame.Unwritten(b) {
		t.Fatalf("spare of %d bytes after Open; want a new one, %d zeros", len(b), minSegmentSize)
	}
	must(t, l.Close())
	fsys.Crash()
	l = openMem(t, fsys, Options{prealloc: preallocOff})
	wantLog(t, l, entries(1, 5, 1))
	if _, ok := fileSizes(t, fsys)[spareName]; ok {
		t.Fatal("the leftover spare was not removed")
	}
}

// Zeros after the records end a segment, the newest or not (the log rolled
// before filling it: here a gap); the log writes on where its records end.
// An older segment whose last batch is incomplete before the zeros is
// damage: Open refuses it.
func TestZeroTails(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{})
	must(t, l.StoreLogs(entriesLike(t, 1, 4)))
	must(t, l.StoreLogs(entriesLike(t, 20, 22))) // a gap: a new segment
	must(t, l.StoreLogs(entriesLike(t, 23, 23)))
	want := append(entriesLike(t, 1, 4), entriesLike(t, 20, 23)...)
	fsys.Crash()
	l.Close()
	for _, name := range []string{segName(1), segName(2)} {
		sc := scanSegmentOf(t, fsys, filepath.Join(testDir, name))
		if sc.err != nil || sc.end >= minSegmentSize {
			t.Fatalf("%s: records end at %d (%v); want zeros after them", name, sc.end, sc.err)
		}
	}
	l = openMem(t, fsys, Options{})
	wantLog(t, l, want)
	must(t, l.StoreLogs(entriesLike(t, 24, 24)))
	want = append(want, entriesLike(t, 24, 24)...)
	must(t, l.Close())
	if got := fileSizes(t, fsys)[segName(2)]; got != minSegmentSize {
		t.Fatalf("segment 2 has %d bytes after an append; want %d (written where its records end)", got, minSegmentSize)
	}
	fsys.Crash()
	wantLog(t, openMem(t, fsys, Options{}), want)

	// Zero the end record of segment 1's batch: incomplete, then zeros.
	seg1 := filepath.Join(testDir, segName(1))
	sc := scanSegmentOf(t, fsys, seg1)
	last := sc.locs[len(sc.locs)-1]
	f, err := fsys.Open(seg1)
	must(t, err)
	_, err = f.WriteAt(make([]byte, last.n), last.off)
	must(t, err)
	must(t, f.Sync())
	if _, err := Open(t.Context(), testDir, fsys, Options{SegmentSize: minSegmentSize}, nil); err == nil || !strings.Contains(err.Error(), "not the newest") {
		t.Fatalf("Open with an incomplete batch before the zeros of an older segment: %v", err)
	}
}

// A batch cut short in a segment made ahead of time — its first bytes on
// disk and zeros after them, or zeros and then its last bytes — is cut
// off at Open by zeroing it: the file keeps its size, the log writes on
// there, and the segment reads back whole once it is no longer the newest.
func TestTornRecordInPreallocatedSegment(t *testing.T) {
	batch := entries(5, 8, 1)
	var rec []byte
	for i, e := range batch {
		e.Data = bytes.Repeat([]byte{0xab}, 300) // no zeros in the data
		rec, _, _ = appendEntry(rec, e, i == len(batch)-1)
	}
	for _, c := range []struct {
		name      string
		from, to  int // the part of the batch's bytes on disk
		wantTear  bool
		wantWords string
	}{
		{"first bytes", 0, len(rec) / 2, true, "level=WARN"},
		{"first bytes, end record cut", 0, len(rec) - 5, true, "level=WARN"},
		{"last bytes", len(rec) / 2, len(rec), false, "level=ERROR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := vfs.NewMemFS()
			l := openMem(t, fsys, Options{})
			must(t, l.StoreLogs(entriesLike(t, 1, 4)))
			must(t, l.Close())
			seg := filepath.Join(testDir, segName(1))
			end := scanSegmentOf(t, fsys, seg).end
			f, err := fsys.Open(seg)
			must(t, err)
			_, err = f.WriteAt(rec[c.from:c.to], end+int64(c.from))
			must(t, err)
			must(t, f.Sync())
			if sc := scanSegmentOf(t, fsys, seg); sc.end != end || sc.err == nil || errorIsTorn(sc.err) != c.wantTear {
				t.Fatalf("scan: end %d (want %d), %v; want torn %v", sc.end, end, sc.err, c.wantTear)
			}

			var out bytes.Buffer
			l, err = Open(t.Context(), testDir, fsys, Options{SegmentSize: minSegmentSize, prealloc: preallocInline}, slog.New(slog.NewTextHandler(&out, nil)))
			must(t, err)
			t.Cleanup(func() { l.Close() })
			if !strings.Contains(out.String(), c.wantWords) {
				t.Fatalf("log of the cut, want %s:\n%s", c.wantWords, out.String())
			}
			b, err := fsys.ReadFile(seg)
			must(t, err)
			if len(b) != minSegmentSize || !frame.Unwritten(b[end:]) {
				t.Fatalf("segment of %d bytes after the cut, zeros after the records: %v", len(b), frame.Unwritten(b[end:]))
			}
			wantLog(t, l, entriesLike(t, 1, 4))
			for i := uint64(5); i <= 24; i += 4 {
				must(t, l.StoreLogs(bigEntries(i, i+3, 2))) // and on into the next segments
			}
			if n := len(segFiles(t, fsys, testDir)); n < 2 {
				t.Fatalf("%d segments", n)
			}
			must(t, l.Close())
			fsys.Crash()
			wantLog(t, openMem(t, fsys, Options{}), append(entriesLike(t, 1, 4), bigEntries(5, 24, 2)...))
		})
	}
}

func errorIsTorn(err error) bool { return err != nil && strings.Contains(err.Error(), errTorn.Error()) }

// A newest segment whose header never reached the disk — a spare renamed
// into place, all zeros, or with a torn header — was never written to and
// is removed; an older segment of zeros is damage.
func TestSegmentWithoutHeader(t *testing.T) {
	for _, c := range []struct {
		name   string
		header int  // bytes of the header on disk
		newest bool // the segment is the newest
	}{
		{"zeros, newest", 0, true},
		{"torn header, newest", 10, true},
		{"zeros, older", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := vfs.NewMemFS()
			l := openMem(t, fsys, Options{})
			must(t, l.StoreLogs(entries(1, 5, 1)))
			must(t, l.Close())
			num := uint32(7)
			if !c.newest {
				num = 0 // before segment 1: it is older
			}
			name := filepath.Join(testDir, segName(num))
			f, err := fsys.Create(name)
			must(t, err)
			b := make([]byte, minSegmentSize)
			copy(b, segmentHeader(num)[:c.header])
			_, err = f.WriteAt(b, 0)
			must(t, err)
			must(t, f.Sync())
			must(t, fsys.SyncDir(testDir))
			l, err = Open(t.Context(), testDir, fsys, Options{SegmentSize: minSegmentSize, prealloc: preallocInline}, nil)
			if !c.newest {
				if err == nil {
					l.Close()
					t.Fatal("Open: no error")
				}
				return
			}
			must(t, err)
			defer l.Close()
			wantLog(t, l, entries(1, 5, 1))
			if _, ok := fileSizes(t, fsys)[segName(num)]; ok {
				t.Fatal("the segment without a header is still there")
			}
		})
	}
}

// A suffix deleted from a segment made ahead of time stays deleted through
// power losses, whatever of the writes after it survives.
func TestSuffixDeleteInPreallocatedSegment(t *testing.T) {
	for seed := range uint64(20) {
		fsys, leader := vfs.NewMemFS(), new(atomic.Bool)
		l := openMem(t, fsys, Options{Async: leader.Load})
		must(t, l.StoreLogs(entriesLike(t, 1, 4)))
		must(t, l.StoreLogs(entriesLike(t, 5, 8)))
		must(t, l.DeleteRange(7, 8)) // inside a batch
		fsys.Crash()
		l.Close()
		l = openMem(t, fsys, Options{Async: leader.Load})
		wantLog(t, l, entriesLike(t, 1, 6))

		// Entries 7 and 8 again, of term 2, written and not synced, then
		// a power loss that keeps a random part of them.
		leader.Store(true)
		l.fileMu.Lock()
		must(t, l.StoreLogs(entries(7, 8, 2)))
		powerLoss(l, fsys, rand.New(rand.NewPCG(seed, 9)), true)
		l = openMem(t, fsys, Options{})
		got := readLog(t, l)
		want := append(entriesLike(t, 1, 6), entries(7, 8, 2)...)
		if len(got) != 6 && len(got) != 8 || !sameLog(got, want[:len(got)]) {
			t.Fatalf("seed %d: recovered %s; want 1-6, perhaps 7-8 of term 2", seed, describe(got))
		}
		l.Close()
	}
}

// bigEntries returns entries from..to of term with 300 bytes of data each
// (entriesLike's, of any term).
func bigEntries(from, to, term uint64) []*raft.Log {
	es := entries(from, to, term)
	for _, e := range es {
		e.Data = make([]byte, 300)
	}
	return es
}

// A prefix delete keeps the deleted segments (up to keepDeleted), and the
// next spares are made of them (renamed, zero-filled) instead of new
// files; the log reads back whole after a crash.
func TestDeletedSegmentBecomesSpare(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{})
	for i := uint64(1); i <= 60; i += 4 {
		must(t, l.StoreLogs(entriesLike(t, i, i+3)))
	}
	segs := segFiles(t, fsys, testDir)
	if len(segs) < 4 {
		t.Fatalf("%d segments; want several", len(segs))
	}
	var mu sync.Mutex
	reused := 0 // renames of the kept file to the spare's name
	fsys.SetHook(func(op vfs.Op, name string) error {
		mu.Lock()
		defer mu.Unlock()
		if op == vfs.OpRename && isRecycled(filepath.Base(name)) {
			reused++
		}
		return nil
	})
	last := uint64(0)
	var e raft.Log
	for i := uint64(1); i <= 60; i++ { // the last entry of the second segment
		must(t, l.GetLog(i, &e))
		if l.mu.segs[1].holds(i) {
			last = i
		}
	}
	must(t, l.DeleteRange(1, last))
	kept := 0
	for name := range fileSizes(t, fsys) {
		if isRecycled(name) {
			kept++
		}
	}
	if kept+reused != 2 {
		t.Fatalf("files after the prefix delete: %v (%d reused); want the two deleted segments kept", fileSizes(t, fsys), reused)
	}
	// Enough entries for more rolls: the first takes the spare that was
	// ready, a next one the one made of the deleted segment.
	for i := uint64(61); i <= 120; i += 4 {
		must(t, l.StoreLogs(entriesLike(t, i, i+3)))
	}
	fsys.SetHook(nil)
	if reused != 2 {
		t.Fatalf("the deleted segments became spares %d times; want twice", reused)
	}
	fsys.Crash()
	l.Close()
	wantLog(t, openMem(t, fsys, Options{}), entriesLike(t, last+1, 120))
}
