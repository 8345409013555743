// Package raftlog is the replicated store's Raft log and stable store
// (hashicorp/raft's LogStore and StableStore): segmented append-only files
// of self-checking records on a vfs.FS, one write and one fsync per
// StoreLogs call, batches atomic across a crash. See docs/raftlog.md.
package raftlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/vfs"
)

// Errors.
var (
	// ErrFailed is returned by every change once a write, sync or file
	// operation has failed: what reached the disk is unknown, so the log
	// refuses further changes until it is reopened (and recovers).
	ErrFailed = errors.New("raftlog: failed after an I/O error; reopen to recover")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("raftlog: closed")
	// ErrRange is returned by DeleteRange for a range that is neither a
	// prefix nor a suffix of the log, and by StoreLogs for entries that do
	// not follow the log's last index or each other.
	ErrRange = errors.New("raftlog: index out of sequence")
	// ErrReadOnly is returned by every change to a Log opened with
	// Options.ReadOnly.
	ErrReadOnly = errors.New("raftlog: opened read-only")
	// ErrTooLarge is returned by StoreLogs for an entry over
	// Options.MaxEntryBytes.
	ErrTooLarge = errors.New("raftlog: entry too large")
)

// Log is a Raft log store. It implements raft.LogStore and is safe for
// concurrent use: mutations are serialised, reads go on beside them.
//
// Entries returned by GetLog share their Data and Extensions with the
// cache and with other callers: they must not be modified.
type Log struct {
	dir  string
	fs   vfs.FS
	opts Options
	log  *slog.Logger

	// wmu serialises mutations (StoreLogs, DeleteRange, Close) and guards w.
	// A segment's fields and mu.segs change only with wmu and mu both held,
	// so holding either is enough to read them. Lock order: wmu, then mu.
	wmu sync.Mutex
	w   struct {
		nextSeg uint32 // number of the next segment file
		failed  error  // sticky: wraps ErrFailed
		closed  bool
	}
	failOnce sync.Once

	// sy is the state of syncing (sync.go); fileMu is held while a
	// segment file is synced by the syncer or closed.
	sy     syncState
	fileMu sync.Mutex

	// sp is the spare segment made ahead of time, and spareSize the size
	// of the next one (wmu) (spare.go).
	sp        vfs.Spare
	spareSize int64
	recycled  int // names of kept deleted segments (spare.go); wmu is held

	// mu is held for reading while a segment file is read, and for writing
	// while the index changes; files leave the index before they are
	// closed, so no reader can hold one then.
	mu struct {
		sync.RWMutex
		segs        []*segment // ascending by number and by index
		first, last uint64     // 0, 0 when empty
		cache       cache
		closed      bool
	}
}

// segment is one open segment file. Every segment holds at least one live
// entry except the newest, which may be empty (just created).
type segment struct {
	num  uint32
	f    vfs.File
	base uint64 // index of locs[0]
	locs []loc  // the live entries, base onwards
	end  int64  // where the next record goes: the end of the valid records
	// alloc is the size of the file (wmu only): a write beyond it grows
	// the file, and its sync then costs more (spare.go). Zeros lie
	// between end and alloc.
	alloc int64
	// drop drops the pages far behind end from the page cache (wmu only):
	// the entries the leader reads back are the newest, from the cache.
	drop vfs.DropBehind
}

// loc is where an entry's record is in its segment.
type loc struct {
	off int64
	n   int64
}

func (s *segment) last() uint64 { return s.base + uint64(len(s.locs)) - 1 }

func (s *segment) holds(index uint64) bool {
	return len(s.locs) > 0 && index >= s.base && index-s.base < uint64(len(s.locs))
}

var _ raft.LogStore = (*Log)(nil)

// Open opens (recovering if needed) or creates the log in dir on fsys. It
// does not lock dir: one process at a time must open it.
func Open(ctx context.Context, dir string, fsys vfs.FS, opts Options, log *slog.Logger) (*Log, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Log{dir: dir, fs: fsys, opts: opts, log: log.With("component", "raftlog", "dir", dir)}
	l.mu.cache = cache{maxEnts: opts.CacheEntries, maxBytes: opts.CacheBytes}
	l.initSpare()
	if err := l.recover(ctx); err != nil {
		l.closeFiles()
		return nil, err
	}
	// What recovery found may have been written and never synced (the
	// process died, the machine did not): sync it before calling it
	// durable.
	if n := len(l.mu.segs); n > 0 && !opts.ReadOnly {
		s := l.mu.segs[n-1]
		if err := s.f.Sync(); err != nil {
			l.closeFiles()
			return nil, fmt.Errorf("raftlog: sync segment %d: %w", s.num, err)
		}
	}
	l.sy.durable = l.mu.last
	l.startSyncer()
	if !opts.ReadOnly {
		l.prepareSpare()
	}
	return l, nil
}

