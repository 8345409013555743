package journal

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// model is what the index must agree with: per destination, its live
// entries by seq.
type model map[string]map[uint64]entry

func (m model) sorted(dest string) []entry {
	var out []entry
	for _, e := range m[dest] {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// check compares every query of x with the model.
func (m model) check(t *testing.T, x *index) {
	t.Helper()
	segLive, segBytes := map[uint32]int{}, map[uint32]int64{}
	var msgs, total int64
	for dest := range m {
		want := m.sorted(dest)
		if len(want) == 0 {
			if x.dests[dest] != nil {
				t.Fatalf("%s: empty but still indexed", dest)
			}
			continue
		}
		d := x.dests[dest]
		if d == nil {
			t.Fatalf("%s: %d entries, not indexed", dest, len(want))
		}
		if got := collect(x, d); !slices.Equal(got, want) {
			t.Fatalf("%s: entries\n got %v\nwant %v", dest, got, want)
		}
		if all, err := x.after(dest, 0, 0, 0); err != nil || !slices.Equal(all, want) {
			t.Fatalf("%s: after(0) %v, want %v", dest, all, want)
		}
		var bytes int64
		for i, e := range want {
			bytes += int64(e.n)
			segLive[e.seg]++
			segBytes[e.seg] += int64(e.n)
			if got, _ := x.after(dest, e.seq-1, 2, 0); !slices.Equal(got, want[i:min(i+2, len(want))]) {
				t.Fatalf("%s: after(%d, 2) = %v", dest, e.seq-1, got)
			}
		}
		if d.count != len(want) || d.bytes != bytes {
			t.Fatalf("%s: count %d bytes %d, want %d %d", dest, d.count, d.bytes, len(want), bytes)
		}
		if got := x.head(d); got != want[0] {
			t.Fatalf("%s: head %v, want %v", dest, got, want[0])
		}
		msgs += int64(len(want))
		total += bytes
	}
	if x.messages != msgs || x.bytes != total {
		t.Fatalf("index counts %d %d, want %d %d", x.messages, x.bytes, msgs, total)
	}
	for seg, n := range x.segLive {
		if n != segLive[seg] || x.segBytes[seg] != segBytes[seg] {
			t.Fatalf("segment %d: %d live, %d bytes; want %d %d", seg, n, x.segBytes[seg], segLive[seg], segBytes[seg])
		}
	}
}

func (m model) add(dest string, e entry) {
	if m[dest] == nil {
		m[dest] = map[uint64]entry{}
	}
	m[dest][e.seq] = e
}

// TestIndexChunks drives the chunked index through the ways a broker uses
// it and checks it against a map after each step.
func TestIndexChunks(t *testing.T) {
	const dest = "queue://a"
	ent := func(seq uint64) entry {
		return entry{seq: seq, seg: uint32(1 + seq/500), off: uint32(seq%500) * 1100, n: 1000 + uint32(seq%7)}
	}
	steps := []struct {
		name string
		run  func(x *index, m model)
	}{
		{"append 1000", func(x *index, m model) {
			for seq := uint64(1); seq <= 1000; seq++ {
				x.add(dest, ent(seq*2))
				m.add(dest, ent(seq*2))
			}
		}},
		{"remove from the head", func(x *index, m model) {
			for seq := uint64(2); seq <= 300; seq += 2 {
				x.remove(dest, seq)
				delete(m[dest], seq)
			}
		}},
		{"remove in the middle", func(x *index, m model) {
			for _, seq := range []uint64{700, 702, 1000, 1500, 1502} {
				x.remove(dest, seq)
				delete(m[dest], seq)
			}
			x.remove(dest, 701) // never there
			x.remove(dest, 700) // already gone
		}},
		{"remove the tail", func(x *index, m model) {
			for seq := uint64(2000); seq > 1900; seq -= 2 {
				x.remove(dest, seq)
				delete(m[dest], seq)
			}
		}},
		{"add out of order", func(x *index, m model) {
			for _, seq := range []uint64{1, 301, 303, 701, 700, 1001, 1899, 1901} {
				x.add(dest, ent(seq))
				m.add(dest, ent(seq))
			}
		}},
		{"replace", func(x *index, m model) {
			for _, seq := range []uint64{304, 1001, 1898} {
				e := ent(seq)
				e.seg, e.n = 99, 5
				x.add(dest, e)
				m.add(dest, e)
			}
		}},
		{"fill a chunk past its capacity", func(x *index, m model) {
			for seq := uint64(1003); seq < 1003+2*chunkCap; seq += 2 {
				x.add(dest, ent(seq))
				m.add(dest, ent(seq))
			}
		}},
		{"move", func(x *index, m model) {
			for _, seq := range []uint64{1, 800, 801, 1898, 1901} {
				e := ent(seq)
				e.seg, e.off = 77, uint32(seq)
				x.move(dest, e) // 801 is not there: ignored
				if old, ok := m[dest][seq]; ok && old.n == e.n {
					m.add(dest, e)
				}
			}
			x.move(dest, entry{seq: 802, seg: 78, n: 1}) // wrong length: ignored
		}},
		{"append after the open chunk was removed", func(x *index, m model) {
			for _, e := range m.sorted(dest) {
				if e.seq > 1800 {
					x.remove(dest, e.seq)
					delete(m[dest], e.seq)
				}
			}
			for seq := uint64(3000); seq < 3010; seq++ {
				x.add(dest, ent(seq))
				m.add(dest, ent(seq))
			}
		}},
		{"second destination", func(x *index, m model) {
			for seq := uint64(5000); seq < 5300; seq++ {
				x.add("topic://b", ent(seq))
				m.add("topic://b", ent(seq))
			}
		}},
		{"drop a destination", func(x *index, m model) {
			x.dropDest(dest)
			delete(m, dest)
		}},
		{"remove everything", func(x *index, m model) {
			for _, e := range m.sorted("topic://b") {
				x.remove("topic://b", e.seq)
			}
			delete(m, "topic://b")
		}},
	}
	forEachIndex(t, func(t *testing.T, x *index) {
		m := model{}
		for _, st := range steps {
			st.run(x, m)
			x.reclaim()
			t.Run(st.name, func(t *testing.T) { m.check(t, x) })
		}
		if len(x.dests) != 0 {
			t.Fatalf("%d destinations left", len(x.dests))
		}
	})
}

// forEachIndex runs test on an empty index that keeps its chunks in
// memory, and on one that spills them to a MemFS in files of 4 KiB (so
// that they fill, die and are reclaimed).
func forEachIndex(t *testing.T, test func(t *testing.T, x *index)) {
	t.Run("memory", func(t *testing.T) { test(t, newIndex(store.MinProducers)) })
	t.Run("spill", func(t *testing.T) {
		fsys := vfs.NewMemFS()
		if err := fsys.MkdirAll(dir); err != nil {
			t.Fatal(err)
		}
		x := newIndex(store.MinProducers)
		x.spill = newSpill(fsys, dir, 4<<10)
		test(t, x)
		if x.err != nil {
			t.Fatal(x.err)
		}
		checkSpill(t, x, fsys)
		if err := x.spill.close(); err != nil {
			t.Fatal(err)
		}
		if names, _ := fsys.ReadDir(dir); len(names) != 0 {
			t.Fatalf("files left after close: %v", names)
		}
	})
}

// checkSpill checks the spill's accounting against the chunks that refer
// to it: per file the live bytes, files nobody refers to are gone, and no
// more than half of it (and one file) is dead.
func checkSpill(t *testing.T, x *index, fsys *vfs.MemFS) {
	t.Helper()
	sp := x.spill
	live := map[uint32]int64{}
	for _, d := range x.dests {
		for _, c := range d.chunks {
			if c.file != 0 {
				live[c.file] += int64(spillCRC + int(c.size))
			}
			if c.file != 0 && c.enc != nil {
				t.Fatal("a chunk both spilled and in memory")
			}
		}
	}
	var total, size int64
	for id, f := range sp.files {
		if f.live != live[id] {
			t.Fatalf("spill file %d: %d live bytes counted, %d referred to", id, f.live, live[id])
		}
		if f.live == 0 && id != sp.cur {
			t.Fatalf("spill file %d kept with nothing in it", id)
		}
		total += f.live
		size += f.size
	}
	if total != sp.live || size != sp.size {
		t.Fatalf("spill totals %d/%d, files %d/%d", sp.live, sp.size, total, size)
	}
	if dead := sp.size - sp.live; dead > sp.size/2+sp.fileSize {
		t.Fatalf("spill %d bytes, %d dead", sp.size, dead)
	}
	names, _ := fsys.ReadDir(dir)
	if len(names) != len(sp.files) {
		t.Fatalf("%d spill files in the directory, %d in use", len(names), len(sp.files))
	}
}

// TestIndexRandom applies random adds (mostly in order), removals (mostly
// from the head), moves and limits to after, and compares with the model.
func TestIndexRandom(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			forEachIndex(t, func(t *testing.T, x *index) { randomIndex(t, x, seed) })
		})
	}
}

