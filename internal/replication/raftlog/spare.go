package raftlog

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/piermq/pier/internal/store/vfs"
)

// Segments made ahead of time.
//
// An fsync after an append that grows a file also commits the file's new
// size (on ext4 a journal commit); one after an overwrite of blocks already
// written and synced writes the data alone (vfs.File.Sync is fdatasync). So
// the log writes into segment files zero-filled and synced beforehand: a
// vfs.Spare (shared with the journal) prepares the next one, the spare
// (sparePath), while the active segment fills, and a roll renames it into
// place. No write ever waits for a spare: without one ready the segment is
// created empty and grows, as before, and the log moves to the spare as
// soon as it is ready (storeLogs). Recovery reads zeros from a record
// boundary to the end of a segment as its end (scanSegment).
//
// The first spare after Open is of 64 KiB, and each next one twice the
// size of the last one used, up to SegmentSize (64 MiB after 128 MiB of
// log): a log that writes little after Open (an idle replica, a test)
// zero-fills little, and even the first segment of a new log is made
// ahead, at once.

// spareName is the spare's file name in the log's directory: no segment's.
// recycled-N.tmp are those of deleted segments kept to be zero-filled as
// the next spares (vfs.Spare.Recycle): filling the pages of a file still in
// the page cache costs far less CPU than filling new ones. Both are removed at
// Open.
const (
	spareName      = "spare.tmp"
	recycledPrefix = "recycled-"
	recycledSuffix = ".tmp"
)

// keepDeleted is how many deleted segments are kept to become spares: a
// snapshot deletes several at once (65,536 entries by default), and the
// log then makes as many again. Kept files hold no more disk than the log
// did before the delete.
const keepDeleted = 4

// isRecycled says whether name is that of a kept deleted segment.
func isRecycled(name string) bool {
	return strings.HasPrefix(name, recycledPrefix) && strings.HasSuffix(name, recycledSuffix)
}

// firstSpareSize is the size of the first spare after Open (at most
// SegmentSize).
const firstSpareSize = 64 << 10

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

// initSpare sets up l.sp (Open).
func (l *Log) initSpare() {
	l.sp.FS, l.sp.Path, l.sp.Log = l.fs, l.sparePath, l.log
	l.sp.Inline = l.opts.prealloc == preallocInline
	if l.opts.prealloc != preallocOff {
		l.sp.Keep = keepDeleted
		l.sp.RecyclePath = func() string {
			l.recycled++
			return filepath.Join(l.dir, fmt.Sprintf("%s%d%s", recycledPrefix, l.recycled, recycledSuffix))
		}
	}
	l.spareSize = min(firstSpareSize, l.opts.SegmentSize)
}

// prepareSpare starts preparing a spare unless one is ready or under way.
// wmu is held and the log is open and writable.
func (l *Log) prepareSpare() {
	if l.opts.prealloc != preallocOff {
		l.sp.Prepare(l.spareSize)
	}
}

// takeSpare returns the spare, its path and its size if it is ready (the
// caller now owns it), or nil; it never waits. The next spare is twice
// its size, up to SegmentSize. wmu is held.
func (l *Log) takeSpare() (f vfs.File, path string, size int64) {
	f, path, size = l.sp.Take()
	if f != nil {
		l.spareSize = min(2*size, l.opts.SegmentSize)
	}
	return f, path, size
}
