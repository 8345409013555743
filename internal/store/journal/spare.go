package journal

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/piermq/pier/internal/store/vfs"
)

// Segments made ahead of time (Options.Preallocate). Overwriting blocks a
// file already holds and has synced lets fdatasync write the data alone;
// appending changes the file's size, which costs a file-system journal
// commit on every sync (on this project's ext4 disk: ~8,900 syncs/s at
// ~52 µs of CPU against ~6,500 at ~75 µs, docs/performance.md).
//
// A spare is a zero-filled, synced file under a name of its own
// (spare-RANDOM.tmp), prepared by a goroutine while the active segment
// fills. Rolling renames it to the next segment's name and writes the
// header; with no spare ready the segment is created as before and grows
// by appending, so a write never waits for zeros. Recovery reads zeros
// where a record would start as the end of what was written (frame types
// are never 0) and removes leftover spares. Each process names its spare
// at random, so in a shared directory a stale master's late zero-filling
// can only reach its own file (unlinked by the new master's recovery),
// never the new master's segment.

const (
	sparePrefix = "spare-"
	spareSuffix = ".tmp"
)

// spareState is the spare and its preparer.
type spareState struct {
	mu     sync.Mutex
	f      vfs.File // ready spare, nil if none
	path   string
	busy   bool // a preparer is running
	warned bool // a failure was logged since the last success
	wg     sync.WaitGroup
}

func isSpare(name string) bool {
	return strings.HasPrefix(name, sparePrefix) && strings.HasSuffix(name, spareSuffix)
}

// prepareSpare starts making a spare unless one is ready or being made.
func (s *Store) prepareSpare() {
	if !s.opts.Preallocate {
		return
	}
	sp := &s.spare
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.busy || sp.f != nil {
		return
	}
	sp.busy = true
	sp.wg.Add(1)
	go func() {
		defer sp.wg.Done()
		f, path, err := s.makeSpare()
		sp.mu.Lock()
		defer sp.mu.Unlock()
		sp.busy = false
		if err != nil {
			if !sp.warned {
				s.log.Warn("could not prepare the next segment; segments grow by appending until it works", "err", err)
				sp.warned = true
			}
			return
		}
		sp.f, sp.path, sp.warned = f, path, false
	}()
}

// makeSpare creates and zero-fills a spare file.
func (s *Store) makeSpare() (vfs.File, string, error) {
	if err := s.fenced(); err != nil {
		return nil, "", err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	path := filepath.Join(s.dir, sparePrefix+hex.EncodeToString(rnd[:])+spareSuffix)
	f, err := s.fs.Create(path)
	if err != nil {
		return nil, "", fmt.Errorf("journal: create %s: %w", path, err)
	}
	if err := vfs.ZeroFill(f, 0, s.opts.SegmentSize); err != nil {
		f.Close()
		s.fs.Remove(path)
		return nil, "", fmt.Errorf("journal: zero-fill %s: %w", path, err)
	}
	return f, path, nil
}

// takeSpare turns the ready spare, if there is one, into segment id with
// its header written, durably (contents and directory entry), registers
// it and starts preparing the next one. ok is false when there was no spare.
func (s *Store) takeSpare(id uint32) (f vfs.File, off int64, ok bool, err error) {
	sp := &s.spare
	sp.mu.Lock()
	f, path := sp.f, sp.path
	sp.f, sp.path = nil, ""
	sp.mu.Unlock()
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

// dropSpare waits for the preparer and deletes the spare (Close).
func (s *Store) dropSpare() {
	sp := &s.spare
	sp.wg.Wait()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.f != nil {
		sp.f.Close()
		s.fs.Remove(sp.path)
		sp.f, sp.path = nil, ""
	}
}