func randomIndex(t *testing.T, x *index, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	m := model{}
	dests := []string{"a", "b", "c"}
	var seq uint64
	for i := 0; i < 3000; i++ {
		dest := dests[rng.Intn(len(dests))]
		live := m.sorted(dest)
		switch r := rng.Intn(100); {
		case r < 50:
			seq += uint64(1 + rng.Intn(3))
			s := seq
			if rng.Intn(20) == 0 && s > 50 {
				s -= uint64(rng.Intn(50)) // out of order, maybe a replacement
			}
			e := entry{seq: s, seg: uint32(1 + s/300 + uint64(rng.Intn(2))), off: uint32(rng.Intn(1 << 20)), n: uint32(rng.Intn(3000))}
			x.add(dest, e)
			m.add(dest, e)
		case r < 90 && len(live) > 0:
			j := 0
			if rng.Intn(4) == 0 {
				j = rng.Intn(len(live))
			}
			x.remove(dest, live[j].seq)
			delete(m[dest], live[j].seq)
		case r < 95 && len(live) > 0:
			e := live[rng.Intn(len(live))]
			e.seg, e.off = uint32(rng.Intn(1000)), uint32(rng.Intn(1<<30))
			x.move(dest, e)
			m.add(dest, e)
		case r < 97:
			x.dropDest(dest)
			delete(m, dest)
		default:
			max, maxBytes := rng.Intn(10), int64(rng.Intn(10000))
			after := uint64(rng.Int63n(int64(seq + 2)))
			var want []entry
			var total int64
			for _, e := range live {
				if e.seq <= after || (max > 0 && len(want) >= max) {
					continue
				}
				if maxBytes > 0 && len(want) > 0 && total+int64(e.n) > maxBytes {
					break
				}
				total += int64(e.n)
				want = append(want, e)
			}
			if got, err := x.after(dest, after, max, maxBytes); err != nil || !slices.Equal(got, want) {
				t.Fatalf("after(%d, %d, %d) = %v, want %v", after, max, maxBytes, got, want)
			}
		}
		x.reclaim()
		if i%100 == 0 {
			m.check(t, x)
		}
	}
	m.check(t, x)
}

