package raftlog

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/frame"
	"github.com/piermq/pier/internal/store/vfs"
)

// Modes of FuzzOpenSegment's input (its first byte, modulo 3).
const (
	fuzzRaw    = 0 // the rest is the whole file
	fuzzHeader = 1 // a valid header, then the rest
	fuzzFramed = 2 // a valid header, then records with valid CRCs cut from the rest
)

// fuzzSpares, added to the first byte of FuzzOpenSegment's input, makes
// the log it opens write into spare segments made ahead of time.
const fuzzSpares = 3

// framed turns b into records with valid checksums: per record a type byte,
// a length byte and that many payload bytes.
func framed(b []byte) []byte {
	var out []byte
	for len(b) >= 2 {
		typ, n := b[0]%(recMaxType+1), min(int(b[1]), len(b)-2)
		out = appendFrame(out, typ, b[2:2+n])
		b = b[2+n:]
	}
	return out
}

// segmentSeed returns the records of a segment written by a Log: batches,
// a suffix delete inside a batch. With prealloc, zeros follow them.
func segmentSeed(f *testing.F, prealloc preallocation) []byte {
	fsys := vfs.NewMemFS()
	l, err := Open(context.Background(), "/s", fsys, Options{SegmentSize: minSegmentSize, prealloc: prealloc}, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, err := range []error{
		l.StoreLogs(entries(1, 4, 1)),
		l.StoreLogs(entries(5, 5, 1)),
		l.DeleteRange(4, 5),
		l.StoreLogs(entries(4, 6, 2)),
	} {
		if err != nil {
			f.Fatal(err)
		}
	}
	l.Close()
	b, err := fsys.ReadFile("/s/0000000001.seg")
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzOpenSegment opens a log whose only segment holds arbitrary bytes: Open
// must not panic; if it succeeds, the log must be consistent, take an
// append and come back the same after a reopen (with 4 KiB segments, so
// that the append may go to a new segment and leave this one behind it,
// to be read as a segment that is not the newest).
func FuzzOpenSegment(f *testing.F) {
	seg := segmentSeed(f, preallocOff)
	body := seg[headerSize:]
	f.Add(append([]byte{fuzzRaw}, seg...))
	f.Add(append([]byte{fuzzRaw}, seg[:len(seg)-3]...))
	f.Add(append([]byte{fuzzRaw}, seg[:headerSize-1]...))
	f.Add(append([]byte{fuzzHeader}, body...))
	f.Add(append([]byte{fuzzHeader}, body[:len(body)/2]...))
	f.Add(append([]byte{fuzzHeader}, truncRecord(2)...))
	f.Add([]byte{fuzzHeader})
	_, p1, _, err := parseFrame(body, maxEntryBytes)
	if err != nil || len(p1) > 255 {
		f.Fatalf("the seed's first entry: %v", err)
	}
	p2 := append([]byte(nil), p1...)
	p2[0]++ // entry 2
	one := append([]byte{recEntryEnd, byte(len(p1))}, p1...)
	two := append(append([]byte{recEntry, byte(len(p1))}, p1...), append([]byte{recEntryEnd, byte(len(p2))}, p2...)...)
	f.Add(append([]byte{fuzzFramed}, one...))
	f.Add(append(append([]byte{fuzzFramed}, two...), recTrunc, 8, 2, 0, 0, 0, 0, 0, 0, 0))
	f.Add([]byte{fuzzFramed, recTrunc, 8, 1, 0, 0, 0, 0, 0, 0, 0})
	pre := segmentSeed(f, preallocInline) // then zeros
	torn := bytes.Clone(pre)
	copy(torn[len(seg)-20:], make([]byte, 10)) // the last record cut short
	f.Add(append([]byte{fuzzRaw + fuzzSpares}, pre...))
	f.Add(append([]byte{fuzzRaw + fuzzSpares}, torn...))
	f.Add(append([]byte{fuzzRaw}, pre[:len(seg)+100]...))
	f.Add(append(append([]byte{fuzzRaw + fuzzSpares}, seg...), 1))       // a byte after the records
	f.Add(append(append([]byte{fuzzFramed + fuzzSpares}, one...), 0, 0)) // zeros after the records
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 || len(in) > 1<<20 {
			return
		}
		opts := Options{SegmentSize: minSegmentSize, prealloc: preallocOff}
		if in[0]/fuzzSpares%2 == 1 {
			opts.prealloc = preallocInline
		}
		var file []byte
		switch in[0] % 3 {
		case fuzzRaw:
			file = in[1:]
		case fuzzHeader:
			file = append(segmentHeader(1), in[1:]...)
		case fuzzFramed:
			file = append(segmentHeader(1), framed(in[1:])...)
		}
		if checkSegmentHeader(file, 1) == nil {
			// The records end at the end of the file or where only zeros
			// follow, or the scan says why not.
			sc := scanSegment(file)
			if sc.end < headerSize || sc.end > int64(len(file)) || (sc.err == nil) != (int64(frame.WrittenEnd(file)) <= sc.end) {
				t.Fatalf("scan: end %d of %d, err %v", sc.end, len(file), sc.err)
			}
		}
		fsys := vfs.NewMemFS()
		if err := fsys.MkdirAll("/log"); err != nil {
			t.Fatal(err)
		}
		w, err := fsys.Create("/log/0000000001.seg")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteAt(file, 0); err != nil {
			t.Fatal(err)
		}
		w.Sync()
		fsys.SyncDir("/log")
		l, err := Open(context.Background(), "/log", fsys, opts, nil)
		if err != nil {
			return // refused, cleanly
		}
		got := checkedLog(t, l)
		next := uint64(1)
		if len(got) > 0 {
			next = got[len(got)-1].Index + 1
		}
		if next == 0 {
			l.Close()
			return // the log ends at the last possible index
		}
		e := &raft.Log{Index: next, Term: 1, Data: []byte("after"), AppendedAt: time.Unix(5, 0)}
		if err := l.StoreLogs([]*raft.Log{e}); err != nil {
			t.Fatalf("StoreLogs after opening: %v", err)
		}
		l.Close()
		fsys.Crash()
		l, err = Open(context.Background(), "/log", fsys, opts, nil)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer l.Close()
		if again := checkedLog(t, l); !sameLog(again, append(got, e)) {
			t.Fatalf("after an append and a reopen: %s; want %s and %d", describe(again), describe(got), next)
		}
	})
}

