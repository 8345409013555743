package raftlog

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/vfs"
)

const testDir = "/raft/log"

// openMem opens a log on fsys in testDir (4 KiB segments, spares prepared
// in the caller unless opts say otherwise, so that every run does the same
// file operations) and closes it when the test ends.
func openMem(t *testing.T, fsys *vfs.MemFS, opts Options) *Log {
	t.Helper()
	if opts.SegmentSize == 0 {
		opts.SegmentSize = minSegmentSize
	}
	if opts.prealloc == preallocDefault {
		opts.prealloc = preallocInline
	}
	l, err := Open(context.Background(), testDir, fsys, opts, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// segFiles returns the names of the segment files in dir.
func segFiles(t *testing.T, fsys vfs.FS, dir string) []string {
	t.Helper()
	names, err := fsys.ReadDir(dir)
	must(t, err)
	var segs []string
	for _, n := range names {
		if strings.HasSuffix(n, segSuffix) {
			segs = append(segs, n)
		}
	}
	return segs
}

func TestReopenKeepsEverything(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{})
	var want []*raft.Log
	for i := uint64(1); i <= 400; i += 8 {
		b := entries(i, i+7, 1)
		must(t, l.StoreLogs(b))
		want = append(want, b...)
	}
	if n := len(segFiles(t, fsys, testDir)); n < 3 {
		t.Fatalf("%d segment files; want several (4 KiB segments)", n)
	}
	must(t, l.DeleteRange(1, 101)) // ends inside a segment
	want = want[101:]
	must(t, l.DeleteRange(390, 400)) // a suffix, inside a batch
	want = want[:len(want)-11]
	must(t, l.StoreLogs(entries(390, 395, 2)))
	want = append(want, entries(390, 395, 2)...)
	wantLog(t, l, want)
	must(t, l.Close())

	fsys.Crash() // everything returned was synced
	l = openMem(t, fsys, Options{})
	wantLog(t, l, want)
	must(t, l.StoreLogs(entries(396, 396, 2)))
	wantLog(t, l, append(want, entry(396, 2)))
}

func TestPrefixDeleteRemovesWholeSegments(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{})
	for i := uint64(1); i <= 400; i += 4 {
		must(t, l.StoreLogs(entries(i, i+3, 1)))
	}
	before := len(segFiles(t, fsys, testDir))
	must(t, l.DeleteRange(1, 300))
	after := len(segFiles(t, fsys, testDir))
	if after >= before || after > before/3+2 {
		t.Fatalf("%d segment files before deleting 3/4 of the log, %d after", before, after)
	}
	wantLog(t, l, entries(301, 400, 1))
}

func TestGapThenPrefixDelete(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{})
	must(t, l.StoreLogs(entries(1, 10, 1)))
	must(t, l.StoreLogs(entries(50, 60, 2)))
	must(t, l.DeleteRange(1, 20)) // ends in the gap
	wantLog(t, l, entries(50, 60, 2))
	must(t, l.Close())
	l = openMem(t, fsys, Options{})
	wantLog(t, l, entries(50, 60, 2))
}

func TestStoreLogsSyncsOnce(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{SegmentSize: 64 << 10})
	must(t, l.StoreLogs(entries(1, 1, 1))) // creates the first segment
	var mu sync.Mutex
	count := map[vfs.Op]int{}
	fsys.SetHook(func(op vfs.Op, name string) error {
		mu.Lock()
		count[op]++
		mu.Unlock()
		return nil
	})
	must(t, l.StoreLogs(entries(2, 17, 1)))
	fsys.SetHook(nil)
	if count[vfs.OpWrite] != 1 || count[vfs.OpSync] != 1 || count[vfs.OpSyncDir] != 0 || len(count) != 2 {
		t.Fatalf("StoreLogs of 16 entries did %v; want one write and one sync", count)
	}
}

func TestErrors(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{MaxEntryBytes: 1000})
	must(t, l.StoreLogs(entries(1, 10, 1)))
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"overlap", l.StoreLogs(entries(10, 11, 2)), ErrRange},
		{"index 0", l.StoreLogs([]*raft.Log{{Index: 0}}), ErrRange},
		{"not contiguous", l.StoreLogs([]*raft.Log{entry(11, 1), entry(13, 1)}), ErrRange},
		{"too large", l.StoreLogs([]*raft.Log{{Index: 11, Data: make([]byte, 1000)}}), ErrTooLarge},
		{"middle", l.DeleteRange(3, 5), ErrRange},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v; want %v", c.name, c.err, c.want)
		}
	}
	wantLog(t, l, entries(1, 10, 1))
	must(t, l.Close())
	must(t, l.Close())
	if err := l.StoreLogs(entries(11, 11, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("StoreLogs after Close: %v", err)
	}
	var e raft.Log
	if err := l.GetLog(1, &e); !errors.Is(err, ErrClosed) {
		t.Errorf("GetLog after Close: %v", err)
	}
	if _, err := l.LastIndex(); !errors.Is(err, ErrClosed) {
		t.Errorf("LastIndex after Close: %v", err)
	}
	for _, o := range []Options{{SegmentSize: 100}, {MaxEntryBytes: 1 << 30}, {CacheBytes: -1}} {
		if _, err := Open(context.Background(), "/x", fsys, o, nil); err == nil {
			t.Errorf("Open with %+v: no error", o)
		}
	}
}