// TestChunkEncoding: entries survive encoding, in the common shape (one
// queue, one segment), across segments in both directions, with gaps of
// any sign and extreme values; and what the encoding costs.
func TestChunkEncoding(t *testing.T) {
	g := newBacklog()
	var common []entry
	for range chunkCap {
		common = append(common, g.next())
	}
	cases := map[string][]entry{
		"common": common,
		"one":    {{seq: 7, seg: 3, off: 100, n: 10}},
		"mixed": {
			{seq: 1, seg: 5, off: 1 << 31, n: 0},
			{seq: 2, seg: 5, off: 0, n: 1<<32 - 1},
			{seq: 1 << 40, seg: 2, off: 1<<32 - 1, n: 1},
			{seq: 1<<64 - 1, seg: 1<<32 - 1, off: 0, n: 0},
		},
	}
	for name, ents := range cases {
		t.Run(name, func(t *testing.T) {
			b := encodeEntries(nil, ents)
			got, err := decodeEntries(nil, b, ents[0].seq, len(ents))
			if err != nil || !slices.Equal(got, ents) {
				t.Fatalf("decoded %v, %v; want %v", got, err, ents)
			}
			if _, err := decodeEntries(nil, b, ents[0].seq, len(ents)+1); err == nil {
				t.Fatal("decoded one entry more than encoded")
			}
			if _, err := decodeEntries(nil, append(b, 0), ents[0].seq, len(ents)); err == nil {
				t.Fatal("trailing byte accepted")
			}
			t.Logf("%d entries, %d bytes", len(ents), len(b))
		})
	}
	if n := len(encodeEntries(nil, common)); n > 5*len(common) {
		t.Fatalf("common case: %d bytes for %d entries, want at most 5 each", n, len(common))
	}
}

// FuzzChunk feeds arbitrary bytes to the chunk decoder: it must never
// panic, and what it accepts must encode to the same entries again.
func FuzzChunk(f *testing.F) {
	g := newBacklog()
	var ents []entry
	for range 20 {
		ents = append(ents, g.next())
	}
	f.Add(encodeEntries(nil, ents), uint64(ents[0].seq), uint8(len(ents)))
	f.Add(encodeEntries(nil, ents[:1]), uint64(ents[0].seq), uint8(1))
	f.Add([]byte{1, 2, 3}, uint64(1), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, first uint64, n uint8) {
		ents, err := decodeEntries(nil, b, first, int(n))
		if err != nil {
			return
		}
		for i := 1; i < len(ents); i++ {
			if ents[i].seq <= ents[i-1].seq {
				t.Fatalf("seqs out of order: %v", ents)
			}
		}
		again, err := decodeEntries(nil, encodeEntries(nil, ents), first, len(ents))
		if err != nil || !slices.Equal(again, ents) {
			t.Fatalf("re-encoded %v, %v; want %v", again, err, ents)
		}
	})
}

// head returns the live entry of d with the lowest seq.
func (x *index) head(d *destIndex) entry {
	all := collect(x, d)
	return all[0]
}
