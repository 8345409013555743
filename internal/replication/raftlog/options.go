package raftlog

import (
	"errors"
	"fmt"
)

// Options configure a Log. The zero value is valid once EnsureDefaults has
// filled it in.
type Options struct {
	// SegmentSize is the largest size of a segment file: the log moves on
	// to a new one when the active one reaches it (a batch is never
	// split, so a segment can exceed it by one batch), or before, when a
	// batch would grow a file made ahead of time and the next one is
	// ready (spare.go: zero-filled to 64 KiB after Open, then twice the
	// size each time, up to SegmentSize; the log takes one such file of
	// disk more than it holds). Default 64 MiB; 4 KiB to 1 GiB.
	SegmentSize int64
	// MaxEntryBytes is the largest encoded entry (payload) StoreLogs
	// accepts; whatever is written is read back, up to the hard limit.
	// Default and maximum 256 MiB.
	MaxEntryBytes int64
	// CacheEntries and CacheBytes bound the cache of the newest entries,
	// which followers' replication and the state machine read back.
	// Defaults 1024 entries and 16 MiB; a negative CacheEntries turns the
	// cache off.
	CacheEntries int
	CacheBytes   int64
	// ReadOnly opens the log without changing anything on disk, to
	// inspect it: a damaged tail is left out but not cut off, files that
	// recovery would remove stay, and every change fails with
	// ErrReadOnly.
	ReadOnly bool
	// OnFail, if set, is called once (on the failing call's goroutine,
	// with no lock held) when a write, sync or file operation fails: the
	// log then refuses every further change (ErrFailed) until it is
	// reopened.
	OnFail func(error)
	// Async, if set, is asked at every StoreLogs: true leaves the fsync
	// to a goroutine of the log, which syncs behind the writes (a Raft
	// leader's own log: see sync.go); Durable and WaitDurable tell what
	// is synced. While it answers false, GetLog of an entry not yet
	// synced syncs it first.
	Async func() bool
	// OnSync, if set, is called after every fsync that makes entries
	// durable (in StoreLogs or behind it), for metrics.
	OnSync func()

	// prealloc is how spare segments are prepared (spare.go); tests set
	// it, the default is in the background.
	prealloc preallocation
}

// Defaults and limits.
const (
	DefaultSegmentSize  = 64 << 20
	DefaultCacheEntries = 1024
	DefaultCacheBytes   = 16 << 20
	maxEntryBytes       = 256 << 20
	minSegmentSize      = 4 << 10
	maxSegmentSize      = 1 << 30
)

// EnsureDefaults fills in zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.MaxEntryBytes == 0 {
		o.MaxEntryBytes = maxEntryBytes
	}
	if o.CacheEntries == 0 {
		o.CacheEntries = DefaultCacheEntries
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.prealloc == preallocDefault {
		o.prealloc = preallocBackground
	}
}

// Validate reports every invalid field.
func (o *Options) Validate() error {
	var errs []error
	if o.SegmentSize < minSegmentSize || o.SegmentSize > maxSegmentSize {
		errs = append(errs, fmt.Errorf("segment size %d: want 4 KiB to 1 GiB", o.SegmentSize))
	}
	if o.MaxEntryBytes < entryFixed || o.MaxEntryBytes > maxEntryBytes {
		errs = append(errs, fmt.Errorf("max entry bytes %d: want %d to 256 MiB", o.MaxEntryBytes, entryFixed))
	}
	if o.CacheBytes < 0 {
		errs = append(errs, fmt.Errorf("cache bytes %d: want >= 0", o.CacheBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("raftlog: options: %w", err)
	}
	return nil
}