func TestFailureIsSticky(t *testing.T) {
	fsys := vfs.NewMemFS()
	var fails atomic.Int32
	l := openMem(t, fsys, Options{OnFail: func(error) { fails.Add(1) }})
	must(t, l.StoreLogs(entries(1, 5, 1)))
	fsys.FailNext(vfs.OpSync, vfs.ErrInjected)
	if err := l.StoreLogs(entries(6, 6, 1)); !errors.Is(err, ErrFailed) || !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("StoreLogs with a failing sync: %v", err)
	}
	if err := l.StoreLogs(entries(6, 6, 1)); !errors.Is(err, ErrFailed) {
		t.Fatalf("StoreLogs after a failure: %v", err)
	}
	if err := l.DeleteRange(1, 2); !errors.Is(err, ErrFailed) {
		t.Fatalf("DeleteRange after a failure: %v", err)
	}
	if n := fails.Load(); n != 1 {
		t.Fatalf("OnFail called %d times", n)
	}
	wantLog(t, l, entries(1, 5, 1)) // reads go on
	l.Close()
	fsys.Crash()
	wantLog(t, openMem(t, fsys, Options{}), entries(1, 5, 1))
}

func TestGetLogChecksTheRecord(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{CacheEntries: -1})
	must(t, l.StoreLogs(entries(1, 3, 1)))
	seg := filepath.Join(testDir, segFiles(t, fsys, testDir)[0])
	must(t, fsys.FlipBit(seg, headerSize+frameSize+30, 2)) // in entry 1's data
	var e raft.Log
	if err := l.GetLog(1, &e); err == nil || errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog of a corrupt record: %v, %+v", err, e)
	}
	must(t, l.GetLog(2, &e))
}

// TestRecoveryDamage opens logs damaged in different ways: damage in the
// newest segment's tail is cut off (whole batches only); damage anywhere
// else refuses to open. Segments made ahead of time (zero-filled) and
// segments that grew as they were written.
func TestRecoveryDamage(t *testing.T) {
	t.Run("preallocated", func(t *testing.T) { testRecoveryDamage(t, preallocInline) })
	t.Run("grown", func(t *testing.T) { testRecoveryDamage(t, preallocOff) })
}

