package journal

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// sampleIndex returns an index of n messages over three destinations, with
// holes, subscriptions, producers and a mark.
func sampleIndex(n int) *index {
	x := newIndex(store.MinProducers)
	g := newBacklog()
	for i := 0; i < n; i++ {
		e := g.next()
		x.add([]string{"queue://a", "queue://b", "topic://c"}[i%3], e)
		if i%5 == 0 {
			x.prods.note(fmt.Sprintf("ID:p-%d", i%100), int64(i+1))
		}
		x.lastSeq = e.seq
	}
	for i := 0; i < n; i += 4 {
		x.remove("queue://a", uint64(i)) // a hole where a seq of a is a multiple of 4
	}
	for i := 0; i < 3; i++ {
		s := store.Subscription{ClientID: "c", Name: fmt.Sprint(i), Topic: "t", Dest: "sub://" + fmt.Sprint(i)}
		x.subs[s.Key()] = s
	}
	x.mark = 99
	return x
}

// sameIndex fails unless a and b hold the same state.
func sameIndex(t *testing.T, a, b *index) {
	t.Helper()
	if a.lastSeq != b.lastSeq || a.mark != b.mark || a.messages != b.messages || a.bytes != b.bytes {
		t.Fatalf("index totals differ: %d %d %d %d vs %d %d %d %d", a.lastSeq, a.mark, a.messages, a.bytes, b.lastSeq, b.mark, b.messages, b.bytes)
	}
	if !maps.Equal(a.subs, b.subs) || !maps.Equal(a.prods.snapshot(), b.prods.snapshot()) {
		t.Fatal("subscriptions or producers differ")
	}
	if !maps.Equal(a.segLive, b.segLive) || !maps.Equal(a.segBytes, b.segBytes) {
		t.Fatal("segment tallies differ")
	}
	if len(a.dests) != len(b.dests) {
		t.Fatalf("%d and %d destinations", len(a.dests), len(b.dests))
	}
	for name, da := range a.dests {
		db := b.dests[name]
		if db == nil {
			t.Fatalf("%s missing", name)
		}
		ea, eb := collect(a, da), collect(b, db)
		if !slices.Equal(ea, eb) || da.count != db.count || da.bytes != db.bytes {
			t.Fatalf("%s: entries differ", name)
		}
	}
}

func collect(x *index, d *destIndex) []entry {
	var out []entry
	if err := x.each(d, 0, math.MaxUint32, func(e entry) bool { out = append(out, e); return true }); err != nil {
		panic(err)
	}
	return out
}

// encodeV4 returns c written as a checkpoint file.
func encodeV4(t testing.TB, c checkpoint) []byte {
	var buf bytes.Buffer
	n, err := writeCheckpoint(&buf, c)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("writeCheckpoint: %d bytes, %v", n, err)
	}
	return buf.Bytes()
}

// decodeV4 reads a checkpoint file of the current version.
func decodeV4(b []byte, maxProducers int) (checkpoint, error) {
	rr := &recordReader{r: bufio.NewReader(bytes.NewReader(b)), max: 1 << 20}
	typ, p, err := rr.next()
	if err != nil {
		return checkpoint{}, err
	}
	if typ != recCkptHeader || string(p) != ckptMagic {
		return checkpoint{}, fmt.Errorf("%w: header", errCorrupt)
	}
	return readCheckpoint(rr, maxProducers, nil)
}

// pieceOffsets returns where each record of a checkpoint file starts, and
// its end.
func pieceOffsets(t *testing.T, b []byte) []int {
	var offs []int
	for pos := 0; pos < len(b); {
		offs = append(offs, pos)
		_, _, n, err := parseRecord(b[pos:], len(b))
		if err != nil {
			t.Fatal(err)
		}
		pos += n
	}
	return append(offs, len(b))
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 100_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := sampleIndex(n)
			b := encodeV4(t, checkpoint{seg: 7, off: 1234, idx: x})
			c, err := decodeV4(b, store.MinProducers)
			if err != nil {
				t.Fatal(err)
			}
			if c.seg != 7 || c.off != 1234 {
				t.Fatalf("position %d %d", c.seg, c.off)
			}
			sameIndex(t, x, c.idx)
			offs := pieceOffsets(t, b)
			for i := 1; i < len(offs); i++ {
				if size := offs[i] - offs[i-1]; size > ckptPieceBytes+4<<10 {
					t.Fatalf("piece %d is %d bytes", i, size)
				}
			}
			t.Logf("%d messages: %d bytes in %d records", n, len(b), len(offs)-1)
		})
	}
}

