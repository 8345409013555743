package journal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/piermq/pier/internal/finetimer"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// writerState is what the writer owns: the goroutine holding Store.lead.
type writerState struct {
	seg         uint32   // active segment
	f           vfs.File // active segment file
	off         int64    // end of the valid data in f
	sinceCkpt   int64    // journal bytes written since the last checkpoint
	spillWarned bool     // the spill's failure was logged
	ckptSeg     uint32   // position of the last checkpoint
	ckptOff     uint32
	buf         []byte
	group       []*request
	dirty       bool    // written but not yet synced (NoSync batches only)
	sizes       [32]int // sizes of the last groups, for GroupWait
	nsizes      int
	deferred    []*request // NoSync batches held back (Options.WriteNoSyncAtOnce)
	defBytes    int64
	drop        vfs.DropBehind // the active segment's (Options.DropBehind)
}

// stepDown ends a writer's turn: it asks run for a lazy sync if NoSync
// data is left unsynced or held back, and gives the lead token back.
func (s *Store) stepDown() {
	if (s.w.dirty || len(s.w.deferred) > 0) && !s.lazyArmed.Load() {
		select {
		case s.kick <- struct{}{}:
		default: // already asked
		}
	}
	<-s.lead
}

// run syncs NoSync data that no synced batch came to cover within
// LazySyncDelay (taking the writer's place for it), and at Close takes the
// writer's place for good: it completes the batches already being handed
// over, writes and syncs what is held back, and exits holding the lead.
func (s *Store) run() {
	defer close(s.done)
	lazy := time.NewTimer(time.Hour)
	lazy.Stop()
	defer lazy.Stop()
	for {
		select {
		case <-s.kick:
			if !s.lazyArmed.Load() {
				lazy.Reset(s.opts.LazySyncDelay)
				s.lazyArmed.Store(true)
			}
			continue
		case <-lazy.C:
			// Disarmed before taking the lead: what a writer leaves
			// unsynced before this is synced below, what it leaves after
			// sees the timer disarmed and asks again.
			s.lazyArmed.Store(false)
			select {
			case s.lead <- struct{}{}:
				s.flushDeferred()
				s.syncDirty()
				<-s.lead
				continue
			case <-s.quit:
			}
		case <-s.quit:
		}
		break
	}
	s.lead <- struct{}{} // wait for the writer of the moment; never given back
	for {
		select {
		case r := <-s.reqs:
			s.take(s.gather(r))
		default:
			s.flushDeferred()
			s.syncDirty()
			return
		}
	}
}

// take commits a gathered group, after the batches held back; or, unless
// WriteNoSyncAtOnce, holds a group of NoSync removals back itself:
// applied to the index and answered now, written with the next group that
// is written anyway or when LazySyncDelay passes (one write instead of
// two). That is sound because a removal or a mark needs no place in a
// segment to be in the index, and applying it again on replay changes
// nothing; a checkpoint taken meanwhile records it (durable early, which
// NoSync allows), and a crash before it is written loses it whole, as a
// crash before its sync would.
func (s *Store) take(g []*request) {
	if !s.opts.WriteNoSyncAtOnce && deferrable(g) {
		size := int64(0)
		for _, r := range g {
			size += int64(len(r.rec))
		}
		if s.w.defBytes+size < s.opts.MaxGroupBytes {
			s.mu.Lock()
			failed := s.mu.failed
			if failed == nil {
				for _, r := range g {
					s.mu.idx.apply(r.ops, s.w.seg, 0)
				}
			}
			s.mu.Unlock()
			for _, r := range g {
				r.done <- failed
				r.applied = true
			}
			s.checkIndex() // fails the store (and so the held batches) if the index broke
			if failed == nil {
				s.w.deferred = append(s.w.deferred, g...)
				s.w.defBytes += size
			}
			clear(g)
			return
		}
	}
	if len(s.w.deferred) > 0 {
		g = append(s.w.deferred, g...)
		s.w.deferred, s.w.defBytes = nil, 0
	}
	s.commit(g)
}

