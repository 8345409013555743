package journal

import (
	"errors"
	"fmt"
	"time"

	"github.com/piermq/pier/internal/store"
)

// Options configure a journal store. The zero value is valid once
// EnsureDefaults has filled it in.
type Options struct {
	// SegmentSize is the size at which the journal moves on to a new
	// segment file. Default 32 MiB; 64 KiB to 1 GiB.
	SegmentSize int64
	// CheckpointBytes is how much journal is written between checkpoints
	// of the index. A checkpoint is taken when a segment is rolled once
	// this much was written since the last one, and at Close. It bounds
	// recovery time: replay starts at the last checkpoint. Default
	// 2×SegmentSize.
	CheckpointBytes int64
	// SizeLimit is the most bytes of live messages the store holds;
	// batches that add more fail with store.ErrFull. 0 means no limit.
	SizeLimit int64
	// CompactLivePercent: when a checkpoint is due, segments whose live
	// messages fill less than this share of them are compacted (the
	// survivors copied forward) so they can be deleted. Default 25; -1
	// disables compaction.
	CompactLivePercent int
	// MaxBatchBytes is the largest encoded batch accepted. Default 64 MiB;
	// at most 256 MiB.
	MaxBatchBytes int64
	// MaxGroupBytes bounds how much one group commit writes before it
	// syncs. Default 4 MiB.
	MaxGroupBytes int64
	// LazySyncDelay bounds how long a NoSync batch stays unsynced when no
	// synced batch comes along to cover it. Default 20 ms.
	LazySyncDelay time.Duration
	// GroupWait is how long the writer may hold a group open for more
	// writers when recent groups were larger than the one at hand. It
	// trades a little latency for far fewer syncs under concurrency.
	// Default 200 µs; negative turns it off.
	GroupWait time.Duration
	// WriteNoSyncAtOnce makes the writer write a group of NoSync
	// batches as soon as it has it. By default a NoSync batch of removals
	// and marks only (a consumer's acknowledgements) is applied to the
	// index and answered at once but written only with the next group
	// that is written anyway, or after LazySyncDelay: one write instead
	// of two. Its durability is what NoSync promises either way. Tests of
	// what a crash keeps of written-but-unsynced batches set it.
	WriteNoSyncAtOnce bool
	// Preallocate makes segments ahead of time, zero-filled to
	// SegmentSize and synced, so that a sync after a write need not
	// record a new file size (spare.go). It costs a segment's worth of
	// disk for the spare and writing every segment twice; the broker turns
	// it on, tests of the format leave it off.
	Preallocate bool
	// DropBehind, when set and true at a write, drops the active
	// segment's pages from the page cache once the writes are
	// vfs.DropKeep past them (vfs.DropBehind). A replicated group's
	// followers do: their journal holds what their Raft log holds, and
	// is read back only once they become master. A master keeps its
	// pages, from which it reads back the messages it paged out of
	// memory, as one broker alone does.
	DropBehind func() bool
	// MaxProducers is how many producers' high-water marks (store.State's
	// ProducerSeqs) the journal remembers: the least recently written one
	// is forgotten when a new producer would exceed it. Each costs about
	// 100 bytes of memory plus its id, and its id and mark in every
	// checkpoint. Default store.MinProducers (65,536); a smaller value
	// breaks the store.Store guarantee and is meant for tests. At most
	// 1<<24.
	MaxProducers int
	// Fence, when set, is asked before every write to the journal
	// directory (a group of batches, a checkpoint, a segment deleted): a
	// non-nil answer means another broker took the directory over (a
	// shared-directory group's newer master). That write and every later
	// one fail with an error wrapping store.ErrUnavailable, so a stale
	// master stops writing at once.
	Fence func() error
	// Meter, when set, counts the journal's syncs, group sizes and the
	// time a synced batch waits to be durable (for /metrics).
	Meter *store.Meter

	// spillFileSize is the size of the index spill's files (spill.go);
	// tests make it small.
	spillFileSize int64
	// spillKeep is how many bytes of sealed index chunks stay in memory
	// before the spill takes the rest (spill.keep): default 8 MiB, about
	// 2,000,000 messages, so the spill is used only by a backlog; tests
	// make it small.
	spillKeep int64
	// noRecycle deletes dead segments instead of keeping them to become
	// spares (BenchmarkFlow compares the two).
	noRecycle bool
}

// Defaults.
const (
	DefaultSegmentSize   = 32 << 20
	DefaultMaxBatchBytes = 64 << 20
	DefaultMaxGroupBytes = 4 << 20
	maxSegmentSize       = 1 << 30
	maxBatchBytes        = 256 << 20
	maxCheckpointBytes   = 1<<31 - 1
	maxProducers         = 1 << 24
)

// EnsureDefaults fills in zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.CheckpointBytes == 0 {
		o.CheckpointBytes = 2 * o.SegmentSize
	}
	if o.CompactLivePercent == 0 {
		o.CompactLivePercent = 25
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.MaxGroupBytes == 0 {
		o.MaxGroupBytes = DefaultMaxGroupBytes
	}
	if o.LazySyncDelay == 0 {
		o.LazySyncDelay = 20 * time.Millisecond
	}
	if o.GroupWait == 0 {
		o.GroupWait = 200 * time.Microsecond
	}
	if o.MaxProducers == 0 {
		o.MaxProducers = store.MinProducers
	}
	if o.spillFileSize == 0 {
		o.spillFileSize = spillFileSize
	}
	if o.spillKeep == 0 {
		o.spillKeep = 8 << 20
	}
}

// Validate reports the first invalid field.
func (o *Options) Validate() error {
	var errs []error
	if o.SegmentSize < 64<<10 || o.SegmentSize > maxSegmentSize {
		errs = append(errs, fmt.Errorf("segment size %d: want 64 KiB to 1 GiB", o.SegmentSize))
	}
	if o.CheckpointBytes <= 0 {
		errs = append(errs, fmt.Errorf("checkpoint bytes %d: want > 0", o.CheckpointBytes))
	}
	if o.CompactLivePercent < -1 || o.CompactLivePercent > 100 {
		errs = append(errs, fmt.Errorf("compact live percent %d: want -1 to 100", o.CompactLivePercent))
	}
	if o.SizeLimit < 0 {
		errs = append(errs, fmt.Errorf("size limit %d: want >= 0", o.SizeLimit))
	}
	if o.MaxBatchBytes <= 0 || o.MaxBatchBytes > maxBatchBytes {
		errs = append(errs, fmt.Errorf("max batch bytes %d: want 1 to 256 MiB", o.MaxBatchBytes))
	}
	if o.MaxGroupBytes <= 0 || o.MaxGroupBytes > maxBatchBytes {
		errs = append(errs, fmt.Errorf("max group bytes %d: want 1 to 256 MiB", o.MaxGroupBytes))
	}
	if o.LazySyncDelay < 0 {
		errs = append(errs, fmt.Errorf("lazy sync delay %v: want > 0", o.LazySyncDelay))
	}
	if o.MaxProducers <= 0 || o.MaxProducers > maxProducers {
		errs = append(errs, fmt.Errorf("max producers %d: want 1 to %d", o.MaxProducers, maxProducers))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("journal: options: %w", err)
	}
	return nil
}
