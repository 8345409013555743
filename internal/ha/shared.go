package ha

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// NewSharedDir returns a member of a shared-directory group, as ActiveMQ's
// shared file system master/slave: the member holding the exclusive lock
// on dir is master (docs/shared-dir.md).
func NewSharedDir(dir string, open OpenFunc, cfg GroupConfig, log *slog.Logger) *Group {
	return NewGroup(&dirClaim{dir: dir}, open, cfg, log)
}

// dirClaim is the lock on a shared directory and its epoch file.
type dirClaim struct {
	dir string
	// seen is the highest epoch this process has read in dir (as master,
	// or from another master's claim): a directory that then has no epoch
	// file, or is gone, is not the group's — a shared file system that is
	// not mounted leaves its empty mount point — and is not claimed
	// (ErrNotGroupDir): a master there would serve an empty store.
	seen atomic.Uint64

	mu   sync.Mutex
	lock *DirLock
	pin  atomic.Pointer[epochPin] // while master on a local file system
}

// epochPin keeps this master's epoch file open, on a local file system,
// so that Fence can tell with one stat(2) that the file at the epoch's
// path is still the one it wrote: a new master replaces the file by
// renaming another over it, and the open file cannot be freed and its
// inode number reused meanwhile. On a network file system a stat may be
// answered from a cache for seconds, so Fence reads the file instead,
// opening it each time (what close-to-open consistency guarantees).
type epochPin struct {
	f        *os.File
	dev, ino uint64
	epoch    uint64
}

// localFS lists the file systems whose metadata a stat(2) reads fresh
// (statfs f_type): ext2/3/4, XFS, Btrfs, tmpfs, overlayfs, ZFS, F2FS.
var localFS = map[int64]bool{
	0xEF53: true, 0x58465342: true, 0x9123683E: true, 0x01021994: true,
	0x794C7630: true, 0x2FC12FC1: true, 0xF2F52010: true,
}

// pinEpoch returns a pin of dir's epoch file, which must hold epoch, or
// nil when dir is not on a local file system or anything fails (Fence
// then reads the file every time).
func pinEpoch(dir string, epoch uint64) *epochPin {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err != nil || !localFS[int64(fs.Type)] {
		return nil
	}
	f, err := os.Open(filepath.Join(dir, epochName))
	if err != nil {
		return nil
	}
	var st syscall.Stat_t
	var buf [32]byte
	n, rerr := f.ReadAt(buf[:], 0)
	e, perr := strconv.ParseUint(strings.TrimSpace(string(buf[:n])), 10, 64)
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || (rerr != nil && rerr != io.EOF) || perr != nil || e != epoch {
		f.Close()
		return nil
	}
	return &epochPin{f: f, dev: uint64(st.Dev), ino: st.Ino, epoch: epoch}
}

func (c *dirClaim) Where() string { return c.dir }

// Acquire takes the lock and raises the epoch.
func (c *dirClaim) Acquire(ctx context.Context) (uint64, error) {
	seen := c.seen.Load()
	if seen > 0 {
		if _, err := os.Stat(c.dir); err != nil {
			return 0, fmt.Errorf("%w: %s: %v (epoch %d was seen there)", ErrNotGroupDir, c.dir, err, seen)
		}
	}
	lock, err := LockDir(c.dir)
	if errors.Is(err, ErrLocked) {
		if e, rerr := readEpoch(c.dir); rerr == nil {
			c.see(e)
		}
	}
	if err != nil {
		return 0, err
	}
	if seen > 0 {
		if e, err := readEpoch(c.dir); err != nil || e == 0 {
			lock.Unlock()
			return 0, fmt.Errorf("%w: %s has no epoch file (epoch %d was seen there)", ErrNotGroupDir, c.dir, seen)
		}
	}
	epoch, err := raiseEpoch(c.dir)
	if err != nil {
		lock.Unlock()
		return 0, err
	}
	c.see(epoch)
	c.mu.Lock()
	c.lock = lock
	c.mu.Unlock()
	c.setPin(pinEpoch(c.dir, epoch))
	return epoch, nil
}

// ErrNotGroupDir refuses to claim a shared directory that lost what made
// it the group's: its epoch file, or itself (not mounted?).
var ErrNotGroupDir = errors.New("ha: the shared directory is not the group's any more; not mounted?")

