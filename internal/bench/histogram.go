package bench

import (
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets, like HdrHistogram:
// values below 128 ns are exact, larger ones fall in one of 64 buckets per
// power of two, so a reported percentile is within 1/64 (1.6 %) above the
// true value. Memory is fixed (a little over 2,000 counters) whatever the
// number of samples. Values beyond about 18 minutes are clamped. The zero
// value is ready to use; a Histogram is not safe for concurrent use: give
// each goroutine its own and Merge them.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    time.Duration
	min    time.Duration
	max    time.Duration
}

const (
	subBits    = 6
	subCount   = 1 << subBits // buckets per power of two
	linearMax  = 2 * subCount // values below this are exact
	maxShift   = 34           // 2^(34+7) ns ≈ 36 min ceiling
	numBuckets = linearMax + maxShift*subCount
)

func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v < linearMax {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	if shift > maxShift {
		return numBuckets - 1
	}
	return linearMax + (shift-1)*subCount + int(v>>shift) - subCount
}

// upperOf returns the largest value that falls in bucket i.
func upperOf(i int) int64 {
	if i < linearMax {
		return int64(i)
	}
	shift := (i-linearMax)/subCount + 1
	sub := int64((i-linearMax)%subCount + subCount)
	return (sub+1)<<shift - 1
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucketOf(int64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile returns the value at or below which fraction q (0..1) of the
// samples fall, rounded up to its bucket's upper edge and clamped to the
// observed range. It returns 0 without samples.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(time.Duration(upperOf(i)), h.min), h.max)
		}
	}
	return h.max
}

// LatencySummary is a histogram's digest, in microseconds for JSON.
type LatencySummary struct {
	Count  uint64  `json:"count"`
	MinUs  float64 `json:"min_us"`
	MeanUs float64 `json:"mean_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p999_us"`
	MaxUs  float64 `json:"max_us"`
}

// Summary digests the histogram.
func (h *Histogram) Summary() LatencySummary {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	s := LatencySummary{Count: h.n}
	if h.n == 0 {
		return s
	}
	s.MinUs = us(h.min)
	s.MeanUs = us(h.sum / time.Duration(h.n))
	s.P50Us = us(h.Quantile(0.50))
	s.P90Us = us(h.Quantile(0.90))
	s.P99Us = us(h.Quantile(0.99))
	s.P999Us = us(h.Quantile(0.999))
	s.MaxUs = us(h.max)
	return s
}