// deferrable: every batch of g is NoSync and holds only removals and
// marks.
func deferrable(g []*request) bool {
	for _, r := range g {
		if !r.noSync {
			return false
		}
		for i := range r.ops {
			if k := r.ops[i].kind; k != store.OpRemove && k != opMark {
				return false
			}
		}
	}
	return true
}

// flushDeferred writes the batches held back.
func (s *Store) flushDeferred() {
	if len(s.w.deferred) == 0 {
		return
	}
	g := s.w.deferred
	s.w.deferred, s.w.defBytes = nil, 0
	s.commit(g)
}

// syncDirty syncs the active segment if NoSync batches are pending.
func (s *Store) syncDirty() {
	if !s.w.dirty {
		return
	}
	if err := s.w.f.Sync(); err != nil {
		s.fail(fmt.Errorf("journal: sync segment %d: %w", s.w.seg, err))
		return
	}
	s.opts.Meter.Synced()
	s.w.dirty = false
}

// gather collects r and every other request that is ready, up to
// MaxGroupBytes.
func (s *Store) gather(r *request) []*request {
	g := append(s.w.group[:0], r)
	size := int64(len(r.rec))
	for size < s.opts.MaxGroupBytes {
		select {
		case r := <-s.reqs:
			g = append(g, r)
			size += int64(len(r.rec))
			continue
		default:
		}
		break
	}
	// When recent groups show more concurrent synchronous writers than have
	// arrived, wait a little for the rest: one sync then covers them all,
	// instead of the writers settling into two alternating half-groups.
	// Only writers that wait for the sync count: a NoSync batch (the
	// acknowledgements of a consumer) arriving beside one producer must not
	// make that producer wait for a second one that does not exist; and a
	// group of NoSync batches alone never waits: nobody waits for its
	// sync, and if it holds only acknowledgements it is not even written
	// (take), so company would save nothing and would hold up the
	// consumer that applies it (and, until the timer fires, the lead).
	n := synced(g)
	if peak := s.w.recentPeak(); n > 0 && n < peak && s.opts.GroupWait > 0 {
		timeout := finetimer.After(s.opts.GroupWait) // a time.Timer would wait ~1 ms
	wait:
		for n < peak && size < s.opts.MaxGroupBytes {
			select {
			case r := <-s.reqs:
				g = append(g, r)
				size += int64(len(r.rec))
				if !r.noSync {
					n++
				}
			case <-timeout:
				break wait
			}
		}
	}
	s.w.sizes[s.w.nsizes%len(s.w.sizes)] = n
	s.w.nsizes++
	s.w.group = g
	return g
}

// synced counts the requests of g that wait for a sync.
func synced(g []*request) int {
	n := 0
	for _, r := range g {
		if !r.noSync {
			n++
		}
	}
	return n
}

// recentPeak is the largest of the last groups' sizes.
func (w *writerState) recentPeak() int {
	p := 0
	for _, n := range w.sizes {
		p = max(p, n)
	}
	return p
}

