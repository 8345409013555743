package journal

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// fromProducer is payload(seq, size) sent by producer id with sequence pseq.
func fromProducer(seq uint64, size int, id string, pseq int64) *message.Message {
	m := payload(seq, size)
	m.ProducerID, m.ProducerSeq = id, pseq
	return m
}

func mustApply(t *testing.T, s *Store, b *store.Batch) {
	t.Helper()
	if err := s.Apply(context.Background(), b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func recoverProducers(t *testing.T, s *Store) map[string]int64 {
	t.Helper()
	st, err := s.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.ProducerSeqs
}

func wantMarks(t *testing.T, when string, got, want map[string]int64) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("%s: ProducerSeqs %v, want %v", when, got, want)
	}
}

// TestProducerSeqsSurviveCrash: the marks set by every batch whose Apply
// returned nil survive a power loss that tears unsynced data, with no
// checkpoint to help (they are rebuilt from the add records).
func TestProducerSeqsSurviveCrash(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := open(t, fsys, smallOpts())
	want := map[string]int64{}
	for seq := uint64(1); seq <= 40; seq++ {
		id, pseq := fmt.Sprintf("ID:p-%d:1:1", seq%5), int64(seq)
		var b store.Batch
		b.Add("queue://a", seq, fromProducer(seq, 100, id, pseq))
		if seq%2 == 0 {
			b.Remove("queue://a", seq) // consumed at once
		}
		mustApply(t, s, &b)
		want[id] = pseq
	}
	// A batch in flight when the machine dies may or may not survive.
	fsys.FailNext(vfs.OpSync, vfs.ErrCrashed)
	var late store.Batch
	late.Add("queue://a", 41, fromProducer(41, 100, "ID:late", 99))
	if err := s.Apply(context.Background(), &late); err == nil {
		t.Fatal("Apply succeeded with a failing sync")
	}
	crash(t, fsys, s, rand.New(rand.NewPCG(1, 2)))

	s = open(t, fsys, smallOpts())
	defer s.Close()
	got := recoverProducers(t, s)
	if seq, ok := got["ID:late"]; ok {
		if seq != 99 || len(scanSeqs(t, s, "queue://a")) != 21 {
			t.Fatalf("torn batch recovered in part: mark %d, messages %v", seq, scanSeqs(t, s, "queue://a"))
		}
		want["ID:late"] = 99
	}
	wantMarks(t, "after crash", got, want)
}

// TestProducerSeqsSurviveCheckpointAndGC: the segment that held a
// producer's adds is garbage collected once they are removed and a
// checkpoint is durable; the mark comes from the checkpoint.
func TestProducerSeqsSurviveCheckpointAndGC(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := Options{SegmentSize: 64 << 10, CheckpointBytes: 64 << 10, CompactLivePercent: -1}
	s := open(t, fsys, opts)
	want := map[string]int64{}
	var b store.Batch
	for seq := uint64(1); seq <= 10; seq++ {
		id := fmt.Sprintf("ID:p-%d:1:1", seq%3)
		b.Add("queue://a", seq, fromProducer(seq, 500, id, int64(seq)*10))
		want[id] = int64(seq) * 10
	}
	mustApply(t, s, &b)
	first := s.mu.idx.head(s.mu.idx.dests["queue://a"]).seg
	b = store.Batch{}
	for seq := uint64(1); seq <= 10; seq++ {
		b.Remove("queue://a", seq)
	}
	mustApply(t, s, &b)
	churn(t, s, 10, 300) // ~0.3 MB: several rolls and checkpoints
	if _, err := fsys.ReadFile(s.segPath(first)); err == nil {
		t.Fatalf("segment %d, which held the adds, was not deleted", first)
	}
	if s.w.ckptSeg <= first {
		t.Fatalf("no checkpoint after segment %d (last at %d)", first, s.w.ckptSeg)
	}
	crash(t, fsys, s, nil)

	s = open(t, fsys, opts)
	wantMarks(t, "after GC and crash", recoverProducers(t, s), want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, fsys, opts)
	defer s.Close()
	wantMarks(t, "after GC and reopen", recoverProducers(t, s), want)
}

