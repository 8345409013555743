package journal

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// TestDropBehind: with Options.DropBehind saying so, the active segment's pages are
// dropped from the page cache once the writes are vfs.DropKeep past them
// (else never), and the messages there still read back.
func TestDropBehind(t *testing.T) {
	for _, drop := range []bool{true, false} {
		t.Run(fmt.Sprintf("drop=%v", drop), func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, t.TempDir(), vfs.OS{}, Options{DropBehind: func() bool { return drop }, SegmentSize: 64 << 20}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			body := func(seq uint64) []byte { return bytes.Repeat([]byte{byte(seq)}, 1024) }
			var seq uint64
			for seq < 20<<10 { // 20 MiB of bodies
				var b store.Batch
				for range 16 {
					seq++
					b.Add("queue://drop", seq, &message.Message{ID: fmt.Sprintf("ID:drop:1:1:%d", seq), Persistent: true, Body: body(seq)})
				}
				if err := s.Apply(ctx, &b); err != nil {
					t.Fatal(err)
				}
			}
			s.lead <- struct{}{} // the writer's state, with no writer at work
			done := s.w.drop.Done()
			<-s.lead
			switch {
			case drop && done == 0:
				t.Fatal("nothing dropped after 20 MiB written")
			case !drop && done != 0:
				t.Fatalf("dropped up to %d with DropBehind off", done)
			}
			recs, err := s.Scan(ctx, "queue://drop", 0, 3, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 3 {
				t.Fatalf("scanned %d records, want 3", len(recs))
			}
			for _, r := range recs {
				if !bytes.Equal(r.Msg.Body, body(r.Seq)) {
					t.Fatalf("message %d read back with a different body", r.Seq)
				}
			}
		})
	}
}