// checkedLog reads every entry of l, checking that the log is contiguous
// and the bounds agree.
func checkedLog(t *testing.T, l *Log) []*raft.Log {
	first, err1 := l.FirstIndex()
	last, err2 := l.LastIndex()
	if err1 != nil || err2 != nil || (first == 0) != (last == 0) || first > last {
		t.Fatalf("first %d (%v), last %d (%v)", first, err1, last, err2)
	}
	var out []*raft.Log
	for i := first; first != 0; i++ {
		e := new(raft.Log)
		if err := l.GetLog(i, e); err != nil || e.Index != i {
			t.Fatalf("GetLog(%d) = %d, %v", i, e.Index, err)
		}
		out = append(out, e)
		if i == last {
			break
		}
	}
	var e raft.Log
	if err := l.GetLog(last+1, &e); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog past the end: %v", err)
	}
	return out
}

// FuzzEntry decodes arbitrary entry payloads: whatever decodes must encode
// to a record that decodes to the same entry.
func FuzzEntry(f *testing.F) {
	for _, e := range []*raft.Log{entry(1, 1), entry(3, 9), entry(5, 2), {Index: 1 << 60, Term: 1, AppendedAt: time.Unix(-1, 5)}} {
		rec, _, _ := appendEntry(nil, e, false)
		f.Add(rec[frameSize:])
	}
	f.Add(make([]byte, entryFixed))
	f.Fuzz(func(t *testing.T, p []byte) {
		var e raft.Log
		if decodeEntry(p, &e) != nil {
			return
		}
		rec, data, ext := appendEntry(nil, &e, true)
		if len(rec) != entrySize(&e) {
			t.Fatalf("record of %d bytes; entrySize says %d", len(rec), entrySize(&e))
		}
		if !bytes.Equal(rec[data:data+len(e.Data)], e.Data) || !bytes.Equal(rec[ext:ext+len(e.Extensions)], e.Extensions) {
			t.Fatal("data or extensions offsets are wrong")
		}
		typ, p2, n, err := parseFrame(rec, maxEntryBytes)
		if err != nil || typ != recEntryEnd || n != len(rec) {
			t.Fatalf("parse the re-encoded record: %d, %d, %v", typ, n, err)
		}
		var again raft.Log
		if err := decodeEntry(p2, &again); err != nil || !sameEntry(&e, &again) {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", e, again, err)
		}
	})
}

// FuzzFiles decodes arbitrary stable-store and first-index files, raw and
// framed with a valid checksum: no panics, and what decodes re-encodes to
// the same contents.
func FuzzFiles(f *testing.F) {
	f.Add(encodeStable(map[string][]byte{"CurrentTerm": {0, 0, 0, 0, 0, 0, 0, 3}, "LastVoteCand": []byte("b")}))
	f.Add(encodeStable(map[string][]byte{}))
	f.Add(firstRecord(3, 1000))
	f.Add([]byte{2, 1, 'a', 0, 1, 'a', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, file := range [][]byte{b, appendFrame(nil, recStable, b)} {
			kv, err := decodeStable(file)
			if err != nil {
				continue
			}
			again, err := decodeStable(encodeStable(kv))
			if err != nil || len(again) != len(kv) {
				t.Fatalf("re-encoded %d pairs decode to %d, %v", len(kv), len(again), err)
			}
			for k, v := range kv {
				if w, ok := again[k]; !ok || !bytes.Equal(v, w) {
					t.Fatalf("key %q: %q, then %q", k, v, w)
				}
			}
			fsys := vfs.NewMemFS()
			path := filepath.Join("/r", "stable")
			if err := fsys.MkdirAll("/r"); err != nil {
				t.Fatal(err)
			}
			if err := writeFileAtomic(fsys, path, file); err != nil {
				t.Fatal(err)
			}
			s, err := OpenStable(context.Background(), path, fsys)
			if err != nil {
				t.Fatalf("OpenStable of a file that decodes: %v", err)
			}
			s.Close()
		}
		for _, file := range [][]byte{b, appendFrame(nil, recFirst, b)} {
			seg, first, err := parseFirst(file)
			if err == nil && !bytes.Equal(firstRecord(seg, first), file) {
				t.Fatalf("first-index file %x re-encodes differently", file)
			}
		}
	})
}
