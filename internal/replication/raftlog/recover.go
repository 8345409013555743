package raftlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/frame"
	"github.com/piermq/pier/internal/store/vfs"
)

// recover opens the segments in order, checks every record, cuts off a torn
// or corrupt tail of the newest segment, applies the first-index file and
// removes what it has made dead.
func (l *Log) recover(ctx context.Context) error {
	if !l.opts.ReadOnly {
		if err := l.fs.MkdirAll(l.dir); err != nil {
			return fmt.Errorf("raftlog: create %s: %w", l.dir, err)
		}
		// Make the directory's own entry durable, in case MkdirAll made it.
		if err := l.fs.SyncDir(filepath.Dir(filepath.Clean(l.dir))); err != nil {
			return fmt.Errorf("raftlog: sync parent of %s: %w", l.dir, err)
		}
	}
	nums, hasFirst, dirty, err := l.listDir()
	if err != nil {
		return err
	}
	var metaSeg uint32
	var metaFirst uint64
	if hasFirst {
		path := filepath.Join(l.dir, firstName)
		b, err := vfs.ReadFile(l.fs, path)
		if err == nil {
			metaSeg, metaFirst, err = parseFirst(b)
		}
		if err != nil {
			return fmt.Errorf("raftlog: the first-index file %s is damaged (the log cannot be trusted): %w", path, err)
		}
	}
	l.w.nextSeg = metaSeg + 1
	if len(nums) > 0 {
		l.w.nextSeg = max(l.w.nextSeg, nums[len(nums)-1]+1)
	}
	var segs []*segment
	for i, num := range nums {
		if err := ctx.Err(); err != nil {
			return err
		}
		if num < metaSeg { // left by a prefix delete that did not finish
			if err := l.remove(num); err != nil {
				return err
			}
			dirty = true
			continue
		}
		s, err := l.loadSegment(num, i == len(nums)-1)
		if err != nil {
			return err
		}
		if s == nil {
			dirty = true
			continue
		}
		l.mu.segs = append(l.mu.segs, s) // closed by Open if recovery fails
		if num == metaSeg && len(s.locs) > 0 {
			n := min(metaFirst-min(metaFirst, s.base), uint64(len(s.locs)))
			s.locs = s.locs[n:]
			s.base += n
		}
		if len(s.locs) == 0 && (i < len(nums)-1 || s.end > headerSize) {
			// Nothing live and not a fresh newest segment: every entry
			// was deleted (by the first index), or nothing was ever
			// written to it.
			l.mu.segs = l.mu.segs[:len(l.mu.segs)-1]
			s.f.Close()
			if err := l.remove(num); err != nil {
				return err
			}
			dirty = true
			continue
		}
		if len(segs) > 0 && len(s.locs) > 0 && s.base <= segs[len(segs)-1].last() {
			p := segs[len(segs)-1]
			return fmt.Errorf("raftlog: segment %d starts at index %d, but segment %d ends at %d: the log is damaged",
				num, s.base, p.num, p.last())
		}
		if len(s.locs) > 0 {
			segs = append(segs, s)
		}
	}
	if dirty && !l.opts.ReadOnly {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("raftlog: sync %s: %w", l.dir, err)
		}
	}
	if len(segs) > 0 {
		l.mu.first, l.mu.last = segs[0].base, segs[len(segs)-1].last()
	}
	l.log.Info("recovered", "segments", len(l.mu.segs), "first", l.mu.first, "last", l.mu.last)
	return nil
}

// remove removes segment num, which recovery found dead (unless the log is
// read-only).
func (l *Log) remove(num uint32) error {
	if l.opts.ReadOnly {
		return nil
	}
	if err := l.fs.Remove(l.segPath(num)); err != nil {
		return fmt.Errorf("raftlog: remove segment %d: %w", num, err)
	}
	return nil
}

// listDir returns the segment numbers in the directory, ascending, whether
// there is a first-index file, and whether it removed a leftover file.
func (l *Log) listDir() (nums []uint32, hasFirst, dirty bool, err error) {
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return nil, false, false, fmt.Errorf("raftlog: list %s: %w", l.dir, err)
	}
	for _, name := range names {
		switch {
		case name == firstName:
			hasFirst = true
		case (name == firstName+".tmp" || name == spareName || isRecycled(name)) && !l.opts.ReadOnly:
			// An unfinished prefix delete (the previous first index
			// holds), or a spare segment, perhaps unfinished (Open
			// prepares another).
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return nil, false, false, fmt.Errorf("raftlog: remove %s: %w", name, err)
			}
			dirty = true
		case strings.HasSuffix(name, segSuffix):
			n, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 32)
			if err != nil {
				return nil, false, false, fmt.Errorf("raftlog: unexpected file %s in %s", name, l.dir)
			}
			nums = append(nums, uint32(n))
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return nums, hasFirst, dirty, nil
}