// TestProducerSeqsSurviveCompaction: a live message whose segment is
// compacted away keeps its producer's mark, and so do the producers whose
// messages in that segment were removed.
func TestProducerSeqsSurviveCompaction(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := Options{SegmentSize: 64 << 10, CheckpointBytes: 64 << 10, CompactLivePercent: 50}
	s := open(t, fsys, opts)
	var b store.Batch
	b.Add("queue://pinned", 1, fromProducer(1, 100, "ID:pin", 5))
	b.Add("queue://a", 2, fromProducer(2, 100, "ID:gone", 7))
	mustApply(t, s, &b)
	pinnedSeg := s.mu.idx.head(s.mu.idx.dests["queue://pinned"]).seg
	b = store.Batch{}
	b.Remove("queue://a", 2)
	mustApply(t, s, &b)
	churn(t, s, 2, 300)
	if _, err := fsys.ReadFile(s.segPath(pinnedSeg)); err == nil {
		t.Fatalf("segment %d was not compacted and deleted", pinnedSeg)
	}
	crash(t, fsys, s, nil)

	s = open(t, fsys, opts)
	defer s.Close()
	wantMarks(t, "after compaction and crash", recoverProducers(t, s), map[string]int64{"ID:pin": 5, "ID:gone": 7})
	if got := scanSeqs(t, s, "queue://pinned"); len(got) != 1 {
		t.Fatalf("pinned message: %v", got)
	}
}

// TestProducerSeqsBound: with MaxProducers set, the least recently written
// producer is forgotten, and the recency order survives a checkpoint (the
// table is written oldest first) and a replay.
func TestProducerSeqsBound(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := smallOpts()
	opts.MaxProducers = 3
	s := open(t, fsys, opts)
	seq := uint64(0)
	write := func(id string, pseq int64) {
		t.Helper()
		seq++
		var b store.Batch
		b.Add("queue://a", seq, fromProducer(seq, 10, id, pseq))
		mustApply(t, s, &b)
	}
	write("a", 1)
	write("b", 2)
	write("c", 3)
	write("a", 4) // a is now the most recent; b the least
	write("d", 5) // b goes
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, fsys, opts)
	wantMarks(t, "after reopen", recoverProducers(t, s), map[string]int64{"a": 4, "c": 3, "d": 5})
	write("e", 6) // c, the least recent per the checkpoint, goes
	crash(t, fsys, s, nil)
	s = open(t, fsys, opts) // the checkpoint, then a replay of e
	wantMarks(t, "after crash", recoverProducers(t, s), map[string]int64{"a": 4, "d": 5, "e": 6})
	write("d", 1) // lower: d's mark stays, but d is now the most recent
	write("f", 7) // a goes
	crash(t, fsys, s, nil)
	s = open(t, fsys, opts)
	defer s.Close()
	wantMarks(t, "after a second crash", recoverProducers(t, s), map[string]int64{"d": 5, "e": 6, "f": 7})

	// A checkpoint holding more producers than the bound keeps the most
	// recent ones (version 3 here; TestCheckpointSmallerProducerBound for
	// the current one).
	c, err := decodeCheckpoint(encodeCheckpoint(checkpoint{idx: s.mu.idx}), ckptV3, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantMarks(t, "smaller bound", c.idx.prods.snapshot(), map[string]int64{"d": 5, "f": 7})
}

// TestMovesAreNotWrites: compaction's moves neither set marks nor make a
// producer more recent.
func TestMovesAreNotWrites(t *testing.T) {
	x := newIndex(2)
	x.apply([]op{
		{kind: store.OpAdd, dest: "q", seq: 1, n: 1, prod: "a", pseq: 1},
		{kind: store.OpAdd, dest: "q", seq: 2, n: 1, prod: "b", pseq: 1},
		{kind: opMove, dest: "q", seq: 1, n: 1, prod: "a", pseq: 9},
		{kind: store.OpAdd, dest: "q", seq: 3, n: 1, prod: "c", pseq: 1},
	}, 1, 0)
	wantMarks(t, "after a move", x.prods.snapshot(), map[string]int64{"b": 1, "c": 1})
}

