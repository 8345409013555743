package journal

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// Once the fence says another broker took the directory over, the journal
// writes nothing more: not the batch at hand, not later ones, not the
// checkpoint at Close; what it acknowledged before is kept.
func TestFence(t *testing.T) {
	dir := t.TempDir()
	var taken atomic.Bool
	fence := func() error {
		if taken.Load() {
			return errors.New("epoch 2 started")
		}
		return nil
	}
	s, err := Open(context.Background(), dir, vfs.OS{}, Options{Fence: fence}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	add := func(seq uint64) error {
		var b store.Batch
		b.Add("queue://q", seq, &message.Message{Body: []byte("x"), Persistent: true})
		return s.Apply(context.Background(), &b)
	}
	if err := add(1); err != nil {
		t.Fatal(err)
	}
	taken.Store(true)
	for seq := uint64(2); seq <= 3; seq++ {
		if err := add(seq); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("add %d after the fence: %v, want store.ErrUnavailable", seq, err)
		}
	}
	s.Close()
	taken.Store(false)
	s2, err := Open(context.Background(), dir, vfs.OS{}, Options{}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	st, err := s2.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSeq != 1 || len(st.Dests) != 1 || st.Dests[0].Count != 1 {
		t.Fatalf("after reopen: last seq %d, dests %+v; want only the first message", st.LastSeq, st.Dests)
	}
}
