package journal

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/piermq/pier/internal/store/vfs"
)

// Segments made ahead of time (Options.Preallocate; the mechanism is
// vfs.Spare, shared with the Raft log). While the active segment fills, a
// spare named spare-RANDOM.tmp is zero-filled and synced; rolling renames
// it to the next segment's name and writes the header, and with no spare
// ready the segment is created as before and grows by appending, so a
// write never waits for zeros. Recovery reads zeros where a record would
// start as the end of what was written (frame types are never 0) and
// removes leftover spares. Each process names its spare at random, so in
// a shared directory a stale master's late zero-filling can only reach its
// own file (unlinked by the new master's recovery), never the new
// master's segment.
//
// Dead segments are kept (up to keepDead, vfs.Spare.Recycle) and the next
// spare is zero-filled over one of them instead of a new file: writing
// over pages the page cache still holds costs far less CPU than filling
// new ones (vfs.Spare). Not when the directory is shared (a Fence): a
// stale master could then write zeros into a file that a newer master,
// replaying from an older checkpoint, still reads.

// keepDead is how many dead segments are kept to become spares: a
// checkpoint (every two segments by default) usually frees two.
const keepDead = 2

const (
	sparePrefix = "spare-"
	spareSuffix = ".tmp"
)

func isSpare(name string) bool {
	return strings.HasPrefix(name, sparePrefix) && strings.HasSuffix(name, spareSuffix)
}

// initSpare sets up s.spare (Open).
func (s *Store) initSpare() {
	s.spare = vfs.Spare{
		FS: s.fs,
		Path: func() string {
			var rnd [8]byte
			rand.Read(rnd[:])
			return filepath.Join(s.dir, sparePrefix+hex.EncodeToString(rnd[:])+spareSuffix)
		},
		Check: s.fenced,
		Log:   s.log,
	}
	if s.opts.Preallocate && s.opts.Fence == nil && !s.opts.noRecycle {
		s.spare.Keep = keepDead
	}
}

// recycle offers dead segment id, whose file is f, for reuse; true if it
// was kept (a full-size file, room in the pool), false if the caller is
// to close and delete it.
func (s *Store) recycle(f vfs.File, id uint32) bool {
	if s.spare.Keep == 0 {
		return false
	}
	if size, err := f.Size(); err != nil || size < s.opts.SegmentSize {
		return false
	}
	return s.spare.Recycle(f, s.segPath(id))
}

// prepareSpare starts making the next segment ahead of time.
func (s *Store) prepareSpare() {
	if s.opts.Preallocate {
		s.spare.Prepare(s.opts.SegmentSize)
	}
}

// takeSpare turns the ready spare, if there is one, into segment id with
// its header written, durably (contents and directory entry), registers
// it and starts preparing the next one. ok is false when there was no
// spare.
func (s *Store) takeSpare(id uint32) (f vfs.File, off int64, ok bool, err error) {
	f, path, _ := s.spare.Take()
	defer s.prepareSpare()
	if f == nil {
		return nil, 0, false, nil
	}
	if err := s.fs.Rename(path, s.segPath(id)); err != nil {
		s.log.Warn("could not use the prepared segment; creating one", "file", path, "err", err)
		f.Close()
		s.fs.Remove(path)
		return nil, 0, false, nil
	}
	h := segmentHeader(id)
	_, err = f.WriteAt(h, 0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = s.fs.SyncDir(s.dir)
	}
	if err != nil {
		f.Close()
		return nil, 0, true, fmt.Errorf("journal: make segment %d of a prepared file: %w", id, err)
	}
	s.mu.Lock()
	s.mu.segs[id] = f
	s.mu.Unlock()
	return f, int64(len(h)), true, nil
}
