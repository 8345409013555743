package raftlog

import (
	"fmt"
	"path/filepath"
	"sort"
)

// DeleteRange implements raft.LogStore. Raft deletes only a prefix (log
// compaction after a snapshot: min is the first index) or a suffix
// (entries that conflict with the leader's: max is the last index), or
// both at once (the whole log); any other range fails with ErrRange. A
// range beyond the log's ends deletes nothing. The deletion is durable when
// DeleteRange returns.
func (l *Log) DeleteRange(min, max uint64) error {
	l.wmu.Lock()
	err := l.deleteRange(min, max)
	l.wmu.Unlock()
	l.report(err)
	return err
}

func (l *Log) deleteRange(min, max uint64) error {
	if err := l.writable(); err != nil {
		return err
	}
	first, last := l.mu.first, l.mu.last
	switch {
	case min > max || last == 0 || max < first || min > last:
		return nil
	case min <= first:
		if max >= last {
			return l.deleteAll()
		}
		return l.deletePrefix(max)
	case max >= last:
		// What the syncer has not synced yet goes first, so that the
		// durable index only has to come down.
		if err := l.flushPending(); err != nil {
			return err
		}
		l.truncated(min)
		return l.deleteSuffix(min)
	}
	return fmt.Errorf("%w: DeleteRange(%d, %d) inside the log [%d, %d]: only a prefix or a suffix can be deleted",
		ErrRange, min, max, first, last)
}

// deleteAll removes every segment, newest first.
func (l *Log) deleteAll() error {
	if err := l.flushPending(); err != nil {
		return err
	}
	l.truncated(1)
	l.mu.Lock()
	segs := l.mu.segs
	l.mu.segs = nil
	l.mu.first, l.mu.last = 0, 0
	l.mu.cache.reset()
	l.mu.Unlock()
	return l.removeNewestFirst(segs)
}

// deletePrefix deletes the entries up to max (first <= max < last): it
// records the new first index durably in the first-index file, then
// removes the segments entirely before it. Entries of the segment that
// holds the new first index that come before it stay in the file, ignored.
func (l *Log) deletePrefix(max uint64) error {
	segs := l.mu.segs
	// The segment holding the new first index; the newest segment, if
	// empty, sorts last.
	k := sort.Search(len(segs), func(i int) bool { return len(segs[i].locs) == 0 || segs[i].last() > max })
	s := segs[k]
	first := max + 1
	if s.base > first {
		first = s.base // max was in a gap
	}
	if err := writeFileAtomic(l.fs, filepath.Join(l.dir, firstName), firstRecord(s.num, first)); err != nil {
		return l.fail(fmt.Errorf("write the first index: %w", err))
	}
	l.mu.Lock()
	l.mu.segs = append([]*segment(nil), segs[k:]...)
	s.locs = s.locs[first-s.base:]
	s.base = first
	l.mu.first = first
	l.mu.cache.dropBefore(first)
	l.mu.Unlock()
	// The first-index file already makes these segments dead: a crash
	// before they are gone leaves them to the next Open to remove, and a
	// failure to remove one is no reason to fail the log.
	for _, old := range segs[:k] {
		// Nothing was written since its last sync. A deleted segment is
		// kept to become the next spare (spare.go), if there is room.
		l.releaseFile(old)
		if l.sp.Recycle(old.f, l.segPath(old.num)) {
			continue
		}
		old.f.Close()
		if err := l.fs.Remove(l.segPath(old.num)); err != nil {
			l.log.Warn("could not remove a deleted segment; the next open removes it", "segment", old.num, "err", err)
		}
	}
	if k > 0 && l.writable() == nil {
		l.prepareSpare()
	}
	if k > 0 {
		if err := l.fs.SyncDir(l.dir); err != nil {
			l.log.Warn("could not sync the log directory after removing segments", "err", err)
		}
	}
	return nil
}

// deleteSuffix deletes the entries from min on (first < min <= last): it
// removes the segments that start at min or later, newest first, then
// appends a truncation record to the segment that holds min, if one does.
// A crash part way leaves a prefix of the log as it was.
func (l *Log) deleteSuffix(min uint64) error {
	segs := l.mu.segs
	// The first segment with entries from min on (or the empty newest).
	k := sort.Search(len(segs), func(i int) bool { return len(segs[i].locs) == 0 || segs[i].last() >= min })
	keep := k
	var cut *segment
	if k < len(segs) && segs[k].holds(min) && segs[k].base < min {
		cut, keep = segs[k], k+1
	}
	drop := segs[keep:]
	l.mu.Lock()
	l.mu.segs = segs[:keep:keep]
	if cut != nil {
		cut.locs = cut.locs[:min-cut.base]
	}
	l.mu.last = l.mu.segs[len(l.mu.segs)-1].last() // segs[0] holds first < min
	l.mu.cache.truncateFrom(min)
	l.mu.Unlock()
	if err := l.removeNewestFirst(drop); err != nil {
		return err
	}
	if cut == nil {
		return nil
	}
	rec := truncRecord(min)
	if _, err := cut.f.WriteAt(rec, cut.end); err != nil {
		return l.fail(fmt.Errorf("write segment %d at %d: %w", cut.num, cut.end, err))
	}
	if err := cut.f.Sync(); err != nil {
		return l.fail(fmt.Errorf("sync segment %d: %w", cut.num, err))
	}
	l.mu.Lock()
	cut.end += int64(len(rec))
	cut.alloc = max(cut.alloc, cut.end)
	l.mu.Unlock()
	return nil
}

// removeNewestFirst closes and removes segments that have left the index,
// newest first, syncing the directory after each, so that a crash part way
// leaves a prefix of the log.
func (l *Log) removeNewestFirst(segs []*segment) error {
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		l.closeFile(s) // nothing was written since its last sync
		if err := l.fs.Remove(l.segPath(s.num)); err != nil {
			return l.fail(fmt.Errorf("remove segment %d: %w", s.num, err))
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return l.fail(fmt.Errorf("sync %s: %w", l.dir, err))
		}
	}
	return nil
}