func testRecoveryDamage(t *testing.T, prealloc preallocation) {
	// setup writes 3 segments or more: batches of 4 entries of about 1.3 KiB.
	setup := func(t *testing.T) (*vfs.MemFS, []string) {
		fsys := vfs.NewMemFS()
		l := openMem(t, fsys, Options{prealloc: prealloc})
		for i := uint64(1); i <= 32; i += 4 {
			b := entries(i, i+3, 1)
			for _, e := range b {
				e.Data = make([]byte, 300)
			}
			must(t, l.StoreLogs(b))
		}
		must(t, l.Close())
		segs := segFiles(t, fsys, testDir)
		if len(segs) < 3 {
			t.Fatalf("%d segments", len(segs))
		}
		for i := range segs {
			segs[i] = filepath.Join(testDir, segs[i])
		}
		return fsys, segs
	}
	// end is where the records of a segment end (zeros may follow).
	end := func(t *testing.T, fsys *vfs.MemFS, name string) int64 {
		return scanSegmentOf(t, fsys, name).end
	}
	reopen := func(t *testing.T, fsys *vfs.MemFS) (*Log, error) {
		l, err := Open(context.Background(), testDir, fsys, Options{SegmentSize: minSegmentSize, prealloc: prealloc}, nil)
		if err == nil {
			t.Cleanup(func() { l.Close() })
		}
		return l, err
	}
	lastOf := func(t *testing.T, l *Log) uint64 {
		n, err := l.LastIndex()
		must(t, err)
		return n
	}

	t.Run("bit flip in an old segment", func(t *testing.T) {
		fsys, segs := setup(t)
		must(t, fsys.FlipBit(segs[0], end(t, fsys, segs[0])-10, 0))
		if _, err := reopen(t, fsys); err == nil || !strings.Contains(err.Error(), "not the newest") {
			t.Fatalf("Open: %v", err)
		}
	})
	t.Run("bit flip in the newest segment's last record", func(t *testing.T) {
		fsys, segs := setup(t)
		newest := segs[len(segs)-1]
		must(t, fsys.FlipBit(newest, end(t, fsys, newest)-10, 0))
		l, err := reopen(t, fsys)
		must(t, err)
		if got := lastOf(t, l); got != 28 {
			t.Fatalf("last index %d after cutting the last batch; want 28", got)
		}
		wantLog(t, l, entriesLike(t, 1, 28))
		must(t, l.StoreLogs(entries(29, 29, 2)))
	})
	t.Run("read-only", func(t *testing.T) {
		fsys, segs := setup(t)
		newest := segs[len(segs)-1]
		must(t, fsys.TruncateFile(newest, end(t, fsys, newest)-400))
		torn, err := fsys.ReadFile(newest)
		must(t, err)
		l, err := Open(context.Background(), testDir, fsys, Options{ReadOnly: true}, nil)
		must(t, err)
		defer l.Close()
		wantLog(t, l, entriesLike(t, 1, 28))
		if got, err := fsys.ReadFile(newest); err != nil || !bytes.Equal(got, torn) {
			t.Fatalf("a read-only open changed the newest segment (%v)", err)
		}
		if err := l.StoreLogs(entries(29, 29, 1)); !errors.Is(err, ErrReadOnly) {
			t.Fatalf("StoreLogs: %v", err)
		}
		if err := l.DeleteRange(1, 2); !errors.Is(err, ErrReadOnly) {
			t.Fatalf("DeleteRange: %v", err)
		}
	})
	t.Run("torn newest segment", func(t *testing.T) {
		fsys, segs := setup(t)
		newest := segs[len(segs)-1]
		must(t, fsys.TruncateFile(newest, end(t, fsys, newest)-400)) // inside entry 32
		l, err := reopen(t, fsys)
		must(t, err)
		if got := lastOf(t, l); got != 28 {
			t.Fatalf("last index %d; want 28 (the torn batch is dropped whole)", got)
		}
	})
	t.Run("zero-filled tail", func(t *testing.T) {
		fsys, segs := setup(t)
		newest := segs[len(segs)-1]
		f, err := fsys.Open(newest)
		must(t, err)
		_, err = f.WriteAt(make([]byte, 700), end(t, fsys, newest)-400) // over entry 32 and beyond
		must(t, err)
		must(t, f.Sync())
		if sc := scanSegmentOf(t, fsys, newest); !errors.Is(sc.err, errTorn) {
			t.Fatalf("a zero-filled tail reads as %v; want a torn record", sc.err)
		}
		l, err := reopen(t, fsys)
		must(t, err)
		if got := lastOf(t, l); got != 28 {
			t.Fatalf("last index %d; want 28", got)
		}
	})
	t.Run("newest segment with a torn header", func(t *testing.T) {
		fsys, segs := setup(t)
		name := filepath.Join(testDir, "0000000099.seg")
		f, err := fsys.Create(name)
		must(t, err)
		_, err = f.WriteAt(segmentHeader(99)[:10], 0)
		must(t, err)
		must(t, f.Sync())
		must(t, fsys.SyncDir(testDir))
		l, err := reopen(t, fsys)
		must(t, err)
		if got := lastOf(t, l); got != 32 {
			t.Fatalf("last index %d; want 32", got)
		}
		if n := len(segFiles(t, fsys, testDir)); n != len(segs) {
			t.Fatalf("%d segments; want the unfinished one removed", n)
		}
	})
	t.Run("bad header of an old segment", func(t *testing.T) {
		fsys, segs := setup(t)
		must(t, fsys.FlipBit(segs[1], 3, 0))
		if _, err := reopen(t, fsys); err == nil {
			t.Fatal("Open: no error")
		}
	})
	t.Run("damaged first-index file", func(t *testing.T) {
		fsys, _ := setup(t)
		l, err := reopen(t, fsys)
		must(t, err)
		must(t, l.DeleteRange(1, 6))
		must(t, l.Close())
		must(t, fsys.FlipBit(filepath.Join(testDir, firstName), 12, 1))
		if _, err := reopen(t, fsys); err == nil {
			t.Fatal("Open: no error")
		}
	})
	t.Run("segments out of order", func(t *testing.T) {
		fsys, segs := setup(t)
		b, err := fsys.ReadFile(segs[0])
		must(t, err)
		name := filepath.Join(testDir, "0000000099.seg")
		f, err := fsys.Create(name)
		must(t, err)
		_, err = f.WriteAt(append(segmentHeader(99), b[headerSize:]...), 0)
		must(t, err)
		must(t, f.Sync())
		must(t, fsys.SyncDir(testDir))
		if _, err := reopen(t, fsys); err == nil || !strings.Contains(err.Error(), "starts at index 1") {
			t.Fatalf("Open: %v", err)
		}
	})
	t.Run("unexpected file name", func(t *testing.T) {
		fsys, _ := setup(t)
		_, err := fsys.Create(filepath.Join(testDir, "x.seg"))
		must(t, err)
		if _, err := reopen(t, fsys); err == nil {
			t.Fatal("Open: no error")
		}
	})
}

