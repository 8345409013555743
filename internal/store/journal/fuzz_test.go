package journal

import (
	"context"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

func seedRecords(f *testing.F) {
	var b store.Batch
	b.Add("queue://a", 1, &message.Message{ID: "x", Body: []byte("hello"), Properties: map[string]any{"k": int32(1)}})
	b.Add("queue://a", 2, &message.Message{ID: "y", ProducerID: "ID:host-1:1:1", ProducerSeq: 9})
	b.Remove("queue://a", 7)
	b.PutSub(store.Subscription{ClientID: "c", Name: "n", Topic: "t.>", Selector: "a > 1", NoLocal: true, Dest: "d"})
	b.DeleteSub(store.Subscription{ClientID: "c", Name: "n", Dest: "d"})
	rec, ops, _, err := encodeBatch(&b, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	x := newIndex(store.MinProducers)
	x.apply(ops, 1, headerSize)
	x.subs["c\x00m"] = store.Subscription{ClientID: "c", Name: "m"}
	b.Mark = 1 << 40
	marked, ops, _, err := encodeBatch(&b, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	x.apply(ops, 2, headerSize)
	markOnly, _, _, err := encodeBatch(&store.Batch{Mark: 7}, 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	ckpt := appendRecord(nil, recCheckpoint, encodeCheckpoint(checkpoint{seg: 1, off: 40, idx: x}))
	f.Add(rec)
	f.Add(marked)
	f.Add(markOnly)
	f.Add(markOnly[headerSize:])
	f.Add(rec[headerSize:])
	f.Add(ckpt[headerSize:])
	f.Add(rec[:len(rec)-1])
	f.Add(append(segmentHeader(3), rec...))
	f.Add(ckpt)
	f.Add(appendRecord(nil, recBatch, []byte{1, 1, 1, 'q', 5, 3, 0, 0, 0, 0, 1, 2}))
	f.Add([]byte{})
}

// FuzzRecord feeds arbitrary bytes to the record decoders: they must never
// panic, and whatever they accept must be consistent.
func FuzzRecord(f *testing.F) {
	seedRecords(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		// The payload decoders must hold up on their own too: a CRC is no
		// defence against a bug or a crafted file.
		checkPayload(t, recBatch, b)
		checkPayload(t, recCheckpoint, b)
		for pos := 0; pos < len(b); {
			typ, p, n, err := parseRecord(b[pos:], 1<<20)
			if err != nil {
				return
			}
			if n != headerSize+len(p) {
				t.Fatalf("record length %d with %d-byte payload", n, len(p))
			}
			checkPayload(t, typ, p)
			if typ == recSegment {
				_, _ = checkSegmentHeader(b[pos:], 3)
			}
			pos += n
		}
	})
}

func checkPayload(t *testing.T, typ byte, p []byte) {
	switch typ {
	case recBatch:
		ops, err := decodeBatch(p)
		if err != nil {
			return
		}
		for i, o := range ops {
			if o.kind == opMark && (o.seq == 0 || i != len(ops)-1) {
				t.Fatalf("op %d of %d is mark %d", i, len(ops), o.seq)
			}
			if o.kind == store.OpAdd && int(o.off)+4+int(o.n) > len(p) {
				t.Fatalf("add op points past the payload: off %d n %d len %d", o.off, o.n, len(p))
			}
			if o.kind != store.OpAdd {
				continue
			}
			// The producer read from the encoding agrees with the codec.
			if m, err := message.Unmarshal(p[o.off+4 : o.off+4+o.n]); err == nil {
				wantID, wantSeq := m.ProducerID, m.ProducerSeq
				if wantID == "" || wantSeq <= 0 {
					wantID, wantSeq = "", 0
				}
				if o.prod != wantID || o.pseq != wantSeq {
					t.Fatalf("producer %q %d read from the record, message says %q %d", o.prod, o.pseq, m.ProducerID, m.ProducerSeq)
				}
			}
		}
		x := newIndex(store.MinProducers)
		x.apply(ops, 1, 0)
		if x.messages < 0 || x.bytes < 0 {
			t.Fatalf("negative index counts %d %d", x.messages, x.bytes)
		}
	case recCheckpoint:
		c, err := decodeCheckpoint(p, ckptV3, store.MinProducers)
		if err != nil {
			c, err = decodeCheckpoint(p, ckptV2, store.MinProducers)
		}
		if err != nil {
			c, err = decodeCheckpoint(p, ckptV1, store.MinProducers)
		}
		if err != nil {
			return
		}
		// An old checkpoint converts to the current version.
		again, err := decodeV4(encodeV4(t, c), store.MinProducers)
		if err != nil {
			t.Fatalf("checkpoint does not re-encode: %v", err)
		}
		sameIndex(t, c.idx, again.idx)
	}
}

// FuzzOpenSegment opens a journal whose only segment holds arbitrary bytes
// after its header: Open must succeed (cutting what is bad) and every
// message it then reports must be readable.
func FuzzOpenSegment(f *testing.F) {
	seedRecords(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fsys := vfs.NewMemFS()
		if err := fsys.MkdirAll(dir); err != nil {
			t.Fatal(err)
		}
		seg, err := fsys.Create(dir + "/0000000001.seg")
		if err != nil {
			t.Fatal(err)
		}
		seg.WriteAt(append(segmentHeader(1), b...), 0)
		seg.Close()
		s, err := Open(context.Background(), dir, fsys, Options{}, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		st, err := s.Recover(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range st.Dests {
			recs, err := s.Scan(context.Background(), d.Dest, 0, 0, 0)
			if err != nil || len(recs) != d.Count {
				t.Fatalf("Scan %q: %d records, %v; recovered count %d", d.Dest, len(recs), err, d.Count)
			}
		}
	})
}
