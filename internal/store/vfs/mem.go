package vfs

import (
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Op names a file-system operation, for error injection.
type Op uint8

// Operations that can be made to fail.
const (
	OpCreate Op = iota + 1
	OpOpen
	OpRemove
	OpRename
	OpReadDir
	OpMkdir
	OpSyncDir
	OpRead
	OpWrite
	OpSync
	OpTruncate
	OpStat
)

// MemFS is an in-memory FS that simulates a machine crash.
//
// Model: each file has its current contents and its synced contents; Sync
// copies the first to the second. The namespace (which names exist and
// which file each refers to) likewise has a current and a durable version;
// SyncDir(dir) copies the entries of dir from the first to the second.
// Directories are durable when made. Crash throws away everything not durable
// and invalidates every open handle (they return ErrCrashed).
//
// The zero value is not usable; call NewMemFS.
type MemFS struct {
	mu struct {
		sync.Mutex
		dirs     map[string]bool
		files    map[string]*inode // current namespace
		durable  map[string]*inode // namespace as of the last SyncDir
		gen      int               // incremented by every crash
		hook     func(op Op, name string) error
		failNext map[Op]error
		// syncDelay makes every File.Sync wait before it takes effect,
		// without holding up other operations: a slow disk. waiting
		// counts the syncs doing so.
		syncDelay time.Duration
		waiting   int
	}
}

type inode struct {
	data      []byte
	synced    []byte
	dirtyFrom int // data[:dirtyFrom] == synced[:dirtyFrom]
	// dirtyTo: when data and synced have the same length, they differ
	// only within [dirtyFrom, dirtyTo), so a Sync copies that range alone
	// (an overwrite of a zero-filled segment, not the file's whole rest).
	dirtyTo int
}

// NewMemFS returns an empty MemFS with the root directory.
func NewMemFS() *MemFS {
	m := &MemFS{}
	m.mu.dirs = map[string]bool{"/": true, ".": true}
	m.mu.files = map[string]*inode{}
	m.mu.durable = map[string]*inode{}
	m.mu.failNext = map[Op]error{}
	return m
}

var _ FS = (*MemFS)(nil)

// SetHook installs fn, called before every operation; a non-nil result fails
// the operation with that error. nil removes the hook.
func (m *MemFS) SetHook(fn func(op Op, name string) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.hook = fn
}

// SetSyncDelay makes every File.Sync from now on wait d before it takes
// effect (it then makes durable what the file holds at that moment), while
// reads and writes go on: a disk whose syncs are slow. A crash during the
// wait fails the sync. 0 turns it off.
func (m *MemFS) SetSyncDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.syncDelay = d
}

// FailNext makes the next operation of kind op fail with err.
func (m *MemFS) FailNext(op Op, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.failNext[op] = err
}

// check runs the injection hooks; m.mu must be held.
func (m *MemFS) check(op Op, name string) error {
	if err, ok := m.mu.failNext[op]; ok {
		delete(m.mu.failNext, op)
		return &fs.PathError{Op: fmt.Sprintf("op%d", op), Path: name, Err: err}
	}
	if m.mu.hook != nil {
		if err := m.mu.hook(op, name); err != nil {
			return &fs.PathError{Op: fmt.Sprintf("op%d", op), Path: name, Err: err}
		}
	}
	return nil
}

func clean(name string) string { return filepath.Clean(name) }

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(OpCreate, name); err != nil {
		return nil, err
	}
	if !m.mu.dirs[filepath.Dir(name)] {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrNotExist}
	}
	ino, ok := m.mu.files[name]
	if ok {
		ino.data = ino.data[:0]
		ino.dirtyFrom, ino.dirtyTo = 0, 0
	} else {
		ino = &inode{}
		m.mu.files[name] = ino
	}
	return &memFile{fs: m, ino: ino, name: name, gen: m.mu.gen}, nil
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(OpOpen, name); err != nil {
		return nil, err
	}
	ino, ok := m.mu.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{fs: m, ino: ino, name: name, gen: m.mu.gen}, nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(OpRemove, name); err != nil {
		return err
	}
	if _, ok := m.mu.files[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.mu.files, name)
	return nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(OpRename, oldname); err != nil {
		return err
	}
	ino, ok := m.mu.files[oldname]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	if !m.mu.dirs[filepath.Dir(newname)] {
		return &fs.PathError{Op: "rename", Path: newname, Err: fs.ErrNotExist}
	}
	delete(m.mu.files, oldname)
	m.mu.files[newname] = ino
	return nil
}

