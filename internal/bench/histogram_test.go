package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsRoundTrip(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 129, 130, 255, 256, 1000, 1 << 20, 123456789, 1 << 40} {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf not monotonic at %d", v)
		}
		prev = i
		up := upperOf(i)
		if up < v {
			t.Errorf("upperOf(bucketOf(%d)) = %d < value", v, up)
		}
		if v >= linearMax && float64(up-v) > float64(v)/subCount {
			t.Errorf("bucket of %d too wide: upper %d", v, up)
		}
		if i > 0 && upperOf(i-1) >= v {
			t.Errorf("value %d also fits bucket %d", v, i-1)
		}
	}
	if bucketOf(1<<62) != numBuckets-1 || bucketOf(-5) != 0 {
		t.Error("clamping broken")
	}
}

func TestQuantilesMatchSortedSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h, a, b Histogram
	var samples []time.Duration
	for i := range 100000 {
		d := time.Duration(r.ExpFloat64() * float64(500*time.Microsecond))
		samples = append(samples, d)
		h.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := samples[int(q*float64(len(samples)))-1]
		got := h.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subCount+1 {
			t.Errorf("q%.3f = %v, exact %v", q, got, exact)
		}
		if m := a.Quantile(q); m != got {
			t.Errorf("merged q%.3f = %v, want %v", q, m, got)
		}
	}
	if h.Quantile(1) != samples[len(samples)-1] || h.Quantile(0) != samples[0] {
		t.Errorf("extremes: %v..%v, want %v..%v", h.Quantile(0), h.Quantile(1), samples[0], samples[len(samples)-1])
	}
	if a.Count() != 100000 {
		t.Errorf("merged count %d", a.Count())
	}
}

func TestEmptyHistogram(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Summary() != (LatencySummary{}) {
		t.Fatal("empty histogram not zero")
	}
	h.Record(3 * time.Millisecond)
	s := h.Summary()
	if s.P50Us != 3000 || s.P999Us != 3000 || s.MinUs != 3000 || s.MaxUs != 3000 || s.MeanUs != 3000 {
		t.Fatalf("single sample summary %+v", s)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i))
	}
}
