// Package journal is Pier's embedded durable store: a segmented, append-only
// journal of self-checking records with group commit, crash recovery from
// periodic checkpoints of a compact in-memory index, and garbage collection
// of segments that hold no live message. See docs/journal.md.
package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// Errors of the journal.
var (
	// ErrFailed is returned by Apply once a write or sync has failed: what
	// reached the disk is unknown, so the store stops accepting writes
	// until it is reopened (and recovers).
	ErrFailed = errors.New("journal: failed after an I/O error; reopen to recover")
	// ErrTooLarge is returned by Apply for a batch over Options.MaxBatchBytes.
	ErrTooLarge = errors.New("journal: batch too large")
)

// Store is the journal store. It implements store.Store.
type Store struct {
	dir  string
	fs   vfs.FS
	opts Options
	log  *slog.Logger

	reqs chan *request // Apply -> the writer of the moment; unbuffered
	lead chan struct{} // holds a token while some goroutine is the writer
	kick chan struct{} // writer -> run: NoSync data waits for a lazy sync
	// lazyArmed: run's timer is set, so a writer need not wake run (a
	// consumer's every acknowledgement would).
	lazyArmed atomic.Bool
	quit      chan struct{} // closed by Close
	done      chan struct{} // closed when run has taken the writer's place for good
	closed    atomic.Bool

	// gcMu is held for reading while segment files are read and for
	// writing while they are closed or removed. Lock order: gcMu, then mu.
	gcMu sync.RWMutex

	mu struct {
		sync.RWMutex
		idx    *index
		segs   map[uint32]vfs.File // every segment file, open
		failed error               // sticky write failure
	}

	// w is owned by the writer: the goroutine holding lead (Open before, Close after).
	w writerState

	spare vfs.Spare // the next segment, made ahead of time (spare.go)
	spill *spill    // the index's spill files (spill.go): used by s.mu.idx, removed by Close
}

var _ store.Store = (*Store)(nil)

// request is one Apply waiting for the writer.
type request struct {
	rec      []byte // framed batch record
	ops      []op
	addBytes int64
	off      int64 // where the writer put rec
	noSync   bool  // durability may wait for a later sync
	applied  bool  // held back by take: in the index and answered already
	done     chan error
}

// Open opens (recovering if needed) or creates the journal in dir on fsys.
// It does not lock dir: one process at a time must open it.
func Open(ctx context.Context, dir string, fsys vfs.FS, opts Options, log *slog.Logger) (*Store, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		dir:  dir,
		fs:   fsys,
		opts: opts,
		log:  log.With("component", "journal", "dir", dir),
		reqs: make(chan *request),
		lead: make(chan struct{}, 1),
		kick: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	s.initSpare()
	if err := s.recover(ctx); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.prepareSpare()
	go s.run()
	return s, nil
}

func (s *Store) segPath(id uint32) string {
	return filepath.Join(s.dir, fmt.Sprintf("%010d.seg", id))
}

// Recover implements store.Store. The work was done by Open; Recover
// reports the state.
func (s *Store) Recover(ctx context.Context) (*store.State, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.idx.state(), nil
}

// Apply implements store.Store. Once the batch is handed to the writer,
// Apply waits for the outcome even if ctx ends, so that its result always
// says whether the batch is durable.
//
// The writer is whichever goroutine holds the lead token (LevelDB's
// writer queue): an Apply that finds no writer becomes it, writes its
// batch with every batch that arrives meanwhile (gather), syncs, answers
// them and steps down; one that finds a writer hands its batch over and
// waits. A lone producer so writes and syncs on its own goroutine, with no
// hand-over to a writer goroutine and back (two wake-ups per sync).
func (s *Store) Apply(ctx context.Context, b *store.Batch) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if len(b.Ops) == 0 && b.Mark == 0 {
		return nil
	}
	rec, ops, addBytes, err := encodeBatch(b, int(s.opts.MaxBatchBytes))
	if err != nil {
		return err
	}
	r := &request{rec: rec, ops: ops, addBytes: addBytes, noSync: b.NoSync, done: make(chan error, 1)}
	start := time.Now()
	select {
	case s.reqs <- r:
	case s.lead <- struct{}{}:
		s.take(s.gather(r))
		s.stepDown()
	case <-s.quit:
		return store.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	err = <-r.done
	if err == nil && !b.NoSync {
		s.opts.Meter.Committed(time.Since(start))
	}
	return err
}

// Scan implements store.Store. maxBytes <= 0 and max <= 0 mean no limit.
func (s *Store) Scan(ctx context.Context, dest string, after uint64, max int, maxBytes int64) ([]store.Record, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	s.gcMu.RLock()
	defer s.gcMu.RUnlock()
	s.mu.RLock()
	ents, err := s.mu.idx.after(dest, after, max, maxBytes)
	if err == nil {
		err = s.mu.idx.err
	}
	if err != nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("journal: scan %s: %w", dest, err)
	}
	files := make([]vfs.File, len(ents))
	for i, e := range ents {
		files[i] = s.mu.segs[e.seg]
	}
	s.mu.RUnlock()

	recs := make([]store.Record, 0, len(ents))
	var buf []byte
	for i, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if files[i] == nil {
			return nil, fmt.Errorf("journal: scan %s seq %d: segment %d is not open", dest, e.seq, e.seg)
		}
		m, err := readMessage(files[i], e, &buf)
		if err != nil {
			return nil, fmt.Errorf("journal: scan %s seq %d in segment %d at %d: %w", dest, e.seq, e.seg, e.off, err)
		}
		recs = append(recs, store.Record{Seq: e.seq, Msg: m})
	}
	return recs, nil
}

// readMessage reads and checks the message that e locates.
func readMessage(f vfs.File, e entry, buf *[]byte) (*message.Message, error) {
	n := 4 + int(e.n)
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := f.ReadAt(b, int64(e.off)); err != nil {
		return nil, err
	}
	if crc32.Checksum(b[4:], castagnoli) != binary.LittleEndian.Uint32(b) {
		return nil, fmt.Errorf("%w: message checksum mismatch", errCorrupt)
	}
	return message.Unmarshal(b[4:])
}

// Usage implements store.Store: Bytes counts live messages' encoded size.
func (s *Store) Usage() store.Usage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return store.Usage{Bytes: s.mu.idx.bytes, Limit: s.opts.SizeLimit, Messages: s.mu.idx.messages}
}

// Close implements store.Store: it completes the batches already handed
// to the writer, writes a final checkpoint and closes every file.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return store.ErrClosed
	}
	close(s.quit)
	<-s.done
	s.spare.Close()
	var err error
	s.mu.RLock()
	failed := s.mu.failed
	s.mu.RUnlock()
	if failed == nil && (s.w.off != int64(s.w.ckptOff) || s.w.seg != s.w.ckptSeg) {
		err = s.checkpoint(s.w.seg, uint32(s.w.off))
	}
	if cerr := s.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

// closeFiles closes every segment file.
func (s *Store) closeFiles() error {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for id, f := range s.mu.segs {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("journal: close segment %d: %w", id, err))
		}
	}
	s.mu.segs = nil
	if s.spill != nil {
		if err := s.spill.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
