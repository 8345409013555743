package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"
)

// maxCompactPerRoll bounds how many segments one roll compacts, so that
// the writer does not stall for long.
const maxCompactPerRoll = 4

// compactRecordBytes is the payload size at which compaction starts a new
// record.
const compactRecordBytes = 1 << 20

// compact copies the live messages of old, mostly dead segments forward
// into the active segment (as move records), so that the next checkpoint
// finds those segments dead and deletes them. Called by the writer.
func (s *Store) compact() error {
	if s.opts.CompactLivePercent < 0 {
		return nil
	}
	if err := s.fenced(); err != nil {
		return err
	}
	if err := s.mu.idx.err; err != nil {
		return fmt.Errorf("journal: compact: index: %w", err)
	}
	var victims []uint32
	for id, f := range s.mu.segs {
		if id >= s.w.seg || s.mu.idx.segLive[id] == 0 {
			continue
		}
		size, err := f.Size()
		if err != nil {
			return fmt.Errorf("journal: size of segment %d: %w", id, err)
		}
		if s.mu.idx.segBytes[id]*100 < size*int64(s.opts.CompactLivePercent) {
			victims = append(victims, id)
		}
	}
	if len(victims) == 0 {
		return nil
	}
	sort.Slice(victims, func(i, j int) bool { return victims[i] < victims[j] })
	victims = victims[:min(len(victims), maxCompactPerRoll)]
	want := map[uint32]bool{}
	for _, id := range victims {
		want[id] = true
	}
	type survivor struct {
		dest string
		e    entry
	}
	var moving []survivor
	for dest, d := range s.mu.idx.dests {
		err := s.mu.idx.each(d, victims[0], victims[len(victims)-1], func(e entry) bool {
			if want[e.seg] {
				moving = append(moving, survivor{dest, e})
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("journal: compact: %w", err)
		}
	}
	var buf []byte
	for len(moving) > 0 {
		n, size := 0, 0
		for n < len(moving) && (n == 0 || size < compactRecordBytes) {
			size += int(moving[n].e.n)
			n++
		}
		rec := make([]byte, headerSize, headerSize+size+64*n)
		rec = binary.AppendUvarint(rec, uint64(n))
		ops := make([]op, 0, n)
		for _, sv := range moving[:n] {
			m, err := s.readRaw(sv.e, &buf)
			if err != nil {
				return fmt.Errorf("journal: compact segment %d: %s seq %d: %w", sv.e.seg, sv.dest, sv.e.seq, err)
			}
			rec = append(rec, byte(opMove))
			rec = appendString(rec, sv.dest)
			rec = binary.AppendUvarint(rec, sv.e.seq)
			rec = binary.AppendUvarint(rec, uint64(sv.e.n))
			ops = append(ops, op{kind: opMove, dest: sv.dest, seq: sv.e.seq, off: uint32(len(rec) - headerSize), n: sv.e.n})
			rec = append(rec, m...)
		}
		moving = moving[n:]
		binary.LittleEndian.PutUint32(rec[0:4], uint32(len(rec)-headerSize))
		rec[8] = recBatch
		sealRecord(rec)
		off := s.w.off
		if err := s.write(rec, true); err != nil {
			return s.fail(err)
		}
		s.mu.Lock()
		s.mu.idx.apply(ops, s.w.seg, uint32(off)+headerSize)
		s.mu.Unlock()
	}
	s.log.Debug("compacted segments", "segments", victims)
	return nil
}

// readRaw reads the CRC and encoded bytes of the message e locates, checked.
func (s *Store) readRaw(e entry, buf *[]byte) ([]byte, error) {
	f := s.mu.segs[e.seg]
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
	return b, nil
}
