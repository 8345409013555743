package sqlstore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// BenchmarkApply applies one 1 KiB persistent message per batch from 1, 4,
// 16 and 64 goroutines to the private PostgreSQL (or, with
// PIER_BENCH_SQL=mariadb, MariaDB), with the database's default durable
// settings; with group commit, ops/s grows with concurrency.
func BenchmarkApply(b *testing.B) {
	db := databases[0]
	if os.Getenv("PIER_BENCH_SQL") == "mariadb" {
		db = databases[1]
	}
	for _, conc := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("appliers=%d", conc), func(b *testing.B) {
			s := open(b, db.driver, db.fresh(b), Options{})
			defer s.Close()
			m := &message.Message{ID: "bench", Dest: message.Destination{Kind: message.Queue, Name: "bench"},
				Persistent: true, BodyKind: message.Bytes, Body: make([]byte, 1024)}
			var seq atomic.Uint64
			var wg sync.WaitGroup
			b.SetBytes(1024)
			b.ResetTimer()
			start := time.Now()
			for range conc { // each takes the next sequence number until b.N are applied
				wg.Go(func() {
					for n := seq.Add(1); n <= uint64(b.N); n = seq.Add(1) {
						var batch store.Batch
						batch.Add("queue://bench", n, m)
						if err := s.Apply(context.Background(), &batch); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			st := s.Stats()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
			b.ReportMetric(float64(st.Batches)/float64(max(st.Commits, 1)), "batches/commit")
		})
	}
}
