package raftlog

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/piermq/pier/internal/store/vfs"
)

// Segments made ahead of time.
//
// An fsync after an append that grows a file also commits the file's new
// size (on ext4 a journal commit); one after an overwrite of blocks already
// written and synced writes the data alone (vfs.File.Sync is fdatasync). So
// the log writes into segment files zero-filled and synced beforehand: a
// goroutine of the log prepares the next one (the spare, sparePath) while
// the active segment fills, and a roll renames it into place. No write ever
// waits for a spare: without one ready the segment is created empty and
// grows, as before, and the log moves to the spare as soon as it is ready
// (storeLogs). Recovery reads zeros from a record boundary to the end of a
// segment as its end (scanSegment).
//
// The first spare after Open is of 64 KiB, and each next one twice the
// size of the last one used, up to SegmentSize (64 MiB after 128 MiB of
// log): a log that writes little after Open (an idle replica, a test)
// zero-fills little, and even the first segment of a new log is made
// ahead, at once.
type spareState struct {
	mu sync.Mutex
	f  vfs.File // a spare ready to be renamed into place, or nil
	// size is the size of the spare ready or being prepared, and of the
	// next one to prepare.
	size   int64
	done   chan struct{} // closed when the running preparation ends; nil: none runs
	stop   chan struct{} // made by Open, closed by Close: a running preparation gives up
	warned bool          // a failure was logged since the last success
}

// spareName is the spare's file name in the log's directory: no segment's.
const spareName = "spare.tmp"

// Sizes: of the first spare after Open (at most SegmentSize), and of what
// is zero-filled (and synced) between two looks at whether the log is
// closing.
const (
	firstSpareSize = 64 << 10
	spareStep      = 8 << 20
)

// errSpareStopped ends a preparation that Close interrupted.
var errSpareStopped = errors.New("raftlog: closed while preparing a spare segment")

// preallocation says how the log prepares spares (tests choose; the
// default is in the background).
type preallocation uint8

const (
	preallocDefault    preallocation = iota // preallocBackground, after EnsureDefaults
	preallocBackground                      // in a goroutine of the log
	preallocInline                          // in the caller, before returning: tests replay the same operations
	preallocOff                             // never: every segment grows as it is written
)

func (l *Log) sparePath() string { return filepath.Join(l.dir, spareName) }

// prepareSpare starts preparing a spare unless one is ready or under way.
// wmu is held and the log is open and writable.
func (l *Log) prepareSpare() {
	if l.opts.prealloc == preallocOff {
		return
	}
	l.sp.mu.Lock()
	if l.sp.f != nil || l.sp.done != nil {
		l.sp.mu.Unlock()
		return
	}
	done, stop, size := make(chan struct{}), l.sp.stop, l.sp.size
	l.sp.done = done
	l.sp.mu.Unlock()
	if l.opts.prealloc == preallocInline {
		l.fillSpare(size, done, stop)
		return
	}
	go l.fillSpare(size, done, stop) // awaited by stopSpare
}

// fillSpare prepares the spare and hands it over (or logs why not: the
// next roll tries again).
func (l *Log) fillSpare(size int64, done, stop chan struct{}) {
	defer close(done)
	f, err := l.makeSpare(size, stop)
	failed := err != nil && !errors.Is(err, errSpareStopped)
	l.sp.mu.Lock()
	l.sp.done, l.sp.f = nil, f
	warn := failed && !l.sp.warned
	l.sp.warned = failed || (l.sp.warned && err != nil)
	l.sp.mu.Unlock()
	switch {
	case err == nil:
		l.log.Debug("spare segment ready", "bytes", size)
	case warn:
		l.log.Warn("could not prepare a spare segment; segments grow as they are written until it works", "err", err)
	}
}

// makeSpare creates the spare, zero-filled to size and synced. On failure
// it removes what it made.
func (l *Log) makeSpare(size int64, stop chan struct{}) (vfs.File, error) {
	path := l.sparePath()
	f, err := l.fs.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	for off := int64(0); off < size && err == nil; off += spareStep {
		select {
		case <-stop:
			err = errSpareStopped
		default:
			err = vfs.ZeroFill(f, off, min(off+spareStep, size))
		}
	}
	if err == nil {
		return f, nil
	}
	f.Close()
	if rerr := l.fs.Remove(path); rerr != nil {
		err = errors.Join(err, fmt.Errorf("remove %s: %w", path, rerr))
	}
	return nil, err
}

// takeSpare returns the spare and its size if it is ready (the caller now
// owns it), or nil; it never waits.
func (l *Log) takeSpare() (vfs.File, int64) {
	l.sp.mu.Lock()
	defer l.sp.mu.Unlock()
	f, size := l.sp.f, l.sp.size
	if f == nil {
		return nil, 0
	}
	l.sp.f, l.sp.size = nil, min(2*size, l.opts.SegmentSize)
	return f, size
}

// spareReady reports whether a spare is ready.
func (l *Log) spareReady() bool {
	l.sp.mu.Lock()
	defer l.sp.mu.Unlock()
	return l.sp.f != nil
}

// stopSpare interrupts a running preparation, waits for it and removes a
// ready spare (were that to fail, the next Open would remove it). wmu is
// held and the log is closed, so no preparation starts again.
func (l *Log) stopSpare() error {
	l.sp.mu.Lock()
	close(l.sp.stop)
	done := l.sp.done
	l.sp.mu.Unlock()
	if done != nil {
		<-done
	}
	f, _ := l.takeSpare()
	if f == nil {
		return nil
	}
	l.fs.Remove(l.sparePath()) // harmless if left
	return f.Close()
}