// ReadDir implements FS. It lists files and subdirectories.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(OpReadDir, dir); err != nil {
		return nil, err
	}
	if !m.mu.dirs[dir] {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: fs.ErrNotExist}
	}
	var names []string
	for name := range m.mu.files {
		if filepath.Dir(name) == dir {
			names = append(names, filepath.Base(name))
		}
	}
	for d := range m.mu.dirs {
		if d != dir && filepath.Dir(d) == dir {
			names = append(names, filepath.Base(d))
		}
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll implements FS.
func (m *MemFS) MkdirAll(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(OpMkdir, dir); err != nil {
		return err
	}
	for d := dir; !m.mu.dirs[d]; d = filepath.Dir(d) {
		if _, ok := m.mu.files[d]; ok {
			return &fs.PathError{Op: "mkdir", Path: d, Err: fs.ErrExist}
		}
		m.mu.dirs[d] = true
	}
	return nil
}

// SyncDir implements FS.
func (m *MemFS) SyncDir(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(OpSyncDir, dir); err != nil {
		return err
	}
	if !m.mu.dirs[dir] {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: fs.ErrNotExist}
	}
	for name := range m.mu.durable {
		if filepath.Dir(name) == dir {
			if _, ok := m.mu.files[name]; !ok {
				delete(m.mu.durable, name)
			}
		}
	}
	for name, ino := range m.mu.files {
		if filepath.Dir(name) == dir {
			m.mu.durable[name] = ino
		}
	}
	return nil
}

// Crash simulates a power loss: every unsynced write and directory change is
// lost, and open handles stop working.
func (m *MemFS) Crash() { m.crash(nil) }

// CrashTorn is Crash, except that of each file's unsynced writes a random
// prefix (chosen by rng) survives, as on a disk that wrote part of what it
// was given: it produces torn tails.
func (m *MemFS) CrashTorn(rng *rand.Rand) { m.crash(rng) }

func (m *MemFS) crash(rng *rand.Rand) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.gen++
	m.mu.files = make(map[string]*inode, len(m.mu.durable))
	for name, ino := range m.mu.durable {
		m.mu.files[name] = ino
	}
	seen := map[*inode]bool{}
	for _, ino := range m.mu.files {
		if seen[ino] {
			continue
		}
		seen[ino] = true
		keep := ino.synced[:min(ino.dirtyFrom, len(ino.synced))]
		if rng != nil && len(ino.data) > ino.dirtyFrom {
			extra := ino.data[ino.dirtyFrom:]
			keep = append(keep[:len(keep):len(keep)], extra[:rng.IntN(len(extra)+1)]...)
			if len(keep) < len(ino.synced) {
				keep = append(keep, ino.synced[len(keep):]...)
			}
		} else {
			keep = ino.synced
		}
		ino.data = append([]byte(nil), keep...)
		ino.synced = append([]byte(nil), keep...)
		ino.dirtyFrom, ino.dirtyTo = len(ino.data), 0
	}
}

func (m *MemFS) durableInode(name string) (*inode, error) {
	ino, ok := m.mu.files[clean(name)]
	if !ok {
		return nil, &fs.PathError{Op: "corrupt", Path: name, Err: fs.ErrNotExist}
	}
	return ino, nil
}

// TruncateFile cuts name to size bytes, durably (as a damaged disk would).
func (m *MemFS) TruncateFile(name string, size int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, err := m.durableInode(name)
	if err != nil {
		return err
	}
	if size < 0 || size > int64(len(ino.data)) {
		return fmt.Errorf("vfs: truncate %s to %d: size is %d", name, size, len(ino.data))
	}
	ino.data = ino.data[:size]
	if int64(len(ino.synced)) > size {
		ino.synced = ino.synced[:size]
	}
	ino.dirtyFrom = min(ino.dirtyFrom, int(size))
	ino.dirtyTo = min(ino.dirtyTo, int(size))
	return nil
}

