package raftlog

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/frame"
)

// Record framing: internal/store/frame, as the journal's (length, CRC-32C,
// type, payload); every record in a segment, the first-index file and the
// stable file is one.
const frameSize = frame.HeaderSize

// Record types.
const (
	recSegment  byte = 1 // first record of a segment: magic, segment number
	recEntry    byte = 2 // a log entry that is not the last of its batch
	recEntryEnd byte = 3 // the last log entry of a batch (StoreLogs call)
	recTrunc    byte = 4 // suffix delete: entries from the index it holds on are void
	recFirst    byte = 5 // the first-index file: segment number, first index
	recStable   byte = 6 // the stable store's file: key/value pairs
	recMaxType       = recStable
)

const segMagic = "pier-raftlog-v1"

// entryFixed is the size of an entry payload without its data and
// extensions: index, term, type, appended-at seconds and nanoseconds.
const entryFixed = 8 + 8 + 1 + 8 + 4

// zeroUnix is time.Time{}.Unix(): the zero AppendedAt is stored as it.
const zeroUnix = -62135596800

var castagnoli = frame.Castagnoli

// Reasons a record cannot be read.
var (
	errTorn    = frame.ErrTorn
	errCorrupt = frame.ErrCorrupt
)

// appendFrame appends a record with the given payload to dst.
func appendFrame(dst []byte, typ byte, payload []byte) []byte { return frame.Append(dst, typ, payload) }

// seal fills in the length and CRC of the record rec, whose type and
// payload are in place.
func seal(rec []byte) { frame.Seal(rec) }

// parseFrame reads the record at the start of b: its type, its payload
// (aliasing b) and its total length.
func parseFrame(b []byte, maxPayload int64) (typ byte, payload []byte, n int, err error) {
	return frame.Parse(b, recMaxType, maxPayload)
}

// entrySize is the size of the record of e.
func entrySize(e *raft.Log) int {
	return frameSize + entryFixed + uvarintLen(len(e.Data)) + len(e.Data) + uvarintLen(len(e.Extensions)) + len(e.Extensions)
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

// appendEntry appends the record of e to dst (recEntryEnd if end) and
// returns it with the offsets, in dst, of e's data and extensions.
//
// Payload:
//
//	index      uint64 LE
//	term       uint64 LE
//	type       uint8      raft.LogType
//	appended   int64 LE seconds since the Unix epoch, uint32 LE nanoseconds
//	data       uvarint length, bytes
//	extensions uvarint length, bytes
func appendEntry(dst []byte, e *raft.Log, end bool) (out []byte, data, ext int) {
	start := len(dst)
	typ := recEntry
	if end {
		typ = recEntryEnd
	}
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	dst = binary.LittleEndian.AppendUint64(dst, e.Index)
	dst = binary.LittleEndian.AppendUint64(dst, e.Term)
	dst = append(dst, byte(e.Type))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.AppendedAt.Unix()))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(e.AppendedAt.Nanosecond()))
	dst = binary.AppendUvarint(dst, uint64(len(e.Data)))
	data = len(dst)
	dst = append(dst, e.Data...)
	dst = binary.AppendUvarint(dst, uint64(len(e.Extensions)))
	ext = len(dst)
	dst = append(dst, e.Extensions...)
	seal(dst[start:])
	return dst, data, ext
}

// decodeEntry decodes an entry payload into e. Data and Extensions alias p
// (nil when empty).
func decodeEntry(p []byte, e *raft.Log) error {
	if len(p) < entryFixed {
		return fmt.Errorf("%w: entry of %d bytes", errCorrupt, len(p))
	}
	sec := int64(binary.LittleEndian.Uint64(p[17:25]))
	nsec := binary.LittleEndian.Uint32(p[25:29])
	if nsec >= 1e9 {
		return fmt.Errorf("%w: appended-at nanoseconds %d", errCorrupt, nsec)
	}
	rest := p[entryFixed:]
	data, rest, ok := lengthPrefixed(rest)
	if !ok {
		return fmt.Errorf("%w: bad entry data length", errCorrupt)
	}
	ext, rest, ok := lengthPrefixed(rest)
	if !ok || len(rest) != 0 {
		return fmt.Errorf("%w: bad entry extensions", errCorrupt)
	}
	e.Index = binary.LittleEndian.Uint64(p[0:8])
	e.Term = binary.LittleEndian.Uint64(p[8:16])
	e.Type = raft.LogType(p[16])
	e.AppendedAt = time.Time{}
	if sec != zeroUnix || nsec != 0 {
		e.AppendedAt = time.Unix(sec, int64(nsec))
	}
	e.Data, e.Extensions = data, ext
	return nil
}

// entryIndex returns the index of an entry payload.
func entryIndex(p []byte) uint64 { return binary.LittleEndian.Uint64(p[0:8]) }

// lengthPrefixed splits a uvarint-length-prefixed byte string off b. An
// empty string is nil.
func lengthPrefixed(b []byte) (s, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	b = b[k:]
	if n == 0 {
		return nil, b, true
	}
	return b[:n:n], b[n:], true
}

// segmentHeader returns the first record of segment num.
func segmentHeader(num uint32) []byte {
	p := binary.LittleEndian.AppendUint32([]byte(segMagic), num)
	return appendFrame(nil, recSegment, p)
}

// headerSize is the length of every segment header.
var headerSize = int64(len(segmentHeader(0)))

// checkSegmentHeader checks that b starts with the header of segment num.
func checkSegmentHeader(b []byte, num uint32) error {
	typ, p, _, err := parseFrame(b, 64)
	if err != nil {
		return err
	}
	if typ != recSegment || len(p) != len(segMagic)+4 || string(p[:len(segMagic)]) != segMagic {
		return fmt.Errorf("%w: not a segment header", errCorrupt)
	}
	if got := binary.LittleEndian.Uint32(p[len(segMagic):]); got != num {
		return fmt.Errorf("%w: the header says segment %d", errCorrupt, got)
	}
	return nil
}

// truncRecord returns a recTrunc record: entries from index from on, earlier
// in the segment, are void.
func truncRecord(from uint64) []byte {
	return appendFrame(nil, recTrunc, binary.LittleEndian.AppendUint64(nil, from))
}

// firstRecord returns the contents of the first-index file: in segment seg,
// entries before first are deleted (and every earlier segment is).
func firstRecord(seg uint32, first uint64) []byte {
	p := binary.LittleEndian.AppendUint32(nil, seg)
	p = binary.LittleEndian.AppendUint64(p, first)
	return appendFrame(nil, recFirst, p)
}

// parseFirst parses the contents of the first-index file.
func parseFirst(b []byte) (seg uint32, first uint64, err error) {
	typ, p, n, err := parseFrame(b, 64)
	switch {
	case err != nil:
	case typ != recFirst || len(p) != 12:
		err = fmt.Errorf("%w: not a first-index record", errCorrupt)
	case n != len(b):
		err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(b)-n)
	}
	if err != nil {
		return 0, 0, err
	}
	return binary.LittleEndian.Uint32(p[0:4]), binary.LittleEndian.Uint64(p[4:12]), nil
}
