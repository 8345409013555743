package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/piermq/pier/internal/store"
)

// The store counts into its Meter: one group per transaction, a sync per
// transaction that waited for the log flush, the commit time of every
// synced batch.
func TestMeter(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			meter := new(store.Meter)
			s := open(t, db.driver, db.fresh(t), Options{Meter: meter})
			defer s.Close()
			const workers, each = 16, 10
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						n := uint64(w*each + i + 1)
						var b store.Batch
						b.Add("queue://m", n, textMsg(fmt.Sprint(n)))
						if err := s.Apply(context.Background(), &b); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			m, st := meter.Metrics(), s.Stats()
			if m.Commit.Count != workers*each || m.Group.Sum != workers*each {
				t.Fatalf("%d batches: commit count %d, batches in groups %v", workers*each, m.Commit.Count, m.Group.Sum)
			}
			if m.Group.Count != st.Commits || m.Syncs != st.Commits {
				t.Errorf("%d transactions: %d groups, %d syncs", st.Commits, m.Group.Count, m.Syncs)
			}

			var b store.Batch
			b.Remove("queue://m", 1)
			b.NoSync = true
			mustApply(t, s, &b)
			got := meter.Metrics()
			if got.Group.Count != m.Group.Count+1 || got.Syncs != m.Syncs || got.Commit.Count != m.Commit.Count {
				t.Errorf("NoSync batch: %d groups (was %d), %d syncs (was %d), %d commits (was %d)",
					got.Group.Count, m.Group.Count, got.Syncs, m.Syncs, got.Commit.Count, m.Commit.Count)
			}
		})
	}
}
