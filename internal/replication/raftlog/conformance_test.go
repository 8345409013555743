package raftlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/vfs"
)

// entry returns a log entry whose contents follow from its index and term.
func entry(index, term uint64) *raft.Log {
	e := &raft.Log{Index: index, Term: term, Type: raft.LogCommand,
		Data:       fmt.Appendf(nil, "entry %d of term %d", index, term),
		AppendedAt: time.Unix(1_700_000_000+int64(index), int64(index%1e9))}
	if index%3 == 0 {
		e.Extensions = fmt.Appendf(nil, "ext %d", index)
	}
	if index%5 == 0 {
		e.Type = raft.LogNoop
		e.Data = nil
	}
	return e
}

// entries returns entries from..to of term.
func entries(from, to, term uint64) []*raft.Log {
	var es []*raft.Log
	for i := from; i <= to; i++ {
		es = append(es, entry(i, term))
	}
	return es
}

// sameEntry reports whether a and b hold the same entry (an empty slice is
// nil, times are compared as instants).
func sameEntry(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Extensions, b.Extensions) && a.AppendedAt.Equal(b.AppendedAt)
}

// wantLog checks that s holds exactly want (ascending), and nothing
// between or beside them.
func wantLog(t *testing.T, s raft.LogStore, want []*raft.Log) {
	t.Helper()
	first, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	var wf, wl uint64
	if len(want) > 0 {
		wf, wl = want[0].Index, want[len(want)-1].Index
	}
	if first != wf || last != wl {
		t.Fatalf("first, last = %d, %d; want %d, %d", first, last, wf, wl)
	}
	byIndex := map[uint64]*raft.Log{}
	for _, e := range want {
		byIndex[e.Index] = e
	}
	lo, hi := max(wf, 2)-1, wl+1
	for i := lo; i <= hi; i++ {
		var got raft.Log
		err := s.GetLog(i, &got)
		w, ok := byIndex[i]
		switch {
		case !ok && !errors.Is(err, raft.ErrLogNotFound):
			t.Fatalf("GetLog(%d) = %+v, %v; want ErrLogNotFound", i, got, err)
		case ok && err != nil:
			t.Fatalf("GetLog(%d): %v", i, err)
		case ok && !sameEntry(&got, w):
			t.Fatalf("GetLog(%d) = %+v; want %+v", i, got, w)
		}
	}
}

