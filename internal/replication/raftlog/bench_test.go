package raftlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/piermq/pier/internal/bench"
	"github.com/piermq/pier/internal/store/vfs"
)

// benchDir is where benchmarks write: $PIER_BENCH_DIR, or a temporary
// directory. Point it at the disk you care about.
func benchDir(b *testing.B) string {
	if d := os.Getenv("PIER_BENCH_DIR"); d != "" {
		d, err := os.MkdirTemp(d, "raftlog-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return b.TempDir()
}

// processCPU returns the user and system time the process has used (every
// thread: the log's own goroutines count).
func processCPU(b *testing.B) time.Duration {
	d, err := bench.ProcessCPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkStoreLogs appends 1 KiB entries in batches of 1 and 16 on the
// OS file system, with this package's Log and, for comparison, with
// raft-boltdb (the store it replaced). Every StoreLogs is durable when it
// returns. cpu-µs/call is the process's CPU time per call (getrusage).
// The Log is measured as one long open: writing into a 64 MiB segment
// made ahead, with the next one ready (warmUp); what making them costs is
// BenchmarkSpare's.
func BenchmarkStoreLogs(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) (raft.LogStore, func() error)
	}{
		{"raftlog", func(b *testing.B) (raft.LogStore, func() error) {
			l, err := Open(context.Background(), filepath.Join(benchDir(b), "log"), vfs.OS{}, Options{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			warmUp(b, l)
			return l, l.Close
		}},
		{"boltdb", func(b *testing.B) (raft.LogStore, func() error) {
			s, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(benchDir(b), "raft.db")})
			if err != nil {
				b.Fatal(err)
			}
			return s, s.Close
		}},
	}
	for _, st := range stores {
		for _, batch := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/batch=%d", st.name, batch), func(b *testing.B) {
				s, closeStore := st.open(b)
				defer closeStore()
				data := make([]byte, 1024)
				logs := make([]*raft.Log, batch)
				for i := range logs {
					logs[i] = &raft.Log{Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()}
				}
				b.SetBytes(int64(batch * len(data)))
				next, _ := s.LastIndex()
				next++
				b.ResetTimer()
				start, cpu := time.Now(), processCPU(b)
				for range b.N {
					for _, e := range logs {
						e.Index = next
						next++
					}
					if err := s.StoreLogs(logs); err != nil {
						b.Fatal(err)
					}
				}
				secs := time.Since(start).Seconds()
				b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/call")
				b.ReportMetric(float64(b.N)/secs, "calls/s")
				b.ReportMetric(float64(b.N*batch)/secs, "entries/s")
			})
		}
	}
}

// warmUp writes to l until its spares have grown to the segment size,
// moves it to a new segment (a gap) and waits for the next spare, as a log
// long open would be.
func warmUp(b *testing.B, l *Log) {
	data := make([]byte, 64<<10)
	next := uint64(1)
	for {
		l.sp.Wait()
		l.wmu.Lock()
		full := l.spareSize == l.opts.SegmentSize
		l.wmu.Unlock()
		if full {
			break
		}
		es := entries(next, next+15, 1)
		for _, e := range es {
			e.Data = data
		}
		if err := l.StoreLogs(es); err != nil {
			b.Fatal(err)
		}
		next += 16
	}
	if err := l.StoreLogs(entries(next+1, next+1, 1)); err != nil {
		b.Fatal(err)
	}
	l.sp.Wait()
	if s := l.active(); s.alloc != l.opts.SegmentSize || !l.sp.Ready() {
		b.Fatalf("after the warm-up: a segment of %d bytes, spare ready %v", s.alloc, l.sp.Ready())
	}
}

// BenchmarkSpare makes spare segments of the default size (zero-filled,
// synced) on the OS file system, as the log does in the background once
// per segment: new files each time, left in place as a log's segments
// are (new pages of the page cache every time), or made of the previous
// one kept as a deleted segment is (vfs.Spare.Recycle: its pages are
// still cached).
func BenchmarkSpare(b *testing.B) {
	for _, reuse := range []bool{false, true} {
		b.Run(fmt.Sprintf("reuse=%v", reuse), func(b *testing.B) {
			dir := benchDir(b)
			n := 0
			sp := vfs.Spare{FS: vfs.OS{}, Inline: true, Keep: 1,
				Path:        func() string { n++; return filepath.Join(dir, fmt.Sprintf("spare-%d", n)) },
				RecyclePath: func() string { return filepath.Join(dir, recycledPrefix+recycledSuffix) }}
			start, cpu := time.Now(), processCPU(b)
			for range b.N {
				sp.Prepare(DefaultSegmentSize)
				f, path, _ := sp.Take()
				if f == nil {
					b.Fatal("no spare made")
				}
				if !reuse || !sp.Recycle(f, path) {
					f.Close()
				}
			}
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/spare")
			b.ReportMetric(time.Since(start).Seconds()*1000/float64(b.N), "ms/spare")
		})
	}
}

// BenchmarkGetLog reads back the newest entries (as replication to
// followers does) from the cache, and older ones from the files.
func BenchmarkGetLog(b *testing.B) {
	for _, cached := range []bool{true, false} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			opts := Options{}
			if !cached {
				opts.CacheEntries = -1
			}
			l, err := Open(context.Background(), filepath.Join(benchDir(b), "log"), vfs.OS{}, opts, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			const n = 512
			for i := uint64(1); i <= n; i += 16 {
				es := entries(i, i+15, 1)
				for _, e := range es {
					e.Data = make([]byte, 1024)
				}
				if err := l.StoreLogs(es); err != nil {
					b.Fatal(err)
				}
			}
			var e raft.Log
			b.ResetTimer()
			for i := range b.N {
				if err := l.GetLog(uint64(i%n)+1, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