// TestCheckpointDamage: a checkpoint with a flipped bit anywhere, cut at
// any record boundary or inside a record, missing a record, with records
// swapped or with a record more is refused as a whole.
func TestCheckpointDamage(t *testing.T) {
	b := encodeV4(t, checkpoint{seg: 1, off: 40, idx: sampleIndex(20_000)})
	offs := pieceOffsets(t, b)
	if len(offs) < 6 {
		t.Fatalf("only %d records", len(offs)-1)
	}
	refused := func(what string, d []byte) {
		t.Helper()
		if _, err := decodeV4(d, store.MinProducers); err == nil {
			t.Fatalf("%s: accepted", what)
		}
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		d := bytes.Clone(b)
		pos := rng.Intn(len(d))
		d[pos] ^= 1 << rng.Intn(8)
		refused(fmt.Sprintf("bit flipped at %d", pos), d)
	}
	for i := 1; i < len(offs)-1; i++ {
		refused(fmt.Sprintf("cut before record %d", i), b[:offs[i]])
		refused(fmt.Sprintf("cut inside record %d", i), b[:offs[i]+5])
		refused(fmt.Sprintf("without record %d", i), slices.Concat(b[:offs[i]], b[offs[i+1]:]))
		if i+2 < len(offs) {
			swapped := slices.Concat(b[:offs[i]], b[offs[i+1]:offs[i+2]], b[offs[i]:offs[i+1]], b[offs[i+2]:])
			if !bytes.Equal(swapped, b) {
				refused(fmt.Sprintf("records %d and %d swapped", i, i+1), swapped)
			}
		}
	}
	refused("a record more", append(bytes.Clone(b), b[offs[1]:offs[2]]...))
}

// TestDamagedCheckpointV4IsAnError: Open refuses a store whose (current
// version) checkpoint is cut at a piece boundary, as damaged.
func TestDamagedCheckpointV4IsAnError(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, smallOpts())
	for seq := uint64(1); seq <= 50; seq++ {
		mustApplyAdd(t, s, seq, 100)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b := mustRead(t, fsys, dir+"/"+ckptName)
	offs := pieceOffsets(t, b)
	writeFile(t, fsys, dir+"/"+ckptName, b[:offs[len(offs)-2]])
	_, err := Open(context.Background(), dir, fsys, smallOpts(), testLog(t))
	if err == nil || !strings.Contains(err.Error(), "is damaged") {
		t.Fatalf("Open with a checkpoint without its end: %v", err)
	}
}

// TestCheckpointSmallerProducerBound: a checkpoint read with a smaller
// producer bound keeps the most recently written producers.
func TestCheckpointSmallerProducerBound(t *testing.T) {
	x := newIndex(store.MinProducers)
	for i, id := range []string{"a", "b", "c"} {
		x.prods.note(id, int64(i+1))
	}
	c, err := decodeV4(encodeV4(t, checkpoint{idx: x}), 2)
	if err != nil {
		t.Fatal(err)
	}
	wantMarks(t, "smaller bound", c.idx.prods.snapshot(), map[string]int64{"b": 2, "c": 3})
}

func seedCheckpoints(f *testing.F) {
	x := sampleIndex(300)
	b := encodeV4(f, checkpoint{seg: 1, off: 40, idx: x})
	f.Add(b)
	offs := pieceOffsets(&testing.T{}, b)
	f.Add(b[:offs[len(offs)-2]])
	f.Add(encodeV4(f, checkpoint{idx: newIndex(store.MinProducers)}))
	f.Add([]byte{})
	// Pieces without framing, for the piece decoder.
	f.Add([]byte{pieceChunks, 2, 5, 2, 3, 5, 1, 1, 80, 0, 1, 0, 0})
	f.Add([]byte{pieceSubs, 2, 1, 'c', 1, 'n', 0, 0, 0, 0})
	f.Add([]byte{pieceProducers, 2, 1, 'p', 7})
	f.Add([]byte{pieceEnd, 2, 2, 1, 0, 0, 2})
}

// FuzzCheckpoint feeds arbitrary bytes to the reader of the current
// checkpoint version: it must never panic, and what it accepts must write
// and read back to the same index.
func FuzzCheckpoint(f *testing.F) {
	seedCheckpoints(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		// The piece decoder holds up on its own too (a CRC is no defence
		// against a bug or a crafted file): b as the first piece, and as
		// the ones after a head, a dest and a chunk piece.
		_, _ = newCkptReader(store.MinProducers, nil).piece(b)
		cr := newCkptReader(store.MinProducers, nil)
		for _, p := range [][]byte{{pieceHead, 0, 1, 1, 40, 0}, {pieceDest, 1, 1, 'q', 2}, b, b} {
			if _, err := cr.piece(p); err != nil {
				break
			}
			cr.pieces++
		}
		c, err := decodeV4(b, store.MinProducers)
		if err != nil {
			return
		}
		again, err := decodeV4(encodeV4(t, c), store.MinProducers)
		if err != nil {
			t.Fatalf("re-encoded checkpoint refused: %v", err)
		}
		sameIndex(t, c.idx, again.idx)
	})
}