// entriesLike returns what TestRecoveryDamage's setup wrote for from..to.
func entriesLike(t *testing.T, from, to uint64) []*raft.Log {
	es := entries(from, to, 1)
	for _, e := range es {
		e.Data = make([]byte, 300)
	}
	return es
}

// TestConcurrentReads reads while the log is appended to and cut at both
// ends: every read finds the entry it asked for or ErrLogNotFound. The
// writer goes on past its 300 rounds until a read has found an entry (on a
// busy machine the readers may not have run before), or the readers have
// given up (or 100,000 rounds have not been enough). Spares are made in
// the background, as in production, and handed over as the log rolls.
func TestConcurrentReads(t *testing.T) {
	fsys := vfs.NewMemFS()
	l := openMem(t, fsys, Options{CacheEntries: 16, prealloc: preallocBackground})
	must(t, l.StoreLogs(entries(1, 10, 1)))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, readers atomic.Int64
	for r := range 3 {
		wg.Add(1)
		readers.Add(1)
		go func() {
			defer wg.Done()
			defer readers.Add(-1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				first, err1 := l.FirstIndex()
				last, err2 := l.LastIndex()
				if err1 != nil || err2 != nil {
					t.Error(err1, err2)
					return
				}
				for i := first; i <= last; i += uint64(r + 1) {
					var e raft.Log
					err := l.GetLog(i, &e)
					if errors.Is(err, raft.ErrLogNotFound) {
						continue
					}
					if err != nil {
						t.Errorf("GetLog(%d): %v", i, err)
						return
					}
					if w := entry(i, e.Term); !sameEntry(&e, w) {
						t.Errorf("GetLog(%d) = %+v; want %+v", i, e, w)
						return
					}
					reads.Add(1)
				}
			}
		}()
	}
	next, term := uint64(11), uint64(1)
	for round := 0; round < 300 || (reads.Load() == 0 && readers.Load() > 0 && round < 100_000); round++ {
		must(t, l.StoreLogs(entries(next, next+3, term)))
		next += 4
		switch round % 10 {
		case 4:
			first, _ := l.FirstIndex()
			must(t, l.DeleteRange(first, next-30))
		case 9:
			term++
			next -= 6
			must(t, l.DeleteRange(next, next+5))
		}
	}
	close(stop)
	wg.Wait()
	if reads.Load() == 0 {
		t.Fatal("no reads")
	}
}

// scanSegmentOf scans the segment file name.
func scanSegmentOf(t *testing.T, fsys *vfs.MemFS, name string) scan {
	t.Helper()
	b, err := fsys.ReadFile(name)
	must(t, err)
	num, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), segSuffix), 10, 32)
	must(t, err)
	must(t, checkSegmentHeader(b, uint32(num)))
	return scanSegment(b)
}

// TestDropBehind: a log on the OS file system drops its segments' pages
// from the page cache once the writes are vfs.DropKeep past them, and the
// entries there still read back (from the disk, with the cache off).
func TestDropBehind(t *testing.T) {
	l, err := Open(context.Background(), t.TempDir(), vfs.OS{}, Options{CacheEntries: -1, prealloc: preallocInline}, nil)
	must(t, err)
	defer l.Close()
	const per, size = 64, 4096
	var index uint64 = 1
	for written := 0; written < 48<<20; written += per * size {
		es := entries(index, index+per-1, 1)
		for _, e := range es {
			e.Data = bytes.Repeat([]byte{byte(e.Index)}, size)
		}
		must(t, l.StoreLogs(es))
		index += per
	}
	l.mu.RLock()
	var dropped int64
	var in *segment
	for _, s := range l.mu.segs {
		if s.drop.Done() > 0 {
			dropped += s.drop.Done()
			in = s
		}
	}
	l.mu.RUnlock()
	if in == nil {
		t.Fatal("no segment dropped any pages after 48 MiB of entries")
	}
	t.Logf("%d MiB dropped", dropped>>20)
	var e raft.Log
	must(t, l.GetLog(in.base, &e))
	if e.Index != in.base || !bytes.Equal(e.Data, bytes.Repeat([]byte{byte(in.base)}, size)) {
		t.Fatalf("entry %d read back as index %d, %d bytes of %x…", in.base, e.Index, len(e.Data), e.Data[:4])
	}
}
