package journal

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// backlog generates the entries a journal records for one producer
// appending 1 KiB messages to one queue while another queue takes every
// third message: seqs with gaps, lengths that vary by a few bytes, records
// packed into 32 MiB segments.
type backlog struct {
	seq uint64
	seg uint32
	off uint32
}

func newBacklog() *backlog { return &backlog{seg: 1, off: 40} }

func (g *backlog) next() entry {
	const recOverhead = 40 // frame header, op count and kind, dest, seq, length
	if g.seq%3 == 2 {      // the other queue's message
		g.off += 1100
		g.seq++
	}
	g.seq++
	n := uint32(1024 + g.seq%16)
	if g.off+recOverhead+n > 32<<20 {
		g.seg, g.off = g.seg+1, 40
	}
	e := entry{seq: g.seq, seg: g.seg, off: g.off + recOverhead, n: n}
	g.off += recOverhead + 4 + n
	return e
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkIndexHeap reports the index's heap bytes per live message
// (heapB/msg) for a backlog of 1 KiB messages in one destination, with
// sealed chunks kept in memory and spilled (to files in benchDir), and
// the spill's size (spillB/msg).
func BenchmarkIndexHeap(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		for _, spilled := range []bool{false, true} {
			b.Run(fmt.Sprintf("msgs=%d/spill=%v", n, spilled), func(b *testing.B) { indexHeap(b, n, spilled) })
		}
	}
}

func indexHeap(b *testing.B, n int, spilled bool) {
	for i := 0; i < b.N; i++ {
		before := heapInUse()
		x := newIndex(store.MinProducers)
		if spilled {
			x.spill = newSpill(vfs.OS{}, benchDir(b), spillFileSize)
		}
		g := newBacklog()
		for j := 0; j < n; j++ {
			x.add("queue://backlog", g.next())
		}
		after := heapInUse()
		b.ReportMetric(float64(after-before)/float64(n), "heapB/msg")
		if x.messages != int64(n) {
			b.Fatal(x.messages)
		}
		if spilled {
			b.ReportMetric(float64(x.spill.size)/float64(n), "spillB/msg")
			x.spill.close()
		}
		runtime.KeepAlive(x)
	}
}

// BenchmarkIndexOps measures the index's cost per message of an in-order
// add and an in-order remove in a destination that holds b.N messages, and
// of an after that returns 100 entries (a Scan's batch) from a backlog of
// 1,000,000; with sealed chunks in memory and spilled to benchDir.
func BenchmarkIndexOps(b *testing.B) {
	for _, spilled := range []bool{false, true} {
		b.Run(fmt.Sprintf("spill=%v", spilled), func(b *testing.B) { indexOps(b, spilled) })
	}
}

func indexOps(b *testing.B, spilled bool) {
	const dest = "queue://backlog"
	empty := func(b *testing.B) *index {
		x := newIndex(store.MinProducers)
		if spilled {
			x.spill = newSpill(vfs.OS{}, benchDir(b), spillFileSize)
			b.Cleanup(func() { x.spill.close() })
		}
		return x
	}
	fill := func(b *testing.B, n int) (*index, []entry) {
		x, g := empty(b), newBacklog()
		ents := make([]entry, n)
		for i := range ents {
			ents[i] = g.next()
			x.add(dest, ents[i])
		}
		return x, ents
	}
	b.Run("add", func(b *testing.B) {
		x, g := empty(b), newBacklog()
		for i := 0; i < b.N; i++ {
			x.add(dest, g.next())
		}
	})
	b.Run("remove", func(b *testing.B) {
		x, ents := fill(b, b.N)
		b.ResetTimer()
		for _, e := range ents {
			x.remove(dest, e.seq)
		}
		if x.messages != 0 || x.err != nil {
			b.Fatal(x.messages, x.err)
		}
	})
	b.Run("after100", func(b *testing.B) {
		x, ents := fill(b, 1_000_000)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			j := (i * 100) % (len(ents) - 100)
			if got, err := x.after(dest, ents[j].seq-1, 100, 0); err != nil || len(got) != 100 {
				b.Fatal("after found", len(got), err)
			}
		}
	})
}

// BenchmarkCheckpoint writes and loads the checkpoint of an index of 1 KiB
// messages in one destination, in the current version (v4, pieces) and in
// version 3 (one record), reporting the file's size (B/msg) and what
// writing or loading allocates (B/op: the index being loaded counts).
func BenchmarkCheckpoint(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		x := newIndex(store.MinProducers)
		g := newBacklog()
		for range n {
			x.add("queue://backlog", g.next())
		}
		c := checkpoint{seg: 1, off: 40, idx: x}
		var v4 bytes.Buffer
		if _, err := writeCheckpoint(&v4, c); err != nil {
			b.Fatal(err)
		}
		v3 := encodeCheckpoint(c)
		b.Run(fmt.Sprintf("v4/write/msgs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				w := bufio.NewWriterSize(io.Discard, 256<<10)
				if _, err := writeCheckpoint(w, c); err != nil {
					b.Fatal(err)
				}
				w.Flush()
			}
			b.ReportMetric(float64(v4.Len())/float64(n), "fileB/msg")
		})
		b.Run(fmt.Sprintf("v4/load/msgs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := decodeV4(v4.Bytes(), store.MinProducers); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("v4-spilled/write/msgs=%d", n), func(b *testing.B) {
			sx := newIndex(store.MinProducers)
			sx.spill = newSpill(vfs.OS{}, benchDir(b), spillFileSize)
			defer sx.spill.close()
			g := newBacklog()
			for range n {
				sx.add("queue://backlog", g.next())
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w := bufio.NewWriterSize(io.Discard, 256<<10)
				if _, err := writeCheckpoint(w, checkpoint{seg: 1, off: 40, idx: sx}); err != nil {
					b.Fatal(err)
				}
				w.Flush()
			}
		})
		b.Run(fmt.Sprintf("v4-spilled/load/msgs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				sp := newSpill(vfs.OS{}, benchDir(b), spillFileSize)
				rr := &recordReader{r: bufio.NewReader(bytes.NewReader(v4.Bytes())), max: 1 << 20}
				if _, _, err := rr.next(); err != nil {
					b.Fatal(err)
				}
				if _, err := readCheckpoint(rr, store.MinProducers, sp); err != nil {
					b.Fatal(err)
				}
				sp.close()
			}
		})
		b.Run(fmt.Sprintf("v3/write/msgs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				encodeCheckpoint(c)
			}
			b.ReportMetric(float64(len(v3))/float64(n), "fileB/msg")
		})
		b.Run(fmt.Sprintf("v3/load/msgs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := decodeCheckpoint(v3, ckptV3, store.MinProducers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
