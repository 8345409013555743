// Package vfs owns file access for the stores: a small file-system interface
// with an implementation over the operating system (OS) and a crash-simulating
// in-memory one for tests (MemFS) that keeps only what was synced, can corrupt
// files, and can inject errors.
package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// FS is the file system a store works on. Paths use the host separator.
//
// Durability: file contents are durable after File.Sync; a created, renamed
// or removed directory entry is durable after SyncDir of its directory.
// Directories made by MkdirAll are durable at once.
type FS interface {
	// Create creates name, or truncates it if it exists, for reading and writing.
	Create(name string) (File, error)
	// Open opens an existing file for reading and writing.
	Open(name string) (File, error)
	// Remove deletes a file. Open handles keep working, as on POSIX.
	Remove(name string) error
	// Rename moves oldname to newname, replacing newname.
	Rename(oldname, newname string) error
	// ReadDir returns the names (not paths) of the entries of dir, sorted.
	ReadDir(dir string) ([]string, error)
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string) error
	// SyncDir makes the entries of dir durable.
	SyncDir(dir string) error
}

// File is an open file. ReadAt and WriteAt may be called concurrently on
// different ranges.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Sync makes the file's contents and size durable (fdatasync on Linux).
	Sync() error
	// Truncate changes the size of the file.
	Truncate(size int64) error
	// Size returns the current size of the file.
	Size() (int64, error)
	Close() error
}

// OS is the FS of the operating system.
type OS struct{}

var _ FS = OS{}

// Create implements FS.
func (OS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Open implements FS.
func (OS) Open(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Remove implements FS.
func (OS) Remove(name string) error { return os.Remove(name) }

// Rename implements FS.
func (OS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// ReadDir implements FS.
func (OS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll implements FS.
func (OS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

// SyncDir implements FS.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return fmt.Errorf("sync dir %s: %w", dir, serr)
	}
	return cerr
}

type osFile struct{ f *os.File }

func (o osFile) ReadAt(p []byte, off int64) (int, error)  { return o.f.ReadAt(p, off) }
func (o osFile) WriteAt(p []byte, off int64) (int, error) { return o.f.WriteAt(p, off) }
func (o osFile) Sync() error                              { return datasync(o.f) }
func (o osFile) Truncate(size int64) error                { return o.f.Truncate(size) }
func (o osFile) Close() error                             { return o.f.Close() }

func (o osFile) Size() (int64, error) {
	fi, err := o.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// ErrCrashed is returned by a MemFS file handle opened before a Crash.
var ErrCrashed = errors.New("vfs: file handle from before a crash")

// ErrInjected is a convenient error for FailNext.
var ErrInjected = errors.New("vfs: injected error")

// ReadFile returns the contents of the file name on fsys.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f)
}

// ReadAll returns the whole contents of f.
func ReadAll(f File) ([]byte, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// zeroChunk is the size of the writes ZeroFill makes.
const zeroChunk = 1 << 20

// ZeroFill writes zeros to f from off up to size and syncs it, so that
// later writes in that range overwrite blocks the file system has already
// allocated and written: on Linux their fdatasync then writes the data
// alone, not the file's metadata too (a third cheaper on ext4 here).
// Recovery that meets zeros where a record would start reads them as the
// end of what was written.
func ZeroFill(f interface {
	io.WriterAt
	Sync() error
}, off, size int64) error {
	zeros := make([]byte, min(zeroChunk, max(size-off, 0)))
	for off < size {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return err
		}
		off += n
	}
	return f.Sync()
}