// commit writes and syncs a group, updates the index and answers every
// request in it.
func (s *Store) commit(group []*request) {
	s.mu.RLock()
	failed := s.mu.failed
	live := s.mu.idx.bytes
	s.mu.RUnlock()
	if failed != nil {
		for _, r := range group {
			r.answer(failed)
		}
		return
	}
	buf := s.w.buf[:0]
	accepted := group[:0]
	for _, r := range group {
		if r.addBytes > 0 && s.opts.SizeLimit > 0 && live+r.addBytes > s.opts.SizeLimit {
			r.done <- fmt.Errorf("journal: %d bytes live, batch adds %d, limit %d: %w",
				live, r.addBytes, s.opts.SizeLimit, store.ErrFull)
			continue
		}
		live += r.addBytes
		r.off = s.w.off + int64(len(buf))
		buf = append(buf, r.rec...)
		accepted = append(accepted, r)
	}
	s.w.buf = buf[:0]
	if len(accepted) == 0 {
		return
	}
	sync := false
	for _, r := range accepted {
		sync = sync || !r.noSync
	}
	err := s.fenced()
	if err == nil {
		err = s.write(buf, sync)
	}
	if err != nil {
		err = s.fail(err)
		for _, r := range accepted {
			r.answer(err)
		}
		return
	}
	s.opts.Meter.Grouped(len(accepted))
	s.mu.Lock()
	for _, r := range accepted {
		if !r.applied {
			s.mu.idx.apply(r.ops, s.w.seg, uint32(r.off)+headerSize)
		}
	}
	s.mu.Unlock()
	for _, r := range accepted {
		r.answer(nil) // durable, even if the index broke (checkIndex)
	}
	clear(group) // let the requests be collected
	if s.checkIndex() == nil && s.w.off >= s.opts.SegmentSize {
		if err := s.roll(); err != nil {
			s.fail(err)
		}
	}
}

// checkIndex makes the store fail if its index broke (a chunk could not be
// read back from the spill): the index no longer matches the journal, which
// is intact, so reopening recovers.
func (s *Store) checkIndex() error {
	if err := s.spill.broken; err != nil && !s.w.spillWarned {
		s.log.Warn("index spill failed; sealed index chunks stay in memory from now on", "err", err)
		s.w.spillWarned = true
	}
	if err := s.mu.idx.err; err != nil {
		return s.fail(fmt.Errorf("journal: index: %w", err))
	}
	return nil
}

// answer tells r's sender the outcome, unless it was answered when it was
// held back (take).
func (r *request) answer(err error) {
	if !r.applied {
		r.done <- err
	}
}

// write appends buf to the active segment and syncs it (with sync, or
// leaves it for a later sync).
func (s *Store) write(buf []byte, sync bool) error {
	if _, err := s.w.f.WriteAt(buf, s.w.off); err != nil {
		return fmt.Errorf("journal: write segment %d at %d: %w", s.w.seg, s.w.off, err)
	}
	if sync {
		if err := s.w.f.Sync(); err != nil {
			return fmt.Errorf("journal: sync segment %d: %w", s.w.seg, err)
		}
		s.opts.Meter.Synced()
		s.w.dirty = false
	} else {
		s.w.dirty = true
	}
	s.w.off += int64(len(buf))
	s.w.sinceCkpt += int64(len(buf))
	if drop := s.opts.DropBehind; drop != nil && drop() {
		s.w.drop.Wrote(s.w.f, s.w.off)
	}
	return nil
}

// fenced asks Options.Fence whether this store may still write.
func (s *Store) fenced() error {
	if s.opts.Fence == nil {
		return nil
	}
	if err := s.opts.Fence(); err != nil {
		return fmt.Errorf("journal: fenced off: %w: %w", store.ErrUnavailable, err)
	}
	return nil
}

// fail makes err sticky and returns what Apply reports from now on.
func (s *Store) fail(err error) error {
	err = fmt.Errorf("%w: %w", ErrFailed, err)
	s.log.Error("journal write failed; no more writes until reopened", "err", err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.failed == nil {
		s.mu.failed = err
	}
	return s.mu.failed
}

// createSegment creates segment id durably (contents and directory entry)
// with its header written, zero-filled to the segment size with fill, and
// registers it.
func (s *Store) createSegment(id uint32, fill bool) (vfs.File, int64, error) {
	f, err := s.fs.Create(s.segPath(id))
	if err != nil {
		return nil, 0, fmt.Errorf("journal: create segment %d: %w", id, err)
	}
	h := segmentHeader(id)
	if _, err = f.WriteAt(h, 0); err == nil && fill {
		err = vfs.ZeroFill(f, int64(len(h)), s.opts.SegmentSize)
	} else if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = s.fs.SyncDir(s.dir)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("journal: create segment %d: %w", id, err)
	}
	s.mu.Lock()
	s.mu.segs[id] = f
	s.mu.Unlock()
	return f, int64(len(h)), nil
}