// FirstIndex implements raft.LogStore: the first index, 0 when empty.
func (l *Log) FirstIndex() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.mu.closed {
		return 0, ErrClosed
	}
	return l.mu.first, nil
}

// LastIndex implements raft.LogStore: the last index, 0 when empty.
func (l *Log) LastIndex() (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.mu.closed {
		return 0, ErrClosed
	}
	return l.mu.last, nil
}

// GetLog implements raft.LogStore. It returns raft.ErrLogNotFound for an
// index the log does not hold.
func (l *Log) GetLog(index uint64, e *raft.Log) error {
	if l.opts.Async != nil && !l.opts.Async() && index > l.Durable() {
		// A follower that was leader may hold entries it wrote but has
		// not synced yet. Raft reads an entry back before it takes the
		// same one from a new leader as already stored, and then answers
		// as if it had it on disk: sync first.
		l.wmu.Lock()
		err := l.flushPending()
		l.wmu.Unlock()
		l.report(err)
		if err != nil {
			return err
		}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.mu.closed {
		return ErrClosed
	}
	if c := l.mu.cache.get(index); c != nil {
		*e = *c
		return nil
	}
	segs := l.mu.segs
	i := sort.Search(len(segs), func(i int) bool {
		return len(segs[i].locs) == 0 || segs[i].last() >= index // only the newest can be empty
	})
	if i == len(segs) || !segs[i].holds(index) {
		return raft.ErrLogNotFound
	}
	s := segs[i]
	at := s.locs[index-s.base]
	b := make([]byte, at.n)
	if _, err := s.f.ReadAt(b, at.off); err != nil {
		return fmt.Errorf("raftlog: read entry %d (segment %d, offset %d): %w", index, s.num, at.off, err)
	}
	typ, p, _, err := parseFrame(b, maxEntryBytes)
	if err == nil && typ != recEntry && typ != recEntryEnd {
		err = fmt.Errorf("%w: record type %d", errCorrupt, typ)
	}
	if err == nil {
		err = decodeEntry(p, e)
	}
	if err == nil && e.Index != index {
		err = fmt.Errorf("%w: the record holds entry %d", errCorrupt, e.Index)
	}
	if err != nil {
		return fmt.Errorf("raftlog: entry %d (segment %d, offset %d): %w", index, s.num, at.off, err)
	}
	return nil
}

// StoreLog implements raft.LogStore.
func (l *Log) StoreLog(e *raft.Log) error { return l.StoreLogs([]*raft.Log{e}) }

// StoreLogs implements raft.LogStore: it appends entries, which must be
// contiguous and follow the last index (a gap is allowed, as the
// raft.LogStore contract allows, and starts a new segment), with one write
// and one fsync (plus the creation of a segment file when one is due). The
// batch is atomic: after a crash it is there whole or not at all. When
// Options.Async says so, the fsync is left to the syncer (sync.go): the
// entries are durable once Durable reaches them.
func (l *Log) StoreLogs(logs []*raft.Log) error {
	l.wmu.Lock()
	err := l.storeLogs(logs)
	l.wmu.Unlock()
	l.report(err)
	return err
}

// storeLogs does StoreLogs with wmu held.
func (l *Log) storeLogs(logs []*raft.Log) error {
	if err := l.writable(); err != nil || len(logs) == 0 {
		return err
	}
	first, last := logs[0].Index, l.mu.last
	if first == 0 || (last != 0 && first <= last) {
		return fmt.Errorf("%w: StoreLogs from index %d, but the log ends at %d (delete the suffix first)", ErrRange, first, last)
	}
	size := 0
	for i, e := range logs {
		if i > 0 && e.Index != logs[i-1].Index+1 {
			return fmt.Errorf("%w: StoreLogs with index %d after %d", ErrRange, e.Index, logs[i-1].Index)
		}
		n := entrySize(e)
		if int64(n-frameSize) > l.opts.MaxEntryBytes {
			return fmt.Errorf("%w: entry %d has %d bytes, over %d", ErrTooLarge, e.Index, n-frameSize, l.opts.MaxEntryBytes)
		}
		size += n
	}
	async := l.opts.Async != nil && l.opts.Async()
	s := l.active()
	if s == nil || (len(s.locs) > 0 && (first != s.last()+1 || s.end >= l.opts.SegmentSize ||
		// The batch would grow the file: move to a spare, if one is
		// ready (one segment made without one moves as soon as it is).
		(s.end+int64(size) > s.alloc && l.sp.Ready()))) {
		// A later sync of the new segment would not cover the old one.
		if err := l.flushPending(); err != nil {
			return err
		}
		var err error
		if s, err = l.createSegment(); err != nil {
			return err
		}
	}
	buf := make([]byte, 0, size)
	locs := make([]loc, len(logs))
	cached := make([]raft.Log, len(logs))
	for i, e := range logs {
		start := len(buf)
		var data, ext int
		buf, data, ext = appendEntry(buf, e, i == len(logs)-1)
		locs[i] = loc{off: s.end + int64(start), n: int64(len(buf) - start)}
		cached[i] = *e
		cached[i].Data, cached[i].Extensions = nil, nil
		if len(e.Data) > 0 {
			cached[i].Data = buf[data : data+len(e.Data) : data+len(e.Data)]
		}
		if len(e.Extensions) > 0 {
			cached[i].Extensions = buf[ext : ext+len(e.Extensions) : ext+len(e.Extensions)]
		}
	}
	if _, err := s.f.WriteAt(buf, s.end); err != nil {
		return l.fail(fmt.Errorf("write segment %d at %d: %w", s.num, s.end, err))
	}
	if !async {
		if err := s.f.Sync(); err != nil {
			return l.fail(fmt.Errorf("sync segment %d: %w", s.num, err))
		}
		l.synced()
	}
	l.mu.Lock()
	if len(s.locs) == 0 {
		s.base = first
	}
	s.locs = append(s.locs, locs...)
	s.end += int64(len(buf))
	s.alloc = max(s.alloc, s.end)
	if l.mu.first == 0 {
		l.mu.first = first
	}
	l.mu.last = logs[len(logs)-1].Index
	l.mu.cache.add(cached)
	end := s.end
	l.mu.Unlock()
	s.drop.Wrote(s.f, end)
	l.written(s, l.mu.last, !async)
	return nil
}

// writable reports why the log cannot change, if it cannot. wmu is held.
func (l *Log) writable() error {
	if l.w.closed {
		return ErrClosed
	}
	if l.opts.ReadOnly {
		return ErrReadOnly
	}
	if l.w.failed != nil {
		return l.w.failed
	}
	return l.syncErr()
}

// active returns the newest segment, or nil. wmu is held.
func (l *Log) active() *segment {
	if len(l.mu.segs) == 0 {
		return nil
	}
	return l.mu.segs[len(l.mu.segs)-1]
}

// createSegment makes the next segment file, durably (header synced,
// directory synced), and makes it the active segment: the spare renamed,
// if one is ready, else a new file; then it starts preparing the next
// spare. wmu is held, and everything written to the previous segment is
// synced: recovery relies on it (docs/raftlog.md).
func (l *Log) createSegment() (*segment, error) {
	num := l.w.nextSeg
	path := l.segPath(num)
	s := &segment{num: num, end: headerSize, alloc: headerSize}
	if f, spare, size := l.takeSpare(); f != nil {
		s.f, s.alloc = f, size
		if err := l.fs.Rename(spare, path); err != nil {
			f.Close()
			return nil, l.fail(fmt.Errorf("rename the spare to segment %d: %w", num, err))
		}
	} else {
		var err error
		if s.f, err = l.fs.Create(path); err != nil {
			return nil, l.fail(fmt.Errorf("create segment %d: %w", num, err))
		}
	}
	f := s.f
	if _, err := f.WriteAt(segmentHeader(num), 0); err != nil {
		f.Close()
		return nil, l.fail(fmt.Errorf("write header of segment %d: %w", num, err))
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, l.fail(fmt.Errorf("sync segment %d: %w", num, err))
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		f.Close()
		return nil, l.fail(fmt.Errorf("sync %s: %w", l.dir, err))
	}
	l.w.nextSeg++
	l.mu.Lock()
	l.mu.segs = append(l.mu.segs, s)
	l.mu.Unlock()
	l.log.Debug("segment started", "segment", num, "preallocated", s.alloc > headerSize)
	l.prepareSpare()
	return s, nil
}

// fail makes the log refuse further changes and returns the error, which
// wraps ErrFailed. wmu is held.
func (l *Log) fail(err error) error {
	if l.w.failed == nil {
		l.w.failed = fmt.Errorf("%w: %w", ErrFailed, err)
	}
	return fmt.Errorf("%w: %w", ErrFailed, err)
}

// report calls Options.OnFail the first time err says the log failed. No
// lock is held.
func (l *Log) report(err error) {
	if err != nil && errors.Is(err, ErrFailed) && l.opts.OnFail != nil {
		l.failOnce.Do(func() { l.opts.OnFail(err) })
	}
}

// Close closes the segment files. Later calls fail with ErrClosed.
func (l *Log) Close() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.w.closed {
		return nil
	}
	l.w.closed = true
	l.stopSyncer()
	serr := l.sp.Close()
	var err error
	if l.w.failed == nil && l.syncErr() == nil {
		err = l.flushPending()
	}
	return errors.Join(err, serr, l.closeFiles())
}

func (l *Log) closeFiles() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, s := range l.mu.segs {
		errs = append(errs, s.f.Close())
	}
	l.mu.segs = nil
	l.mu.closed = true
	l.mu.cache.reset()
	return errors.Join(errs...)
}

func (l *Log) segPath(num uint32) string {
	return filepath.Join(l.dir, fmt.Sprintf("%010d%s", num, segSuffix))
}

const (
	segSuffix = ".seg"
	firstName = "first"
)