// TestOldCheckpointsAreRead: checkpoints of earlier versions still open:
// v1 (written before producer tables) with no producers, v2 (before marks)
// with mark 0, v3 (one record, before pieces); the next checkpoint is of
// the current version.
func TestOldCheckpointsAreRead(t *testing.T) {
	for _, tc := range []struct {
		magic string
		prods bool // the version has a producer table
	}{{ckptMagicV1, false}, {ckptMagicV2, true}, {ckptMagicV3, true}} {
		t.Run(tc.magic, func(t *testing.T) {
			fsys := vfs.NewMemFS()
			s := open(t, fsys, smallOpts())
			var b store.Batch
			b.Add("queue://a", 1, fromProducer(1, 10, "ID:old", 3))
			mustApply(t, s, &b)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Rewrite the checkpoint in the old version: the v3 payload
			// (for v2 and v1) without the mark (0: one zero byte at the end) and, for v1,
			// without the producer table (empty: one zero byte before it).
			x := s.mu.idx
			want, cut := map[string]int64{"ID:old": 3}, 1
			if tc.magic == ckptMagicV3 {
				cut = 0
			}
			if !tc.prods {
				x.prods = newProducers(store.MinProducers)
				want, cut = map[string]int64{}, 2
			}
			p := encodeCheckpoint(checkpoint{seg: s.w.ckptSeg, off: s.w.ckptOff, idx: x})
			if tail := p[len(p)-cut:]; !bytes.Equal(tail, make([]byte, cut)) {
				t.Fatalf("payload ends with %x, want %d zero bytes", tail, cut)
			}
			old := appendRecord(nil, recCkptHeader, []byte(tc.magic))
			old = appendRecord(old, recCheckpoint, p[:len(p)-cut])
			writeFile(t, fsys, dir+"/"+ckptName, old)

			s = open(t, fsys, smallOpts())
			st, err := s.Recover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Mark != 0 || len(st.Dests) != 1 || st.LastSeq != 1 {
				t.Fatalf("from a %s checkpoint: %+v", tc.magic, st)
			}
			wantMarks(t, "from a "+tc.magic+" checkpoint", st.ProducerSeqs, want)
			b = store.Batch{Mark: 9}
			b.Add("queue://a", 2, fromProducer(2, 10, "ID:new", 4))
			mustApply(t, s, &b)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			ck, err := fsys.ReadFile(dir + "/" + ckptName)
			if err != nil {
				t.Fatal(err)
			}
			if _, h, _, err := parseRecord(ck, len(ck)); err != nil || string(h) != ckptMagic {
				t.Fatalf("checkpoint header after reopen: %q %v", h, err)
			}
			s = open(t, fsys, smallOpts())
			defer s.Close()
			st, err = s.Recover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want["ID:new"] = 4
			wantMarks(t, "after a current checkpoint", st.ProducerSeqs, want)
			if st.Mark != 9 {
				t.Fatalf("Mark %d after a current checkpoint, want 9", st.Mark)
			}
		})
	}
}

func writeFile(t *testing.T, fsys vfs.FS, name string, b []byte) {
	t.Helper()
	f, err := fsys.Create(name)
	if err == nil {
		_, err = f.WriteAt(b, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestProducerOfMatchesCodec keeps producerOf in step with message.Marshal.
func TestProducerOfMatchesCodec(t *testing.T) {
	for i, m := range []*message.Message{
		{},
		{ProducerID: "ID:p:1:1", ProducerSeq: 1},
		{ProducerSeq: -1},
		{
			ID: "ID:m", Dest: message.Destination{Kind: message.Topic, Name: "t"},
			ReplyTo: message.Destination{Kind: message.TempQueue, Name: "r"}, CorrelationID: "c", Type: "ty",
			Priority: 9, Expiration: -5, Timestamp: math.MaxInt64, Persistent: true, DeliveryCount: math.MaxInt32,
			GroupID: "g", GroupSeq: math.MinInt32, ProducerID: "ID:ü", ProducerSeq: math.MaxInt64, UserID: "u",
			OriginalDest: message.Destination{Kind: message.Queue, Name: "o"},
			Properties:   map[string]any{"a": int64(1), "b": "x"}, BodyKind: message.Text, Body: []byte("body"),
		},
	} {
		b, err := message.Marshal(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		id, seq, ok := producerOf(b)
		if !ok || string(id) != m.ProducerID || seq != m.ProducerSeq {
			t.Errorf("message %d: producerOf = %q %d %v, want %q %d", i, id, seq, ok, m.ProducerID, m.ProducerSeq)
		}
		// A cut-off encoding is either refused or read correctly (when the
		// cut comes after the producer fields).
		for n := range len(b) {
			if id, seq, ok := producerOf(b[:n]); ok && (string(id) != m.ProducerID || seq != m.ProducerSeq) {
				t.Errorf("message %d cut at %d: producerOf = %q %d", i, n, id, seq)
			}
		}
	}
	if _, _, ok := producerOf([]byte{9, 0}); ok {
		t.Error("producerOf accepted an unknown codec version")
	}
}

// TestNoteDoesNotAllocate: writing a known producer, the hot path, costs no
// allocation.
func TestNoteDoesNotAllocate(t *testing.T) {
	p := newProducers(4)
	for _, id := range []string{"a", "b", "c", "d"} {
		p.note(id, 1)
	}
	ids := []string{"a", "b", "c", "d"}
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		p.note(ids[i%4], int64(i))
		i++
	}); n != 0 {
		t.Fatalf("%v allocations per note of a known producer", n)
	}
}
