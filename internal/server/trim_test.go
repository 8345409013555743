package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTrimmer(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name    string
		samples []int64 // MiB
		trims   []int   // indexes of the samples that trim
	}{
		{"idle", []int64{0, 0, 0}, nil},
		{"small backlog drained", []int64{0, 8, 15, 0, 0}, nil},
		{"large backlog drained", []int64{0, 40, 100, 30, 12, 0, 0}, []int{4}},
		{"drained to an eighth", []int64{64, 9, 8}, []int{2}},
		{"deep queue at rest", []int64{500, 500, 400, 500}, nil},
		{"partly drained", []int64{200, 100, 50, 26}, nil},
		{"two backlogs", []int64{32, 0, 0, 16, 24, 1, 0}, []int{1, 5}},
		{"next peak starts after the trim", []int64{32, 2, 16, 1}, []int{1, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trimmer{from: 16 * mib}
			var got []int
			for i, s := range tc.samples {
				if _, ok := tr.observe(s * mib); ok {
					got = append(got, i)
				}
			}
			if len(got) != len(tc.trims) {
				t.Fatalf("trims at samples %v, want %v", got, tc.trims)
			}
			for i := range got {
				if got[i] != tc.trims[i] {
					t.Fatalf("trims at samples %v, want %v", got, tc.trims)
				}
			}
		})
	}
}

// TestTrimLoop: the loop samples until its context ends and frees once per
// drained backlog, with that backlog's peak.
func TestTrimLoop(t *testing.T) {
	samples := []int64{0, 50, 100, 0, 0, 0}
	var i atomic.Int32
	used := func() int64 {
		n := int(i.Add(1)) - 1
		return samples[min(n, len(samples)-1)]
	}
	ctx, cancel := context.WithCancel(context.Background())
	var peaks []int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		trim(ctx, &trimmer{from: 64}, time.Millisecond, used, func(peak int64) { peaks = append(peaks, peak) })
	}()
	for int(i.Load()) < len(samples)+2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
	if len(peaks) != 1 || peaks[0] != 100 {
		t.Fatalf("freed with peaks %v, want once with 100", peaks)
	}
}
