package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// goldenHistory applies the history whose journal, as a binary writing
// checkpoint version 3 left it, is kept in testdata/checkpoint-v3.
func goldenHistory(t *testing.T, s *Store) {
	sub := store.Subscription{ClientID: "c", Name: "n", Topic: "t.>", Selector: "a > 1", Dest: "sub://c:n"}
	var b store.Batch
	b.PutSub(sub)
	mustApply(t, s, &b)
	for seq := uint64(1); seq <= 300; seq++ {
		b = store.Batch{}
		b.Add("queue://a", seq, fromProducer(seq, 100, "ID:p", int64(seq)))
		if seq%3 == 0 {
			b.Add("sub://c:n", seq, payload(seq, 10))
		}
		mustApply(t, s, &b)
	}
	b = store.Batch{Mark: 42}
	for seq := uint64(1); seq <= 300; seq++ {
		if seq <= 50 || seq%7 == 0 {
			b.Remove("queue://a", seq)
		}
	}
	mustApply(t, s, &b)
}

// TestGoldenCheckpointV3 opens the journal a binary that wrote checkpoint
// version 3 left after goldenHistory (testdata/checkpoint-v3), and finds
// the state that this binary has after the same history; the checkpoint
// it writes at Close is the current version and reads back the same.
func TestGoldenCheckpointV3(t *testing.T) {
	fsys := vfs.NewMemFS()
	if err := fsys.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir("testdata/checkpoint-v3")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata/checkpoint-v3", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, fsys, filepath.Join(dir, f.Name()), b)
	}
	if _, h, _, err := parseRecord(mustRead(t, fsys, dir+"/"+ckptName), 1<<20); err != nil || string(h) != ckptMagicV3 {
		t.Fatalf("golden checkpoint header %q %v", h, err)
	}
	want := func() *store.State {
		fresh := vfs.NewMemFS()
		s := open(t, fresh, smallOpts())
		defer s.Close()
		goldenHistory(t, s)
		return stateWithScans(t, s)
	}()
	for _, when := range []string{"from the v3 checkpoint", "from the checkpoint written at Close"} {
		s := open(t, fsys, smallOpts())
		got := stateWithScans(t, s)
		mustApply(t, s, &store.Batch{Mark: 42}) // changes nothing, but makes Close checkpoint
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", when, got, want)
		}
	}
	if _, h, _, err := parseRecord(mustRead(t, fsys, dir+"/"+ckptName), 1<<20); err != nil || string(h) != ckptMagic {
		t.Fatalf("checkpoint header after Close %q %v", h, err)
	}
}

// stateWithScans returns what s recovers, with each destination's
// messages' seqs and IDs in place of its byte count.
func stateWithScans(t *testing.T, s *Store) *store.State {
	t.Helper()
	st, err := s.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range st.Dests {
		recs, err := s.Scan(context.Background(), d.Dest, 0, 0, 0)
		if err != nil || len(recs) != d.Count {
			t.Fatalf("Scan %s: %d of %d, %v", d.Dest, len(recs), d.Count, err)
		}
		sum := int64(0)
		for _, r := range recs {
			if r.Msg.ID != fmt.Sprint(r.Seq) {
				t.Fatalf("%s seq %d holds message %s", d.Dest, r.Seq, r.Msg.ID)
			}
			sum = sum*31 + int64(r.Seq)
		}
		st.Dests[i].Bytes = sum
	}
	return st
}

func mustRead(t *testing.T, fsys *vfs.MemFS, name string) []byte {
	t.Helper()
	b, err := fsys.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
