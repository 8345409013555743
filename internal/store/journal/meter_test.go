package journal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// The journal counts into its Meter: one group per write, one sync per
// synced group, the commit time of every synced batch it accepted.
func TestMeter(t *testing.T) {
	ctx := context.Background()
	meter := new(store.Meter)
	opts := smallOpts()
	opts.Meter = meter
	opts.SizeLimit = 64 << 10
	s, err := Open(ctx, "/j", vfs.NewMemFS(), opts, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	add := func(seq uint64, size int, noSync bool) error {
		b := &store.Batch{NoSync: noSync}
		b.Add("queue://q", seq, &message.Message{ID: fmt.Sprint(seq), Dest: message.Destination{Kind: message.Queue, Name: "q"},
			Body: make([]byte, size)})
		return s.Apply(ctx, b)
	}

	const writers, each = 16, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := add(uint64(w*each+i+1), 10, false); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	m := meter.Metrics()
	if m.Commit.Count != writers*each || m.Group.Sum != writers*each {
		t.Fatalf("%d batches: commit count %d, batches in groups %v", writers*each, m.Commit.Count, m.Group.Sum)
	}
	if m.Syncs != m.Group.Count {
		t.Errorf("every group synced once: %d syncs, %d groups", m.Syncs, m.Group.Count)
	}
	if m.Commit.Sum <= 0 {
		t.Errorf("commit time %v", m.Commit.Sum)
	}

	// Refused for the size limit: nothing counted.
	if err := add(1000, 100<<10, false); !errors.Is(err, store.ErrFull) {
		t.Fatalf("over the limit: %v", err)
	}
	if got := meter.Metrics(); got.Commit.Count != m.Commit.Count || got.Group.Count != m.Group.Count || got.Syncs != m.Syncs {
		t.Errorf("a refused batch was counted: %+v, before %+v", got, m)
	}

	// NoSync: a group, no commit time; the lazy sync comes later.
	if err := add(1001, 10, true); err != nil {
		t.Fatal(err)
	}
	got := meter.Metrics()
	if got.Commit.Count != m.Commit.Count || got.Group.Count != m.Group.Count+1 {
		t.Errorf("NoSync batch: commit count %d (was %d), groups %d (was %d)", got.Commit.Count, m.Commit.Count,
			got.Group.Count, m.Group.Count)
	}
	deadline := time.Now().Add(5 * time.Second)
	for meter.Metrics().Syncs != m.Syncs+1 {
		if time.Now().After(deadline) {
			t.Fatalf("no lazy sync counted: %d syncs, was %d", meter.Metrics().Syncs, m.Syncs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