// roll moves on to a new segment, and checkpoints if one is due.
func (s *Store) roll() error {
	if err := s.fenced(); err != nil {
		return err
	}
	// A later sync of the new segment would not cover this one.
	if s.w.dirty {
		if err := s.w.f.Sync(); err != nil {
			return fmt.Errorf("journal: sync segment %d: %w", s.w.seg, err)
		}
		s.opts.Meter.Synced()
		s.w.dirty = false
	}
	id := s.w.seg + 1
	f, off, ok, err := s.takeSpare(id)
	if !ok { // none ready: append to a new file rather than wait
		f, off, err = s.createSegment(id, false)
	}
	if err != nil {
		return err
	}
	s.w.seg, s.w.f, s.w.off = id, f, off
	s.w.drop = vfs.DropBehind{}
	if s.w.sinceCkpt >= s.opts.CheckpointBytes {
		if err := s.compact(); err != nil {
			return err
		}
		// A failed checkpoint leaves the previous one in force, and the
		// journal intact: recovery just replays more.
		if err := s.checkpoint(s.w.seg, uint32(s.w.off)); err != nil {
			s.log.Warn("checkpoint failed", "err", err)
		}
	}
	return nil
}

const (
	ckptName = "checkpoint"
	ckptTemp = "checkpoint.tmp"
)

// checkpoint durably records the index as of journal position (seg, off),
// which must be the end of the journal, then deletes the segments it made
// unnecessary. Called by the writer (or Close after it has stopped).
func (s *Store) checkpoint(seg uint32, off uint32) error {
	if err := s.fenced(); err != nil {
		return err
	}
	if err := s.mu.idx.err; err != nil {
		return fmt.Errorf("journal: checkpoint: index: %w", err)
	}
	// Only the writer changes the index, so it can read it unlocked.
	var dead []uint32
	for id := range s.mu.segs {
		if id < seg && s.mu.idx.segLive[id] == 0 {
			dead = append(dead, id)
		}
	}
	tmp, final := filepath.Join(s.dir, ckptTemp), filepath.Join(s.dir, ckptName)
	f, err := s.fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	w := bufio.NewWriterSize(io.NewOffsetWriter(f, 0), 256<<10)
	size, err := writeCheckpoint(w, checkpoint{seg: seg, off: off, idx: s.mu.idx})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(tmp, final)
	}
	if err == nil {
		err = s.fs.SyncDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("journal: checkpoint at segment %d offset %d: %w", seg, off, err)
	}
	s.w.ckptSeg, s.w.ckptOff, s.w.sinceCkpt = seg, off, 0
	s.log.Debug("checkpoint", "segment", seg, "offset", off, "bytes", size, "messages", s.mu.idx.messages)
	return s.removeSegments(dead)
}

// removeSegments closes and deletes segments that no live message and no
// replay needs any more.
func (s *Store) removeSegments(ids []uint32) error {
	if len(ids) == 0 {
		return nil
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	s.gcMu.Lock() // wait for readers of these files
	s.mu.Lock()
	files := make([]vfs.File, 0, len(ids))
	for _, id := range ids {
		files = append(files, s.mu.segs[id])
		delete(s.mu.segs, id)
		delete(s.mu.idx.segLive, id)
	}
	s.mu.Unlock()
	s.gcMu.Unlock()
	var errs []error
	kept := 0
	for i, id := range ids {
		if files[i] != nil && s.recycle(files[i], id) {
			kept++
			continue
		}
		if files[i] != nil {
			files[i].Close()
		}
		if err := s.fs.Remove(s.segPath(id)); err != nil {
			errs = append(errs, fmt.Errorf("journal: remove segment %d: %w", id, err))
		}
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("journal: sync dir after removing segments: %w", err))
	}
	s.log.Debug("removed segments", "first", ids[0], "count", len(ids), "kept_for_reuse", kept)
	return errors.Join(errs...)
}
