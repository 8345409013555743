package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustWrite(t *testing.T, f File, p string, off int64) {
	t.Helper()
	if _, err := f.WriteAt([]byte(p), off); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, f File) string {
	t.Helper()
	n, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(b)
}

// testFS checks the behaviour common to every FS.
func testFS(t *testing.T, fsys FS, dir string) {
	sub := filepath.Join(dir, "a", "b")
	if err := fsys.MkdirAll(sub); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(sub, "f")
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, "hello", 0)
	mustWrite(t, f, "world", 5)
	mustWrite(t, f, "W", 5)
	if got := readAll(t, f); got != "helloWorld" {
		t.Fatalf("contents %q", got)
	}
	if err := f.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f); got != "hell" {
		t.Fatalf("after truncate %q", got)
	}
	buf := make([]byte, 10)
	if n, err := f.ReadAt(buf, 2); n != 2 || !errors.Is(err, io.EOF) {
		t.Fatalf("short read: %d %v", n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(name, filepath.Join(sub, "g")); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Open(name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open renamed-away file: %v", err)
	}
	g, err := fsys.Open(filepath.Join(sub, "g"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, g); got != "hell" {
		t.Fatalf("renamed contents %q", got)
	}
	names, err := fsys.ReadDir(sub)
	if err != nil || len(names) != 1 || names[0] != "g" {
		t.Fatalf("readdir: %v %v", names, err)
	}
	if err := fsys.Remove(filepath.Join(sub, "g")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, g); got != "hell" {
		t.Fatalf("open handle after remove: %q", got)
	}
	g.Close()
	if err := fsys.SyncDir(sub); err != nil {
		t.Fatal(err)
	}
	if names, _ := fsys.ReadDir(sub); len(names) != 0 {
		t.Fatalf("readdir after remove: %v", names)
	}
	if _, err := fsys.ReadDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("readdir missing: %v", err)
	}
}

func TestOS(t *testing.T) { testFS(t, OS{}, t.TempDir()) }

func TestMem(t *testing.T) { testFS(t, NewMemFS(), "/data") }

func TestMemCrashKeepsOnlySynced(t *testing.T) {
	m := NewMemFS()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	f, _ := m.Create("/d/synced")
	mustWrite(t, f, "durable", 0)
	f.Sync()
	mustWrite(t, f, "-lost", 7)
	mustWrite(t, f, "D", 0)
	g, _ := m.Create("/d/nodirsync")
	mustWrite(t, g, "x", 0)
	g.Sync()
	if err := m.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	h, _ := m.Create("/d/unlisted") // synced, but its entry is not
	mustWrite(t, h, "y", 0)
	h.Sync()
	if err := m.Remove("/d/nodirsync"); err != nil { // removal not durable
		t.Fatal(err)
	}

	m.Crash()

	if _, err := f.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrCrashed) {
		t.Fatalf("old handle after crash: %v", err)
	}
	names, _ := m.ReadDir("/d")
	if len(names) != 2 || names[0] != "nodirsync" || names[1] != "synced" {
		t.Fatalf("names after crash: %v", names)
	}
	b, _ := m.ReadFile("/d/synced")
	if string(b) != "durable" {
		t.Fatalf("synced after crash: %q", b)
	}
	// Overwrite within synced data, sync, crash: the overwrite survives.
	f2, _ := m.Open("/d/synced")
	mustWrite(t, f2, "DUR", 0)
	f2.Sync()
	mustWrite(t, f2, "zz", 7)
	m.Crash()
	if b, _ := m.ReadFile("/d/synced"); string(b) != "DURable" {
		t.Fatalf("after second crash: %q", b)
	}
}

func TestMemCrashTornKeepsPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sawPartial := false
	for i := 0; i < 50; i++ {
		m := NewMemFS()
		f, _ := m.Create("/f")
		mustWrite(t, f, "base", 0)
		f.Sync()
		m.SyncDir("/")
		mustWrite(t, f, "0123456789", 4)
		m.CrashTorn(rng)
		b, _ := m.ReadFile("/f")
		if !bytes.HasPrefix([]byte("base0123456789"), b) || len(b) < 4 {
			t.Fatalf("torn contents %q", b)
		}
		if len(b) > 4 && len(b) < 14 {
			sawPartial = true
		}
	}
	if !sawPartial {
		t.Fatal("CrashTorn never kept a partial write")
	}
}

