package store

import (
	"sort"
	"sync/atomic"
	"time"
)

// Meter counts a store's commits for the metrics: fsyncs, how long a
// batch waits to be durable, and how many batches share one durable write
// (group commit). A store is handed one in its options and records into it
// from its commit path; whoever serves metrics reads Metrics. One Meter
// may outlive several stores (a shared-directory master reopens its
// journal at every takeover), so its counts only grow. It is safe for
// concurrent use, and a nil *Meter records nothing.
type Meter struct {
	syncs  atomic.Uint64
	commit histogram
	group  histogram
}

// CommitBuckets are the upper bounds, in seconds, of the commit latency
// histogram: from a fast disk's fsync to a database or quorum in trouble.
var CommitBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// GroupBuckets are the upper bounds of the group size histogram, in
// batches (or Raft entries) per durable write.
var GroupBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}

// Synced records one fsync (or a database commit that waited for its
// log to be flushed).
func (m *Meter) Synced() {
	if m != nil {
		m.syncs.Add(1)
	}
}

// Committed records that a batch became durable d after it was handed to
// the store. Stores record only batches that wait for durability (not
// store.Batch.NoSync ones, which return as soon as they are written).
func (m *Meter) Committed(d time.Duration) {
	if m != nil {
		m.commit.observe(CommitBuckets, d.Seconds())
	}
}

// Grouped records one durable write that carried n batches.
func (m *Meter) Grouped(n int) {
	if m != nil {
		m.group.observe(GroupBuckets, float64(n))
	}
}

// Metrics returns what the meter has counted (zero for a nil Meter).
func (m *Meter) Metrics() Metrics {
	if m == nil {
		return Metrics{Commit: Histogram{Bounds: CommitBuckets}, Group: Histogram{Bounds: GroupBuckets}}
	}
	return Metrics{
		Syncs:  m.syncs.Load(),
		Commit: m.commit.snapshot(CommitBuckets),
		Group:  m.group.snapshot(GroupBuckets),
	}
}

// Metrics is a snapshot of a Meter.
type Metrics struct {
	Syncs  uint64
	Commit Histogram // seconds from Apply to durable, per batch
	Group  Histogram // batches per durable write
}

// Histogram is a cumulative histogram, as Prometheus reads one.
type Histogram struct {
	Bounds []float64 // upper bounds, ascending (+Inf implied)
	Counts []uint64  // Counts[i]: observations <= Bounds[i]
	Count  uint64    // every observation
	Sum    float64
}

// histogram counts observations per bucket, with atomics only: one
// observation is a search of the bounds and three atomic adds.
type histogram struct {
	buckets [24]atomic.Uint64 // one per bound, then +Inf; bounds fit
	count   atomic.Uint64
	sum     atomic.Uint64 // in millionths of the unit (µs for seconds)
}

func (h *histogram) observe(bounds []float64, v float64) {
	h.buckets[sort.SearchFloat64s(bounds, v)].Add(1)
	h.count.Add(1)
	h.sum.Add(uint64(v*1e6 + 0.5))
}

// snapshot reads the buckets. Observations made meanwhile may be counted
// in some buckets and not yet in others; Count is the sum of the buckets
// read, so the histogram is always consistent with itself.
func (h *histogram) snapshot(bounds []float64) Histogram {
	s := Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds))}
	var n uint64
	for i := range bounds {
		n += h.buckets[i].Load()
		s.Counts[i] = n
	}
	s.Count = n + h.buckets[len(bounds)].Load()
	s.Sum = float64(h.sum.Load()) / 1e6
	return s
}
