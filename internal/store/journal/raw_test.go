package journal

import (
	"context"
	"reflect"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// An add that carries its message encoded (store.Op.Raw, as a replica
// applying a log entry has it) is stored as it is: read back it is the
// same message, its producer is tracked, and it survives a reopen; bytes
// that are not an encoded message are refused.
func TestApplyRawMessage(t *testing.T) {
	ctx := context.Background()
	fsys := vfs.NewMemFS()
	s := open(t, fsys, Options{})
	m := payload(1, 300)
	m.ProducerID, m.ProducerSeq = "prod-1", 41
	raw, err := message.Marshal(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, &store.Batch{Ops: []store.Op{{Kind: store.OpAdd, Dest: "queue://a", Seq: 1, Raw: raw}}})
	bad := store.Batch{Ops: []store.Op{{Kind: store.OpAdd, Dest: "queue://a", Seq: 2, Raw: []byte{0xff, 1, 2}}}}
	if err := s.Apply(ctx, &bad); err == nil {
		t.Fatal("an add whose Raw is not an encoded message was accepted")
	}
	check := func(when string) {
		recs, err := s.Scan(ctx, "queue://a", 0, 10, 0)
		if err != nil || len(recs) != 1 || !reflect.DeepEqual(recs[0].Msg, m) {
			t.Fatalf("%s: Scan = %v, %v; want the message back", when, recs, err)
		}
		st, err := s.Recover(ctx)
		if err != nil || st.ProducerSeqs["prod-1"] != 41 {
			t.Fatalf("%s: producer marks %v, %v; want prod-1 at 41", when, st.ProducerSeqs, err)
		}
	}
	check("applied")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, fsys, Options{})
	defer s.Close()
	check("reopened")
}