func TestMemCorruptAndInject(t *testing.T) {
	m := NewMemFS()
	f, _ := m.Create("/f")
	mustWrite(t, f, "abcd", 0)
	if err := m.FlipBit("/f", 1, 0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f); got != "accd" {
		t.Fatalf("flipped %q", got)
	}
	if err := m.TruncateFile("/f", 2); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f); got != "ac" {
		t.Fatalf("truncated %q", got)
	}
	if err := m.FlipBit("/f", 5, 0); err == nil {
		t.Fatal("flip past end accepted")
	}

	m.FailNext(OpSync, ErrInjected)
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("injected sync: %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	writes := 0
	m.SetHook(func(op Op, name string) error {
		if op == OpWrite {
			writes++
			if writes == 2 {
				return ErrInjected
			}
		}
		return nil
	})
	mustWrite(t, f, "x", 0)
	if _, err := f.WriteAt([]byte("y"), 0); !errors.Is(err, ErrInjected) {
		t.Fatalf("hooked write: %v", err)
	}
	m.SetHook(nil)
	f.Close()
	if _, err := f.Size(); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("use after close: %v", err)
	}
}

// A slow sync (SetSyncDelay) does not hold up writes to the same file
// (were it to, the write and the crash below would wait for it, and it
// would succeed), and a crash while it waits fails it: what it would have
// synced is lost.
func TestMemSyncDelay(t *testing.T) {
	m := NewMemFS()
	f, err := m.Create("/f")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("one"), 0); err != nil {
		t.Fatal(err)
	}
	m.SetSyncDelay(time.Second)
	synced := make(chan error, 1)
	go func() { synced <- f.Sync() }()
	deadline := time.Now().Add(10 * time.Second)
	for waiting := 0; waiting == 0; time.Sleep(time.Millisecond) {
		m.mu.Lock()
		waiting = m.mu.waiting
		m.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the sync was never seen waiting out its delay with the file system free")
		}
	}
	if _, err := f.WriteAt([]byte("two"), 3); err != nil {
		t.Fatal(err)
	}
	m.Crash()
	if err := <-synced; !errors.Is(err, ErrCrashed) {
		t.Fatalf("a sync the crash interrupted returned %v, want ErrCrashed", err)
	}
	m.SetSyncDelay(0)
	if b, err := ReadFile(m, "/f"); err != nil || len(b) != 0 {
		t.Fatalf("after the crash /f holds %q (%v), want nothing", b, err)
	}
}

// ZeroFill leaves a durable file of the asked size, zeros after what was
// there, on both file systems; an unsynced overwrite of its zeros is lost
// in a crash and the zeros come back.
func TestZeroFill(t *testing.T) {
	check := func(t *testing.T, fsys FS, dir string) {
		f, err := fsys.Create(filepath.Join(dir, "seg"))
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, f, "head", 0)
		const size = zeroChunk + 4096 + 3 // more than one chunk, not a multiple
		if err := ZeroFill(f, 4, size); err != nil {
			t.Fatal(err)
		}
		if n, err := f.Size(); err != nil || n != size {
			t.Fatalf("size %d, %v; want %d", n, err, size)
		}
		b, err := ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(b[:4]) != "head" {
			t.Fatalf("head overwritten: %q", b[:4])
		}
		for i, c := range b[4:] {
			if c != 0 {
				t.Fatalf("byte %d is %d, want 0", i+4, c)
			}
		}
		f.Close()
	}
	t.Run("os", func(t *testing.T) { check(t, OS{}, t.TempDir()) })
	t.Run("mem", func(t *testing.T) {
		m := NewMemFS()
		if err := m.MkdirAll("/d"); err != nil {
			t.Fatal(err)
		}
		check(t, m, "/d")
		if err := m.SyncDir("/d"); err != nil {
			t.Fatal(err)
		}
		f, _ := m.Open("/d/seg")
		mustWrite(t, f, "lost", 100)
		m.Crash()
		b, _ := m.ReadFile("/d/seg")
		if len(b) != zeroChunk+4096+3 || string(b[100:104]) != "\x00\x00\x00\x00" {
			t.Fatalf("after crash: size %d, bytes at 100 %q", len(b), b[100:104])
		}
	})
}