// loadSegment opens segment num and indexes its entries. In the newest
// segment a torn or corrupt tail is cut off (truncated, synced), and a
// segment whose header never became durable is removed (nil is returned);
// anywhere else damage is an error.
func (l *Log) loadSegment(num uint32, newest bool) (*segment, error) {
	path := l.segPath(num)
	f, err := l.fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("raftlog: open segment %d: %w", num, err)
	}
	b, err := vfs.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("raftlog: read segment %d: %w", num, err)
	}
	if err := checkSegmentHeader(b, num); err != nil {
		f.Close()
		if newest && (int64(len(b)) <= headerSize || frame.Unwritten(b[headerSize:])) {
			// Created (or a spare renamed), but the header never became
			// durable: no entry was written to it.
			l.log.Warn("unfinished segment removed", "segment", num, "bytes", len(b), "err", err)
			return nil, l.remove(num)
		}
		return nil, fmt.Errorf("raftlog: segment %s: bad header (the log is damaged): %w", path, err)
	}
	sc := scanSegment(b)
	if sc.err != nil {
		if !newest {
			f.Close()
			return nil, fmt.Errorf("raftlog: segment %s is damaged at offset %d and is not the newest segment, so entries after it would be lost: %w",
				path, sc.end, sc.err)
		}
		args := []any{"segment", num, "offset", sc.end, "dropped_bytes", int64(len(b)) - sc.end, "err", sc.err}
		if errors.Is(sc.err, errTorn) {
			l.log.Warn("torn tail of the log cut off", args...)
		} else {
			l.log.Error("corrupt tail of the log cut off", args...)
		}
		if !l.opts.ReadOnly {
			// Zeros, not a shorter file: the space stays allocated, and
			// zeros are where recovery stops reading (scanSegment).
			if err := vfs.ZeroFill(f, sc.end, int64(frame.WrittenEnd(b))); err != nil {
				f.Close()
				return nil, fmt.Errorf("raftlog: cut segment %d at %d: %w", num, sc.end, err)
			}
		}
	}
	return &segment{num: num, f: f, base: sc.base, locs: sc.locs, end: sc.end, alloc: int64(len(b))}, nil
}

// scan is what scanSegment found in a segment.
type scan struct {
	base uint64 // index of locs[0]
	locs []loc  // the live entries
	end  int64  // end of the last complete batch or truncation
	err  error  // why the segment's valid part ends before its bytes do
}

// scanSegment reads the records of a segment whose header is valid. Zeros
// from a record boundary to the end of the file are its end (space made
// ahead of time, or allocated and never written): no error. Otherwise the
// valid part ends at the first bad record, or where a batch is incomplete;
// entries of a batch whose last record is missing are not live.
func scanSegment(b []byte) scan {
	sc := scan{end: headerSize}
	var locs []loc
	committed := 0 // len(locs) at sc.end
	pos := headerSize
	for pos < int64(len(b)) && sc.err == nil {
		typ, p, n, err := parseFrame(b[pos:], maxEntryBytes)
		if err != nil && frame.Unwritten(b[pos:]) {
			break // no record starts with zeros: its type is not 0
		}
		if errors.Is(err, errCorrupt) && frame.Unfinished(b[pos:]) {
			err = fmt.Errorf("%w: a record that reached the disk in part, zeros after it", errTorn)
		}
		if err == nil {
			switch typ {
			case recEntry, recEntryEnd:
				var e raft.Log
				err = decodeEntry(p, &e)
				switch {
				case err != nil:
				case e.Index == 0:
					err = fmt.Errorf("%w: entry index 0", errCorrupt)
				case len(locs) > 0 && e.Index != sc.base+uint64(len(locs)):
					err = fmt.Errorf("%w: entry %d after %d", errCorrupt, e.Index, sc.base+uint64(len(locs))-1)
				case len(locs) == 0:
					sc.base = e.Index
				}
				if err == nil {
					locs = append(locs, loc{off: pos, n: int64(n)})
				}
			case recTrunc:
				var from uint64
				if len(p) == 8 {
					from = binary.LittleEndian.Uint64(p)
				}
				switch {
				case len(locs) != committed:
					err = fmt.Errorf("%w: truncation inside a batch", errCorrupt)
				case len(p) != 8 || from <= sc.base || from > sc.base+uint64(len(locs)):
					err = fmt.Errorf("%w: truncation from %d of entries %d to %d", errCorrupt, from, sc.base, sc.base+uint64(len(locs))-1)
				default:
					locs = locs[:from-sc.base]
				}
			default:
				err = fmt.Errorf("%w: unexpected record type %d", errCorrupt, typ)
			}
		}
		if err != nil {
			sc.err = fmt.Errorf("offset %d: %w", pos, err)
			break
		}
		pos += int64(n)
		if typ != recEntry {
			committed, sc.end = len(locs), pos
		}
	}
	if sc.err == nil && sc.end < pos {
		sc.err = fmt.Errorf("%w: the last batch is incomplete", errTorn)
	}
	sc.locs = locs[:committed]
	return sc
}
