package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/store/frame"
	"github.com/piermq/pier/internal/store/vfs"
)

// recover rebuilds the index from the last checkpoint and the journal after
// it, cuts off a torn or corrupt tail, and prepares the active segment.
func (s *Store) recover(ctx context.Context) error {
	s.spill = newSpill(s.fs, s.dir, s.opts.spillFileSize)
	s.spill.keep = s.opts.spillKeep
	s.mu.idx = newIndex(s.opts.MaxProducers)
	s.mu.idx.spill = s.spill
	s.mu.segs = map[uint32]vfs.File{}
	if err := s.fs.MkdirAll(s.dir); err != nil {
		return fmt.Errorf("journal: create %s: %w", s.dir, err)
	}
	// Make the directory's own entry durable, in case MkdirAll made it.
	if err := s.fs.SyncDir(filepath.Dir(filepath.Clean(s.dir))); err != nil {
		return fmt.Errorf("journal: sync parent of %s: %w", s.dir, err)
	}
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("journal: list %s: %w", s.dir, err)
	}
	var ids []uint32
	hasCkpt := false
	for _, name := range names {
		switch {
		case name == ckptName:
			hasCkpt = true
		case isSpare(name), isSpill(name):
			// A segment made ahead of time and not used: made again; the
			// index's spill of an earlier run: never read.
			fallthrough
		case name == ckptTemp:
			// An unfinished checkpoint: the previous one is in force.
			if err := s.fs.Remove(filepath.Join(s.dir, name)); err != nil {
				return fmt.Errorf("journal: remove %s: %w", name, err)
			}
		case strings.HasSuffix(name, ".seg"):
			id, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 32)
			if err != nil {
				return fmt.Errorf("journal: unexpected file %s in %s", name, s.dir)
			}
			ids = append(ids, uint32(id))
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	start := checkpoint{idx: s.mu.idx}
	if hasCkpt {
		if start, err = s.loadCheckpoint(); err != nil {
			return err
		}
		s.mu.idx = start.idx
		s.mu.idx.spill = s.spill
		s.mu.idx.spillAll() // an older checkpoint was loaded into memory
	} else if len(ids) > 0 {
		start.seg = ids[0]
	}
	replay, err := s.openOldSegments(ids, start)
	if err != nil {
		return err
	}
	end := int64(0) // of the last segment replayed
	for i, id := range replay {
		if err := ctx.Err(); err != nil {
			return err
		}
		from := int64(0)
		if id == start.seg {
			from = int64(start.off)
		}
		var cut bool
		end, cut, err = s.replaySegment(id, from)
		if err != nil {
			return err
		}
		if cut {
			if err := s.setAside(replay[i+1:]); err != nil {
				return err
			}
			replay = replay[:i+1]
			break
		}
	}
	if err := s.mu.idx.err; err != nil {
		return fmt.Errorf("journal: index: %w", err)
	}
	if len(replay) == 0 {
		id := max(start.seg, 1)
		if hasCkpt {
			return fmt.Errorf("journal: checkpoint replays from segment %d, which is missing", start.seg)
		}
		f, off, err := s.createSegment(id, s.opts.Preallocate)
		if err != nil {
			return err
		}
		s.w.seg, s.w.f, s.w.off = id, f, off
	} else {
		s.w.seg = replay[len(replay)-1]
		s.w.f = s.mu.segs[s.w.seg]
		s.w.off = end
	}
	s.w.ckptSeg, s.w.ckptOff = start.seg, start.off
	if !hasCkpt {
		s.w.ckptSeg, s.w.ckptOff = 0, 0
	}
	s.log.Info("recovered", "messages", s.mu.idx.messages, "dests", len(s.mu.idx.dests), "producers", s.mu.idx.prods.len(),
		"segments", len(s.mu.segs), "replayed_from", start.seg, "last_seq", s.mu.idx.lastSeq, "mark", s.mu.idx.mark)
	return nil
}

// loadCheckpoint reads the checkpoint file. A bad checkpoint is an error:
// segments before it may be gone, so the journal alone cannot rebuild state.
// A version 4 checkpoint is read a piece at a time; an older one, a single
// record, whole.
func (s *Store) loadCheckpoint() (checkpoint, error) {
	name := filepath.Join(s.dir, ckptName)
	f, err := s.fs.Open(name)
	if err != nil {
		return checkpoint{}, fmt.Errorf("journal: read checkpoint: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return checkpoint{}, fmt.Errorf("journal: read checkpoint: %w", err)
	}
	rr := &recordReader{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 256<<10), max: int(min(size, 1<<31-1))}
	typ, p, err := rr.next()
	if err == io.EOF { // an empty file
		err = errTorn
	}
	version := 0
	if err == nil && typ == recCkptHeader {
		switch string(p) {
		case ckptMagic:
			version = ckptV4
		case ckptMagicV3:
			version = ckptV3
		case ckptMagicV2:
			version = ckptV2
		case ckptMagicV1:
			version = ckptV1
		}
	}
	if err == nil && version == 0 {
		err = fmt.Errorf("%w: not a checkpoint file", errCorrupt)
	}
	var c checkpoint
	switch {
	case err != nil:
	case version == ckptV4:
		rr.max = int(s.opts.MaxBatchBytes) + ckptPieceBytes
		c, err = readCheckpoint(rr, s.opts.MaxProducers, s.spill)
	default:
		typ, p, err = rr.next()
		if err == io.EOF {
			err = errTorn
		}
		if err == nil && typ != recCheckpoint {
			err = fmt.Errorf("%w: record type %d", errCorrupt, typ)
		}
		if err == nil {
			c, err = decodeCheckpoint(p, version, s.opts.MaxProducers)
		}
	}
	if err != nil {
		if errors.Is(err, errTorn) || errors.Is(err, errCorrupt) {
			return checkpoint{}, fmt.Errorf("journal: checkpoint %s is damaged (restore it or the data is unrecoverable): %w", name, err)
		}
		return checkpoint{}, fmt.Errorf("journal: read checkpoint: %w", err)
	}
	return c, nil
}