// Overwrites inside a synced file of unchanged size: a sync keeps exactly
// what was written before it, a crash drops what was written after, at
// either side of the synced range and across a shrink and regrow.
func TestMemOverwriteRanges(t *testing.T) {
	m := NewMemFS()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	f, _ := m.Create("/d/f")
	if err := ZeroFill(f, 0, 64); err != nil {
		t.Fatal(err)
	}
	m.SyncDir("/d")
	mustWrite(t, f, "bb", 10)
	mustWrite(t, f, "aa", 2)
	f.Sync()
	mustWrite(t, f, "cc", 40) // not synced
	f.Truncate(20)            // shrink and regrow: 20..64 are zeros now
	f.Truncate(64)
	mustWrite(t, f, "dd", 30)
	m.Crash()
	b, _ := m.ReadFile("/d/f")
	want := make([]byte, 64)
	copy(want[2:], "aa")
	copy(want[10:], "bb")
	if string(b) != string(want) {
		t.Fatalf("after crash: %q", b)
	}
	f, _ = m.Open("/d/f")
	mustWrite(t, f, "yy", 50)
	f.Sync()
	f.Truncate(20) // nothing written since the sync: the regrow alone
	f.Truncate(64) // makes 20..64 differ from what was synced
	f.Sync()
	m.Crash()
	b, _ = m.ReadFile("/d/f")
	if len(b) != 64 || string(b[50:52]) != "\x00\x00" || string(b[10:12]) != "bb" {
		t.Fatalf("after shrink, regrow, sync and crash: %q", b)
	}
}

// A Spare makes one zero-filled, synced file at a time, hands it over
// once, makes nothing when its Check refuses, and removes a ready file at
// Close, after which it makes none.
func TestSpare(t *testing.T) {
	m := NewMemFS()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	n := 0
	var refuse error
	sp := Spare{FS: m, Inline: true, Check: func() error { return refuse },
		Path: func() string { n++; return fmt.Sprintf("/d/spare-%d", n) }}
	sp.Prepare(100)
	sp.Prepare(100) // one is ready: nothing more
	f, path, size := sp.Take()
	if f == nil || path != "/d/spare-1" || size != 100 || n != 1 {
		t.Fatalf("Take: %v %q %d after %d files", f, path, size, n)
	}
	m.SyncDir("/d") // the log does this once it has renamed the spare
	m.Crash()       // the contents were synced
	if b, err := m.ReadFile(path); err != nil || len(b) != 100 || !bytes.Equal(b, make([]byte, 100)) {
		t.Fatalf("spare after a crash: %d bytes, %v", len(b), err)
	}
	if f, _, _ := sp.Take(); f != nil {
		t.Fatal("a spare handed over twice")
	}
	refuse = ErrInjected
	sp.Prepare(100)
	if sp.Ready() || n != 1 {
		t.Fatalf("made a spare though Check refused (%d files)", n)
	}
	refuse = nil
	sp.Prepare(100)
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadFile("/d/spare-2"); err == nil || sp.Ready() {
		t.Fatal("Close left the ready spare")
	}
	sp.Prepare(100)
	if sp.Ready() || n != 2 {
		t.Fatal("a spare made after Close")
	}
}

// Recycle keeps up to Keep dead files; a kept file is not handed out as
// it is: the next Prepare renames it to a spare's name (the next kept file
// may get the same RecyclePath name), zero-fills it cut to the size asked
// for, and it becomes the spare; Close removes what is kept, and nothing
// is kept after it.
func TestSpareRecycle(t *testing.T) {
	m := NewMemFS()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	n := 0
	sp := Spare{FS: m, Inline: true, Keep: 1,
		Path:        func() string { n++; return fmt.Sprintf("/d/spare-%d", n) },
		RecyclePath: func() string { return "/d/recycled" }}
	dead := func(name string) File {
		f, err := m.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, f, strings.Repeat("old records ", 20), 0)
		return f
	}
	f := dead("/d/old.seg")
	if !sp.Recycle(f, "/d/old.seg") {
		t.Fatal("not kept")
	}
	if sp.Recycle(dead("/d/b.seg"), "/d/b.seg") {
		t.Fatal("kept more than Keep")
	}
	if _, err := m.ReadFile("/d/old.seg"); err == nil {
		t.Fatal("a kept file still has its segment's name")
	}
	if sp.Ready() {
		t.Fatal("a kept file counted as ready before it was zero-filled")
	}
	if g, _, _ := sp.Take(); g != nil {
		t.Fatal("Take handed out a kept file as it was")
	}
	sp.Prepare(100)
	if !sp.Recycle(dead("/d/older.seg"), "/d/older.seg") {
		t.Fatal("the next dead file was not kept")
	}
	g, path, size := sp.Take()
	if g != f || path != "/d/spare-1" || size != 100 || n != 1 {
		t.Fatalf("Take: same file %v, %q, %d bytes, %d names", g == f, path, size, n)
	}
	if b, _ := m.ReadFile(path); !bytes.Equal(b, make([]byte, 100)) {
		t.Fatalf("the spare made of the kept file, read by its name: %q", b)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadFile("/d/recycled"); err == nil {
		t.Fatal("Close left a kept file")
	}
	if sp.Recycle(dead("/d/c.seg"), "/d/c.seg") {
		t.Fatal("kept a file after Close")
	}
}
