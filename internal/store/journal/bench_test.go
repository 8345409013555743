package journal

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/bench"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// benchDir is where benchmarks write: $PIER_BENCH_DIR, or a temporary
// directory. Point it at the disk you care about.
func benchDir(b *testing.B) string {
	if d := os.Getenv("PIER_BENCH_DIR"); d != "" {
		d, err := os.MkdirTemp(d, "journal-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return b.TempDir()
}

// BenchmarkFsync measures the disk: write 1 KiB, fsync, repeat.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(benchDir(b) + "/fsync")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1024)
	b.SetBytes(int64(len(buf)))
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "fsyncs/s")
}

// BenchmarkApply applies one 1 KiB persistent message per batch from 1, 4,
// 16 and 64 goroutines on the OS file system; with group commit, ops/s
// grows with concurrency.
func BenchmarkApply(b *testing.B) {
	for _, conc := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("appliers=%d", conc), func(b *testing.B) {
			s, err := Open(context.Background(), benchDir(b), vfs.OS{}, Options{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			m := &message.Message{ID: "bench", Dest: message.Destination{Kind: message.Queue, Name: "bench"},
				Persistent: true, BodyKind: message.Bytes, Body: make([]byte, 1024)}
			var seq atomic.Uint64
			var wg sync.WaitGroup
			b.SetBytes(1024)
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < conc; w++ {
				n := b.N / conc
				if w < b.N%conc {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < n; i++ {
						var batch store.Batch
						batch.Add("queue://bench", seq.Add(1), m)
						if err := s.Apply(context.Background(), &batch); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}

// BenchmarkScan reads 100 1 KiB messages per Scan back from the segments.
func BenchmarkScan(b *testing.B) {
	s, err := Open(context.Background(), benchDir(b), vfs.OS{}, Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var batch store.Batch
	for seq := uint64(1); seq <= 1000; seq++ {
		batch.Add("queue://scan", seq, &message.Message{ID: "m", Body: make([]byte, 1024)})
	}
	if err := s.Apply(context.Background(), &batch); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(100 * 1024)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		recs, err := s.Scan(context.Background(), "queue://scan", uint64(i%9)*100, 100, 0)
		if err != nil || len(recs) != 100 {
			b.Fatal(len(recs), err)
		}
	}
}

// BenchmarkFlow is a queue in steady state on segments made ahead of
// time, as `pier serve` runs the journal: one producer's synced 1 KiB add
// and a consumer's NoSync removal of the message sent 100 before, per op.
// Segments die at every checkpoint; recycle=true zero-fills the next
// spares over them, false deletes them and zero-fills new files. cpu-µs/op is the process's CPU
// (getrusage), the zero-filling in the background included.
func BenchmarkFlow(b *testing.B) {
	for _, recycle := range []bool{true, false} {
		b.Run(fmt.Sprintf("recycle=%v", recycle), func(b *testing.B) {
			s, err := Open(context.Background(), benchDir(b), vfs.OS{},
				Options{Preallocate: true, noRecycle: !recycle, SegmentSize: 8 << 20}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			m := &message.Message{ID: "bench", Dest: message.Destination{Kind: message.Queue, Name: "bench"},
				Persistent: true, BodyKind: message.Bytes, Body: make([]byte, 1024)}
			b.SetBytes(1024)
			b.ResetTimer()
			start, cpu := time.Now(), processCPU(b)
			for i := 1; i <= b.N; i++ {
				var add store.Batch
				add.Add("queue://bench", uint64(i), m)
				if err := s.Apply(context.Background(), &add); err != nil {
					b.Fatal(err)
				}
				if i > 100 {
					var rm store.Batch
					rm.Remove("queue://bench", uint64(i-100))
					rm.NoSync = true
					if err := s.Apply(context.Background(), &rm); err != nil {
						b.Fatal(err)
					}
				}
			}
			s.spare.Wait() // a zero-fill under way counts
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		})
	}
}

// processCPU returns the process's user and system time so far.
func processCPU(b *testing.B) time.Duration {
	d, err := bench.ProcessCPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkEncodeBatch encodes the batch a replicated group's follower
// applies from one entry at 16/16: sixteen adds of 1 KiB messages already
// encoded (store.Op.Raw), and, for comparison, the same messages still to
// be marshalled (one broker's own sends).
func BenchmarkEncodeBatch(b *testing.B) {
	for _, raw := range []bool{true, false} {
		b.Run(fmt.Sprintf("raw=%v", raw), func(b *testing.B) {
			var batch store.Batch
			for i := range 16 {
				m := &message.Message{ID: fmt.Sprintf("ID:bench-1:1:1:%d", i+1), ProducerID: "ID:bench-1:1:1",
					ProducerSeq: int64(i + 1), Persistent: true, Body: make([]byte, 1024)}
				if raw {
					enc, err := message.Marshal(nil, m)
					if err != nil {
						b.Fatal(err)
					}
					batch.Ops = append(batch.Ops, store.Op{Kind: store.OpAdd, Dest: "queue://bench", Seq: uint64(i + 1), Raw: enc})
				} else {
					batch.Add("queue://bench", uint64(i+1), m)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := encodeBatch(&batch, 64<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
