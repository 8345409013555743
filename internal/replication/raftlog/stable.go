package raftlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/vfs"
)

// ErrKeyNotFound is returned by Stable's Get and GetUint64 for a key that
// was never set. Its text is "not found", which hashicorp/raft looks for
// (it compares err.Error(), as raft-boltdb's error reads).
var ErrKeyNotFound = errors.New("not found")

// Stable is a Raft stable store (current term, last vote): a small file of
// key/value pairs, rewritten atomically (temporary file, fsync, rename,
// directory sync) by every Set. It is safe for concurrent use.
type Stable struct {
	path string
	fs   vfs.FS

	mu struct {
		sync.Mutex
		kv     map[string][]byte
		closed bool
	}
}

var _ raft.StableStore = (*Stable)(nil)

// OpenStable opens the stable store in the file path on fsys, creating
// its directory if needed; a missing file is an empty store, a damaged one
// an error.
func OpenStable(ctx context.Context, path string, fsys vfs.FS) (*Stable, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := fsys.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("raftlog: create the directory of %s: %w", path, err)
	}
	s := &Stable{path: path, fs: fsys}
	// A leftover temporary file is a Set that did not finish: the file
	// still holds the state before it.
	if err := fsys.Remove(path + ".tmp"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("raftlog: remove %s.tmp: %w", path, err)
	}
	b, err := vfs.ReadFile(fsys, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.mu.kv = map[string][]byte{}
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("raftlog: read %s: %w", path, err)
	}
	if s.mu.kv, err = decodeStable(b); err != nil {
		return nil, fmt.Errorf("raftlog: the stable store %s is damaged (Raft's term and vote cannot be trusted): %w", path, err)
	}
	return s, nil
}

// Set implements raft.StableStore. It returns once the new value is
// durable.
func (s *Stable) Set(key, val []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	kv := maps.Clone(s.mu.kv)
	kv[string(key)] = append([]byte{}, val...)
	if err := writeFileAtomic(s.fs, s.path, encodeStable(kv)); err != nil {
		return fmt.Errorf("raftlog: write %s: %w", s.path, err)
	}
	s.mu.kv = kv
	return nil
}

// Get implements raft.StableStore: the value of key (a copy), or
// ErrKeyNotFound.
func (s *Stable) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil, ErrClosed
	}
	v, ok := s.mu.kv[string(key)]
	if !ok {
		return nil, ErrKeyNotFound
	}
	return append([]byte{}, v...), nil
}

// SetUint64 implements raft.StableStore (8 bytes, big endian).
func (s *Stable) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 implements raft.StableStore: the value of key, or 0 and
// ErrKeyNotFound.
func (s *Stable) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raftlog: stable key %q holds %d bytes, not a uint64", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Close makes later calls fail with ErrClosed. No file is held open.
func (s *Stable) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	return nil
}

// encodeStable encodes kv as one record: uvarint count, then per pair,
// sorted by key, the key and the value, each uvarint length and bytes.
func encodeStable(kv map[string][]byte) []byte {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p := binary.AppendUvarint(nil, uint64(len(kv)))
	for _, k := range keys {
		p = binary.AppendUvarint(p, uint64(len(k)))
		p = append(p, k...)
		p = binary.AppendUvarint(p, uint64(len(kv[k])))
		p = append(p, kv[k]...)
	}
	return appendFrame(nil, recStable, p)
}

// decodeStable decodes the contents of a stable file.
func decodeStable(b []byte) (map[string][]byte, error) {
	typ, p, n, err := parseFrame(b, maxEntryBytes)
	switch {
	case err != nil:
		return nil, err
	case typ != recStable:
		return nil, fmt.Errorf("%w: record type %d", errCorrupt, typ)
	case n != len(b):
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(b)-n)
	}
	count, k := binary.Uvarint(p)
	if k <= 0 || count > uint64(len(p)) {
		return nil, fmt.Errorf("%w: bad pair count", errCorrupt)
	}
	p = p[k:]
	kv := make(map[string][]byte, count)
	for range count {
		key, rest, ok := lengthPrefixed(p)
		var val []byte
		if ok {
			val, rest, ok = lengthPrefixed(rest)
		}
		if !ok {
			return nil, fmt.Errorf("%w: bad pair", errCorrupt)
		}
		if _, dup := kv[string(key)]; dup {
			return nil, fmt.Errorf("%w: key %q twice", errCorrupt, key)
		}
		kv[string(key)] = append([]byte{}, val...)
		p = rest
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(p))
	}
	return kv, nil
}