// openOldSegments opens every segment the index or replay needs, deletes
// the ones before the checkpoint that nothing needs (left by an interrupted
// garbage collection), and returns the ones to replay.
func (s *Store) openOldSegments(ids []uint32, start checkpoint) (replay []uint32, err error) {
	present := map[uint32]bool{}
	removed := false
	for _, id := range ids {
		if id < start.seg && s.mu.idx.segLive[id] == 0 {
			if err := s.fs.Remove(s.segPath(id)); err != nil {
				return nil, fmt.Errorf("journal: remove unneeded segment %d: %w", id, err)
			}
			removed = true
			continue
		}
		f, err := s.fs.Open(s.segPath(id))
		if err != nil {
			return nil, fmt.Errorf("journal: open segment %d: %w", id, err)
		}
		s.mu.segs[id] = f
		present[id] = true
		if id >= start.seg {
			replay = append(replay, id)
		}
	}
	if removed {
		if err := s.fs.SyncDir(s.dir); err != nil {
			return nil, fmt.Errorf("journal: sync %s: %w", s.dir, err)
		}
	}
	if start.seg != 0 && !present[start.seg] {
		return nil, fmt.Errorf("journal: checkpoint replays from segment %d, which is missing", start.seg)
	}
	for id, n := range s.mu.idx.segLive {
		if n > 0 && !present[id] {
			return nil, fmt.Errorf("journal: segment %d holds %d live messages but is missing", id, n)
		}
	}
	return replay, nil
}

// replaySegment applies the records of segment id from offset from, and
// returns where its records end. Zeros where a record would start are the
// end: a segment made ahead of time (Options.Preallocate), or one rolled
// early, ends in zeros that were never written. At the first record that
// is torn or corrupt it truncates the segment there and reports cut.
func (s *Store) replaySegment(id uint32, from int64) (end int64, cut bool, err error) {
	f := s.mu.segs[id]
	b, err := vfs.ReadAll(f)
	if err != nil {
		return 0, false, fmt.Errorf("journal: read segment %d: %w", id, err)
	}
	if from > int64(len(b)) {
		return 0, false, fmt.Errorf("journal: checkpoint replays segment %d from %d, past its end %d", id, from, len(b))
	}
	pos := from
	hlen, herr := checkSegmentHeader(b, id)
	if herr != nil {
		if from > 0 {
			return 0, false, fmt.Errorf("journal: segment %d: header: %w", id, herr)
		}
		end, err := s.cut(id, f, b, 0, herr)
		return end, true, err
	}
	pos = max(pos, int64(hlen))
	for pos < int64(len(b)) {
		if frame.Unwritten(b[pos:]) {
			return pos, false, nil
		}
		typ, p, n, err := parseRecord(b[pos:], int(s.opts.MaxBatchBytes))
		if err == nil && typ != recBatch {
			err = fmt.Errorf("%w: unexpected record type %d", errCorrupt, typ)
		}
		var ops []op
		if err == nil {
			ops, err = decodeBatch(p)
		}
		if err != nil {
			end, err := s.cut(id, f, b, pos, err)
			return end, true, err
		}
		s.mu.idx.apply(ops, id, uint32(pos)+headerSize)
		s.w.sinceCkpt += int64(n)
		pos += int64(n)
	}
	return pos, false, nil
}

// cut truncates segment id, whose contents are b, at pos, where a bad
// record starts, and returns the segment's new end. A segment whose header
// is bad is rewritten empty.
func (s *Store) cut(id uint32, f vfs.File, b []byte, pos int64, why error) (int64, error) {
	level := "error"
	if errors.Is(why, errTorn) || frame.Unfinished(b[pos:]) {
		// An unfinished write: a record cut short, or space the file
		// system allocated but never filled (zeros after a power loss).
		level = "warn"
	}
	size := int64(len(b))
	msg := "journal tail cut off at a bad record; later records and segments are not replayed"
	args := []any{"segment", id, "offset", pos, "dropped_bytes", size - pos, "err", why}
	if level == "warn" {
		s.log.Warn(msg, args...)
	} else {
		s.log.Error(msg, args...)
	}
	if err := f.Truncate(pos); err != nil {
		return 0, fmt.Errorf("journal: truncate segment %d at %d: %w", id, pos, err)
	}
	end := pos
	if pos == 0 {
		h := segmentHeader(id)
		if _, err := f.WriteAt(h, 0); err != nil {
			return 0, fmt.Errorf("journal: rewrite header of segment %d: %w", id, err)
		}
		end = int64(len(h))
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("journal: sync segment %d: %w", id, err)
	}
	return end, nil
}

// setAside renames segments after a cut to NAME.corrupt: they are not
// replayed, but kept for inspection.
func (s *Store) setAside(ids []uint32) error {
	for _, id := range ids {
		if f := s.mu.segs[id]; f != nil {
			f.Close()
			delete(s.mu.segs, id)
		}
		p := s.segPath(id)
		s.log.Error("segment after a cut set aside", "segment", id, "file", p+".corrupt")
		if err := s.fs.Rename(p, p+".corrupt"); err != nil {
			return fmt.Errorf("journal: set aside segment %d: %w", id, err)
		}
	}
	if len(ids) > 0 {
		if err := s.fs.SyncDir(s.dir); err != nil {
			return fmt.Errorf("journal: sync %s: %w", s.dir, err)
		}
	}
	return nil
}