// see records an epoch read in the directory.
func (c *dirClaim) see(e uint64) {
	for {
		cur := c.seen.Load()
		if e <= cur || c.seen.CompareAndSwap(cur, e) {
			return
		}
	}
}

// setPin replaces the pin of the epoch file, closing the old one.
func (c *dirClaim) setPin(p *epochPin) {
	if old := c.pin.Swap(p); old != nil {
		old.f.Close()
	}
}

// Check verifies that the lock file is still the one locked and that the
// directory answers; the epoch is checked by the group through Fence.
func (c *dirClaim) Check(ctx context.Context) (time.Time, error) {
	c.mu.Lock()
	lock := c.lock
	c.mu.Unlock()
	if lock == nil {
		return time.Time{}, errors.New("ha: no lock held")
	}
	held, err := lock.f.Stat()
	if err != nil {
		return time.Time{}, fmt.Errorf("ha: lock file: %w", err)
	}
	now, err := os.Stat(filepath.Join(c.dir, lockName))
	if err != nil {
		return time.Time{}, fmt.Errorf("ha: lock file: %w", err)
	}
	if !os.SameFile(held, now) {
		return time.Time{}, errors.New("ha: the lock file was replaced; another broker may hold the new one")
	}
	// Open and read a file: stat answers from the inode cache even after
	// the file system has gone (an ext4 shut down by an I/O error), and so
	// does the pinned fence; opening a file does not.
	if _, err := readEpoch(c.dir); err != nil {
		return time.Time{}, err
	}
	return time.Time{}, nil
}

// Fence reports an error once the directory's epoch is not epoch.
func (c *dirClaim) Fence(epoch uint64) error {
	if p := c.pin.Load(); p != nil && p.epoch == epoch {
		var st syscall.Stat_t
		err := syscall.Stat(filepath.Join(c.dir, epochName), &st)
		if err == nil && uint64(st.Dev) == p.dev && st.Ino == p.ino {
			return nil
		}
	}
	e, err := readEpoch(c.dir)
	if err != nil {
		return err
	}
	if e != epoch {
		return fmt.Errorf("ha: epoch %d of %s is not this master's (%d): another broker took over", e, c.dir, epoch)
	}
	return nil
}

// Release unlocks.
func (c *dirClaim) Release() {
	c.mu.Lock()
	lock := c.lock
	c.lock = nil
	c.mu.Unlock()
	c.setPin(nil)
	if lock != nil {
		lock.Unlock()
	}
}

// The epoch file: the number of the latest master of the directory,
// written durably (a temporary file, fsync, rename, fsync of the
// directory) by each new master before it opens the store.
const (
	epochName = "epoch"
	lockName  = "lock"
)

// readEpoch reads the epoch file; 0 when there is none. Fence calls it
// before every write of the master's journal (on a network file system),
// so it opens, reads and
// closes the file with three system calls rather than os.ReadFile's
// seven or so (os.File registers with the poller, stats, reads to EOF);
// opening it each time keeps what a network file system guarantees for a
// file opened after another client closed it.
func readEpoch(dir string) (uint64, error) {
	var buf [32]byte
	n, err := readSmall(filepath.Join(dir, epochName), buf[:])
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ha: read epoch: %w", err)
	}
	b := buf[:n]
	e, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ha: %s/%s: %q is not an epoch", dir, epochName, b)
	}
	return e, nil
}

func raiseEpoch(dir string) (uint64, error) {
	e, err := readEpoch(dir)
	if err != nil {
		return 0, err
	}
	e++
	tmp := filepath.Join(dir, epochName+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return 0, fmt.Errorf("ha: write epoch: %w", err)
	}
	_, err = f.WriteString(strconv.FormatUint(e, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, epochName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return 0, fmt.Errorf("ha: write epoch: %w", err)
	}
	return e, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readSmall reads up to len(buf) bytes of the file at path.
func readSmall(path string, buf []byte) (int, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	n, err := syscall.Pread(fd, buf, 0)
	if err != nil {
		return 0, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if n == len(buf) {
		return 0, fmt.Errorf("%s: more than %d bytes", path, len(buf))
	}
	return n, nil
}
