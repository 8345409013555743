package store

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	var m Meter
	for _, d := range []time.Duration{50 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 20 * time.Second} {
		m.Committed(d)
	}
	for _, n := range []int{1, 1, 3, 2000} {
		m.Grouped(n)
	}
	m.Synced()
	m.Synced()
	got := m.Metrics()
	if got.Syncs != 2 {
		t.Errorf("syncs %d, want 2", got.Syncs)
	}
	// Cumulative: <=100µs: 1; <=1ms: 2 (the bound itself counts); <=5ms: 3;
	// 20 s is beyond the last bound, in Count only.
	c := got.Commit
	at := func(h Histogram, bound float64) uint64 { return h.Counts[slices.Index(h.Bounds, bound)] }
	if at(c, 0.0001) != 1 || at(c, 0.001) != 2 || at(c, 0.0025) != 2 || at(c, 0.005) != 3 || at(c, 10) != 3 || c.Count != 4 {
		t.Errorf("commit histogram %v count %d", c.Counts, c.Count)
	}
	if want := 0.00005 + 0.001 + 0.003 + 20; c.Sum < want-1e-5 || c.Sum > want+1e-5 {
		t.Errorf("commit sum %v, want %v", c.Sum, want)
	}
	g := got.Group
	if at(g, 1) != 2 || at(g, 2) != 2 || at(g, 4) != 3 || at(g, 1024) != 3 || g.Count != 4 || g.Sum != 2005 {
		t.Errorf("group histogram %v count %d sum %v", g.Counts, g.Count, g.Sum)
	}
}

func TestMeterNil(t *testing.T) {
	var m *Meter
	m.Synced()
	m.Committed(time.Second)
	m.Grouped(3)
	got := m.Metrics()
	if got.Syncs != 0 || got.Commit.Count != 0 || len(got.Commit.Bounds) != len(CommitBuckets) || got.Group.Count != 0 {
		t.Errorf("nil meter: %+v", got)
	}
}

func TestMeterBucketsFit(t *testing.T) {
	var h histogram
	for _, b := range [][]float64{CommitBuckets, GroupBuckets} {
		if len(b)+1 > len(h.buckets) {
			t.Errorf("%d bounds need %d buckets, have %d", len(b), len(b)+1, len(h.buckets))
		}
		if !slices.IsSorted(b) {
			t.Errorf("bounds %v not ascending", b)
		}
	}
}

// A snapshot taken while others record is consistent with itself: its
// buckets never go down and never exceed Count.
func TestMeterConcurrent(t *testing.T) {
	var m Meter
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 10000 {
				m.Committed(time.Duration(i) * time.Microsecond)
				m.Grouped(i % 70)
			}
		})
	}
	for range 100 {
		h := m.Metrics().Commit
		if !slices.IsSorted(h.Counts) || h.Counts[len(h.Counts)-1] > h.Count {
			t.Fatalf("inconsistent snapshot %v count %d", h.Counts, h.Count)
		}
	}
	wg.Wait()
	if got := m.Metrics(); got.Commit.Count != 40000 || got.Group.Count != 40000 {
		t.Errorf("counts %d %d, want 40000", got.Commit.Count, got.Group.Count)
	}
}
