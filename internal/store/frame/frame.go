// Package frame is the record framing Pier's logs share (the journal's
// segments and checkpoints, the Raft log's segments and small files):
//
//	length  uint32 LE   length of payload
//	crc     uint32 LE   CRC-32C of the length bytes, the type and the payload
//	type    uint8       never 0 (zeros are space that was never written)
//	payload [length]byte
//
// A record is self-checking: a reader can tell a record cut short (ErrTorn:
// a write that did not finish) from one that is complete but damaged
// (ErrCorrupt).
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// HeaderSize is the size of a record's header (length, crc, type).
const HeaderSize = 9

// Castagnoli is the CRC-32C table.
var Castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Reasons a record cannot be read.
var (
	// ErrTorn: the bytes end inside the record.
	ErrTorn = errors.New("torn record")
	// ErrCorrupt: the record is complete but fails its checks.
	ErrCorrupt = errors.New("corrupt record")
)

// Append appends a record of type typ with the given payload to dst.
func Append(dst []byte, typ byte, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, typ)
	dst = append(dst, payload...)
	Seal(dst[start:])
	return dst
}

// Seal fills in the length and CRC of the record rec, whose type and
// payload are in place (for records built in place).
func Seal(rec []byte) {
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(rec)-HeaderSize))
	c := crc32.Update(0, Castagnoli, rec[0:4])
	c = crc32.Update(c, Castagnoli, rec[8:])
	binary.LittleEndian.PutUint32(rec[4:8], c)
}

// Parse reads the record at the start of b, whose type must be 1 to
// maxType and whose payload at most maxPayload bytes. It returns the type,
// the payload (aliasing b) and the record's total length.
func Parse(b []byte, maxType byte, maxPayload int64) (typ byte, payload []byte, n int, err error) {
	if len(b) < HeaderSize {
		return 0, nil, 0, ErrTorn
	}
	length := binary.LittleEndian.Uint32(b[0:4])
	typ = b[8]
	if typ == 0 || typ > maxType {
		return 0, nil, 0, fmt.Errorf("%w: unknown type %d", ErrCorrupt, typ)
	}
	if int64(length) > maxPayload {
		return 0, nil, 0, fmt.Errorf("%w: length %d over the limit %d", ErrCorrupt, length, maxPayload)
	}
	if int64(len(b)) < HeaderSize+int64(length) {
		return 0, nil, 0, ErrTorn
	}
	n = HeaderSize + int(length)
	c := crc32.Update(0, Castagnoli, b[0:4])
	c = crc32.Update(c, Castagnoli, b[8:n])
	if c != binary.LittleEndian.Uint32(b[4:8]) {
		return 0, nil, 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return typ, b[HeaderSize:n], n, nil
}

// Unwritten reports whether b is all zeros: space a file system allocated
// but never filled, as after a power loss — an unfinished write, not damage.
func Unwritten(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Unfinished reports whether b, which starts where a record cannot be
// read, looks like a write that did not finish rather than damage: after
// its last non-zero byte there are only zeros, and that byte lies within
// the header or within the length the header claims. That is what a
// record overwriting zeros (a segment made ahead of time) leaves when only
// part of it reached the disk; all zeros is space never written.
func Unfinished(b []byte) bool {
	end := WrittenEnd(b)
	if end <= HeaderSize {
		return true
	}
	return int64(end) <= HeaderSize+int64(binary.LittleEndian.Uint32(b[0:4]))
}

// WrittenEnd returns the length of b without its trailing zeros.
func WrittenEnd(b []byte) int {
	end := len(b)
	for end > 0 && b[end-1] == 0 {
		end--
	}
	return end
}