// testLogStore is the behaviour every raft.LogStore here must have, as
// hashicorp/raft uses it. open returns a new, empty store.
func testLogStore(t *testing.T, open func(t *testing.T) raft.LogStore) {
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		run  func(t *testing.T, s raft.LogStore)
	}{
		{"empty", func(t *testing.T, s raft.LogStore) {
			wantLog(t, s, nil)
			must(t, s.DeleteRange(1, 10)) // nothing to delete
			wantLog(t, s, nil)
		}},
		{"store one and many", func(t *testing.T, s raft.LogStore) {
			must(t, s.StoreLog(entry(1, 1)))
			must(t, s.StoreLogs(entries(2, 10, 1)))
			must(t, s.StoreLogs(nil))
			wantLog(t, s, entries(1, 10, 1))
		}},
		{"starts at any index", func(t *testing.T, s raft.LogStore) {
			must(t, s.StoreLogs(entries(100, 110, 4)))
			wantLog(t, s, entries(100, 110, 4))
		}},
		{"all fields", func(t *testing.T, s raft.LogStore) {
			es := []*raft.Log{
				{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: []byte{1, 2, 3}, Extensions: []byte{9}, AppendedAt: time.Unix(1, 2)},
				{Index: 2, Term: 1<<63 + 5, Type: raft.LogBarrier},
				{Index: 3, Term: 2, Type: raft.LogCommand, Data: bytes.Repeat([]byte{0xab}, 70_000), AppendedAt: time.Date(2262, 1, 1, 0, 0, 0, 999_999_999, time.UTC)},
				{Index: 4, Term: 2, Type: raft.LogType(200), Data: []byte{}, AppendedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
			}
			must(t, s.StoreLogs(es))
			wantLog(t, s, es)
			var got raft.Log
			must(t, s.GetLog(2, &got))
			if !got.AppendedAt.IsZero() {
				t.Fatalf("zero AppendedAt came back as %v", got.AppendedAt)
			}
		}},
		{"prefix delete", func(t *testing.T, s raft.LogStore) {
			must(t, s.StoreLogs(entries(1, 20, 1)))
			must(t, s.DeleteRange(1, 5))
			wantLog(t, s, entries(6, 20, 1))
			must(t, s.DeleteRange(6, 19))
			wantLog(t, s, entries(20, 20, 1))
			must(t, s.StoreLogs(entries(21, 30, 2)))
			wantLog(t, s, append(entries(20, 20, 1), entries(21, 30, 2)...))
		}},
		{"suffix delete", func(t *testing.T, s raft.LogStore) {
			must(t, s.StoreLogs(entries(1, 20, 1)))
			must(t, s.DeleteRange(15, 20))
			wantLog(t, s, entries(1, 14, 1))
			must(t, s.StoreLogs(entries(15, 17, 2)))
			must(t, s.DeleteRange(16, 17))
			must(t, s.StoreLogs(entries(16, 25, 3)))
			want := append(append(entries(1, 14, 1), entry(15, 2)), entries(16, 25, 3)...)
			wantLog(t, s, want)
			must(t, s.DeleteRange(25, 25))
			wantLog(t, s, want[:len(want)-1])
		}},
		{"suffix delete inside a batch", func(t *testing.T, s raft.LogStore) {
			must(t, s.StoreLogs(entries(1, 10, 1)))
			must(t, s.DeleteRange(4, 10))
			must(t, s.StoreLogs(entries(4, 6, 2)))
			wantLog(t, s, append(entries(1, 3, 1), entries(4, 6, 2)...))
		}},
		{"delete everything", func(t *testing.T, s raft.LogStore) {
			must(t, s.StoreLogs(entries(1, 20, 1)))
			must(t, s.DeleteRange(1, 20))
			wantLog(t, s, nil)
			must(t, s.StoreLogs(entries(500, 510, 3)))
			wantLog(t, s, entries(500, 510, 3))
			must(t, s.DeleteRange(500, 510))
			wantLog(t, s, nil)
			must(t, s.StoreLogs(entries(7, 8, 4)))
			wantLog(t, s, entries(7, 8, 4))
		}},
		{"prefix and suffix deletes interleaved", func(t *testing.T, s raft.LogStore) {
			var want []*raft.Log
			next, term := uint64(1), uint64(1)
			for round := range 20 {
				batch := entries(next, next+uint64(round%7), term)
				must(t, s.StoreLogs(batch))
				want = append(want, batch...)
				next += uint64(len(batch))
				switch round % 4 {
				case 1: // compaction
					k := len(want) / 3
					must(t, s.DeleteRange(want[0].Index, want[k].Index))
					want = want[k+1:]
				case 3: // conflict
					k := len(want) * 2 / 3
					must(t, s.DeleteRange(want[k].Index, want[len(want)-1].Index))
					want = want[:k]
					next = want[len(want)-1].Index + 1
					term++
				}
				wantLog(t, s, want)
			}
		}},
		{"gap after a snapshot install", func(t *testing.T, s raft.LogStore) {
			// The LogStore contract allows the next StoreLogs to leave a
			// gap (a follower that installed a snapshot beyond its log).
			must(t, s.StoreLogs(entries(1, 10, 1)))
			must(t, s.StoreLogs(entries(50, 60, 2)))
			must(t, s.StoreLogs(entries(61, 61, 2)))
			want := append(entries(1, 10, 1), entries(50, 61, 2)...)
			wantLog(t, s, want)
			must(t, s.DeleteRange(1, 5))
			wantLog(t, s, want[5:])
			must(t, s.DeleteRange(55, 61))
			wantLog(t, s, want[5:15])
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
}

// TestLogStore runs the LogStore behaviour against this package's Log (on
// both file systems, with and without its cache) and, to check the
// behaviour itself, against hashicorp/raft's in-memory reference store.
func TestLogStore(t *testing.T) {
	openLog := func(fsys func(t *testing.T) (vfs.FS, string), opts Options) func(t *testing.T) raft.LogStore {
		return func(t *testing.T) raft.LogStore {
			f, dir := fsys(t)
			l, err := Open(context.Background(), dir, f, opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return l
		}
	}
	mem := func(t *testing.T) (vfs.FS, string) { return vfs.NewMemFS(), "/log" }
	osfs := func(t *testing.T) (vfs.FS, string) { return vfs.OS{}, t.TempDir() }
	t.Run("raftlog-mem", func(t *testing.T) { testLogStore(t, openLog(mem, Options{SegmentSize: minSegmentSize})) })
	t.Run("raftlog-mem-nocache", func(t *testing.T) {
		testLogStore(t, openLog(mem, Options{SegmentSize: minSegmentSize, CacheEntries: -1}))
	})
	t.Run("raftlog-os", func(t *testing.T) { testLogStore(t, openLog(osfs, Options{})) })
	t.Run("inmem-reference", func(t *testing.T) {
		testLogStore(t, func(t *testing.T) raft.LogStore { return raft.NewInmemStore() })
	})
}
