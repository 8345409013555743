package vfs

import (
	"bytes"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the pages of path's first n bytes in the page cache.
func resident(t *testing.T, path string, n int64) (in, total int) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	m, err := unix.Mmap(fd, 0, int(n), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (n+pageSize-1)/pageSize)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, v := range vec {
		if v&1 != 0 {
			in++
		}
	}
	return in, len(vec)
}

// TestDropBehind writes a log the way the stores do (1 KiB records, a
// sync now and then) and checks with mincore which of its pages stay in
// the page cache: those DropKeep behind the end and nearer, not the
// synced ones before them; and that reading a dropped range still gives
// what was written.
func TestDropBehind(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == unix.TMPFS_MAGIC {
		t.Skip("the temporary directory is on tmpfs, whose pages cannot be dropped")
	}
	path := filepath.Join(dir, "log")
	f, err := OS{}.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var d DropBehind
	rec := bytes.Repeat([]byte{0xa5}, 1024)
	const size = 24 << 20
	var end int64
	for end < size {
		if _, err := f.WriteAt(rec, end); err != nil {
			t.Fatal(err)
		}
		end += int64(len(rec))
		if end%(256<<10) == 0 {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		d.Wrote(f, end)
	}
	if d.done < size-DropKeep-dropStep || d.done > size-DropKeep {
		t.Fatalf("dropped up to %d after writing %d: want within a step of %d behind", d.done, end, DropKeep)
	}
	in, total := resident(t, path, d.done)
	if in > total/10 {
		t.Errorf("%d of the %d pages before %d are still in the page cache; dropped ones should not be", in, total, d.done)
	}
	in, total = resident(t, path, end)
	kept := int((end - d.done) / pageSize)
	if in < kept*9/10 {
		t.Errorf("%d pages of the whole file in the page cache; the %d after %d should stay", in, kept, d.done)
	}
	got := make([]byte, len(rec))
	if _, err := f.ReadAt(got, 4096); err != nil || !bytes.Equal(got, rec) {
		t.Fatalf("reading a dropped range back: %v, %x…", err, got[:8])
	}
}

// TestDropBehindMem: MemFS has no page cache; Wrote only keeps count.
func TestDropBehindMem(t *testing.T) {
	fsys := NewMemFS()
	if err := fsys.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	f, err := fsys.Create("/d/log")
	if err != nil {
		t.Fatal(err)
	}
	var d DropBehind
	d.Wrote(f, DropKeep+dropStep-1)
	if d.done != 0 {
		t.Fatalf("dropped up to %d before a whole step lay behind", d.done)
	}
	d.Wrote(f, DropKeep+dropStep)
	if d.done != dropStep {
		t.Fatalf("dropped up to %d, want %d", d.done, dropStep)
	}
}