// FlipBit inverts one bit of name at byte off, durably.
func (m *MemFS) FlipBit(name string, off int64, bit uint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, err := m.durableInode(name)
	if err != nil {
		return err
	}
	if off < 0 || off >= int64(len(ino.data)) {
		return fmt.Errorf("vfs: flip bit of %s at %d: size is %d", name, off, len(ino.data))
	}
	ino.data[off] ^= 1 << (bit % 8)
	if off < int64(len(ino.synced)) {
		ino.synced[off] ^= 1 << (bit % 8)
	}
	return nil
}

// ReadFile returns a copy of the current contents of name.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, err := m.durableInode(name)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), ino.data...), nil
}

type memFile struct {
	fs     *MemFS
	ino    *inode
	name   string
	gen    int
	closed bool // guarded by fs.mu
}

// begin locks the file system and checks the handle; the caller unlocks.
func (f *memFile) begin(op Op) error {
	f.fs.mu.Lock()
	if f.closed {
		return &fs.PathError{Op: "use", Path: f.name, Err: fs.ErrClosed}
	}
	if f.gen != f.fs.mu.gen {
		return &fs.PathError{Op: "use", Path: f.name, Err: ErrCrashed}
	}
	return f.fs.check(op, f.name)
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	defer f.fs.mu.Unlock()
	if err := f.begin(OpRead); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("vfs: read %s: negative offset", f.name)
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	defer f.fs.mu.Unlock()
	if err := f.begin(OpWrite); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("vfs: write %s: negative offset", f.name)
	}
	ino := f.ino
	if end := int(off) + len(p); end > len(ino.data) {
		if end > cap(ino.data) {
			grown := make([]byte, len(ino.data), max(end, 2*cap(ino.data)))
			copy(grown, ino.data)
			ino.data = grown
		}
		old := len(ino.data)
		ino.data = ino.data[:end]
		clear(ino.data[old:])
		ino.dirtyFrom = min(ino.dirtyFrom, old)
	}
	copy(ino.data[off:], p)
	ino.dirtyFrom = min(ino.dirtyFrom, int(off))
	ino.dirtyTo = max(ino.dirtyTo, int(off)+len(p))
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	delay := f.fs.mu.syncDelay
	if delay > 0 {
		f.fs.mu.waiting++
		f.fs.mu.Unlock()
		time.Sleep(delay) // a crash meanwhile fails the sync (begin)
		f.fs.mu.Lock()
		f.fs.mu.waiting--
	}
	f.fs.mu.Unlock()
	defer f.fs.mu.Unlock()
	if err := f.begin(OpSync); err != nil {
		return err
	}
	ino := f.ino
	if len(ino.synced) == len(ino.data) {
		if ino.dirtyFrom < ino.dirtyTo {
			copy(ino.synced[ino.dirtyFrom:ino.dirtyTo], ino.data[ino.dirtyFrom:ino.dirtyTo])
		}
	} else {
		ino.synced = append(ino.synced[:min(ino.dirtyFrom, len(ino.synced))], ino.data[ino.dirtyFrom:]...)
	}
	ino.dirtyFrom, ino.dirtyTo = len(ino.data), 0
	return nil
}

func (f *memFile) Truncate(size int64) error {
	defer f.fs.mu.Unlock()
	if err := f.begin(OpTruncate); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("vfs: truncate %s: negative size", f.name)
	}
	ino := f.ino
	if int(size) <= len(ino.data) {
		ino.data = ino.data[:size]
	} else {
		ino.data = append(ino.data, make([]byte, int(size)-len(ino.data))...)
		ino.dirtyTo = max(ino.dirtyTo, int(size))
	}
	ino.dirtyFrom = min(ino.dirtyFrom, int(size))
	return nil
}

func (f *memFile) Size() (int64, error) {
	defer f.fs.mu.Unlock()
	if err := f.begin(OpStat); err != nil {
		return 0, err
	}
	return int64(len(f.ino.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}
