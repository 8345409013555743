package journal

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strings"

	"github.com/piermq/pier/internal/store/vfs"
)

// The index spill: sealed chunks' encodings are written to cache files
// in the journal's directory, index-RANDOM-N.spill, and memory keeps per
// chunk only its struct (seqs, live bitmap, segment range, where its
// encoding is). The files are never synced and never read by recovery,
// which rebuilds the index from the checkpoint and the journal; Open
// removes any it finds and Close removes its own. Each store names its
// files at random, so a stale process in a shared directory only ever
// writes to its own (unlinked) files.
//
// An encoding is written once and never changed: a rewritten chunk (an
// out-of-order add, a move) is appended as a new version and the old one
// counted dead; a dropped chunk's too. Files are filled up to
// spillFileSize one after the other; a file nothing refers to any more is
// removed; and when more than half of all the bytes written to the files
// there are are dead, the live chunks of the file with the fewest live
// bytes are copied into the current one (index.reclaim), which makes it
// removable. So dead space is at most about half, plus a file, and one
// reclaim copies less than half a file.

const (
	spillPrefix = "index-"
	spillSuffix = ".spill"
	// spillFileSize is the size at which the spill moves on to a new file.
	spillFileSize = 8 << 20
	// spillCRC is the CRC-32C in front of each encoding in a spill file.
	spillCRC = 4
)

func isSpill(name string) bool {
	return strings.HasPrefix(name, spillPrefix) && strings.HasSuffix(name, spillSuffix)
}

// spill is the set of spill files of one index. The writer (under
// Store.mu) appends and drops; readers read concurrently under Store.mu's
// read lock.
type spill struct {
	fs       vfs.FS
	dir      string
	name     string // index-RANDOM-
	fileSize int64
	// keep is how many bytes of sealed chunks' encodings the index keeps
	// in memory before it spills them (the oldest chunks, which the next
	// acknowledgements read, stay; a backlog's newer ones go). 0: spill
	// every one.
	keep   int64
	files  map[uint32]*spillFile
	cur    uint32 // the file being filled; 0 before the first
	size   int64  // bytes in every file
	live   int64  // bytes of the encodings chunks refer to
	broken error  // the first failed write; nothing is spilled after it
	buf    []byte
}

type spillFile struct {
	f          vfs.File
	size, live int64
}

// newSpill returns a spill in dir that creates its files as needed.
func newSpill(fsys vfs.FS, dir string, fileSize int64) *spill {
	var rnd [8]byte
	rand.Read(rnd[:])
	return &spill{fs: fsys, dir: dir, name: spillPrefix + hex.EncodeToString(rnd[:]) + "-",
		fileSize: fileSize, files: map[uint32]*spillFile{}}
}

func (sp *spill) path(id uint32) string {
	return filepath.Join(sp.dir, fmt.Sprintf("%s%d%s", sp.name, id, spillSuffix))
}

// put writes the encoding enc of chunk c and records where in c. After a
// failed write it returns the error and leaves c alone: the caller keeps
// the encoding in memory.
func (sp *spill) put(c *chunk, enc []byte) error {
	if sp.broken != nil {
		return sp.broken
	}
	n := int64(spillCRC + len(enc))
	f := sp.files[sp.cur]
	if f == nil || f.size+n > sp.fileSize {
		id := sp.cur + 1
		file, err := sp.fs.Create(sp.path(id))
		if err != nil {
			sp.broken = fmt.Errorf("journal: index spill: %w", err)
			return sp.broken
		}
		f = &spillFile{f: file}
		sp.files[id], sp.cur = f, id
		sp.dropFile(id - 1) // if nothing refers to it
	}
	sp.buf = binary.LittleEndian.AppendUint32(sp.buf[:0], crc32.Checksum(enc, castagnoli))
	sp.buf = append(sp.buf, enc...)
	if _, err := f.f.WriteAt(sp.buf, f.size); err != nil {
		sp.broken = fmt.Errorf("journal: index spill: write %s: %w", sp.path(sp.cur), err)
		return sp.broken
	}
	c.file, c.off, c.size = sp.cur, uint32(f.size), uint16(len(enc))
	f.size += n
	f.live += n
	sp.size += n
	sp.live += n
	return nil
}

// get reads the encoding of the spilled chunk c into *buf (grown if need
// be) and checks it.
func (sp *spill) get(c *chunk, bufp *[]byte) ([]byte, error) {
	f := sp.files[c.file]
	n := spillCRC + int(c.size)
	if cap(*bufp) < n {
		*bufp = make([]byte, max(n, 1<<10))
	}
	buf := (*bufp)[:n]
	if f == nil {
		return nil, fmt.Errorf("journal: index spill: file %d is gone", c.file)
	}
	if _, err := f.f.ReadAt(buf, int64(c.off)); err != nil {
		return nil, fmt.Errorf("journal: index spill: read %s at %d: %w", sp.path(c.file), c.off, err)
	}
	if crc32.Checksum(buf[spillCRC:], castagnoli) != binary.LittleEndian.Uint32(buf) {
		return nil, fmt.Errorf("journal: index spill: %s at %d: %w: checksum mismatch", sp.path(c.file), c.off, errCorrupt)
	}
	return buf[spillCRC:], nil
}

// drop counts the encoding of c dead (c is gone or rewritten) and removes
// its file once nothing refers to it.
func (sp *spill) drop(c *chunk) {
	f := sp.files[c.file]
	if f == nil {
		return
	}
	n := int64(spillCRC + int(c.size))
	f.live -= n
	sp.live -= n
	id := c.file
	c.file = 0
	sp.dropFile(id)
}

// dropFile removes file id if nothing refers to it and it is not being
// filled. A failure to remove it is ignored: Open removes it.
func (sp *spill) dropFile(id uint32) {
	f := sp.files[id]
	if f == nil || f.live > 0 || id == sp.cur {
		return
	}
	f.f.Close()
	_ = sp.fs.Remove(sp.path(id))
	sp.size -= f.size
	delete(sp.files, id)
}

// victim returns the file whose live chunks a reclaim should move, or 0
// when under half of the bytes are dead.
func (sp *spill) victim() uint32 {
	if sp.size-sp.live <= sp.size/2 || len(sp.files) < 2 {
		return 0
	}
	best := uint32(0)
	for id, f := range sp.files {
		if id != sp.cur && (best == 0 || f.live < sp.files[best].live) {
			best = id
		}
	}
	return best
}

// close closes and removes every spill file.
func (sp *spill) close() error {
	var errs []error
	for id, f := range sp.files {
		f.f.Close()
		if err := sp.fs.Remove(sp.path(id)); err != nil {
			errs = append(errs, fmt.Errorf("journal: remove index spill: %w", err))
		}
	}
	clear(sp.files)
	sp.size, sp.live, sp.cur = 0, 0, 0
	return errors.Join(errs...)
}
