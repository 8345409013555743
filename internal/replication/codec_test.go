package replication

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

func sampleBatch() *store.Batch {
	var b store.Batch
	b.Add("queue://a", 7, &message.Message{ID: "m1", Dest: message.Destination{Kind: message.Queue, Name: "a"},
		Persistent: true, Priority: 4, Properties: map[string]any{"k": "v", "n": int32(3)}, Body: []byte("hello"),
		ProducerID: "p", ProducerSeq: 9})
	b.Remove("queue://a", 3)
	b.PutSub(store.Subscription{ClientID: "c", Name: "s", Topic: "t.>", Selector: "x > 1", NoLocal: true, Dest: "durable://c/s"})
	b.DeleteSub(store.Subscription{ClientID: "c", Name: "old", Dest: "durable://c/old"})
	return &b
}

func TestCodecRoundTrip(t *testing.T) {
	b := sampleBatch()
	data, add, err := encodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if add <= 0 {
		t.Fatalf("add bytes %d", add)
	}
	ops, err := decodeBatch(nil, data)
	if err != nil {
		t.Fatal(err)
	}
	// Messages come back encoded (Raw), as the journal stores them.
	for i := range ops {
		if ops[i].Kind != store.OpAdd {
			continue
		}
		if ops[i].Msg != nil || ops[i].Raw == nil {
			t.Fatalf("op %d: an add decodes to Raw only", i)
		}
		m, err := message.Unmarshal(ops[i].Raw)
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		ops[i].Msg, ops[i].Raw = m, nil
	}
	if !reflect.DeepEqual(ops, b.Ops) {
		t.Fatalf("decoded %+v\nwant %+v", ops, b.Ops)
	}
	// Every truncation is refused, never accepted or panicking.
	for i := 0; i < len(data); i++ {
		if _, err := decodeBatch(nil, data[:i]); err == nil {
			t.Fatalf("truncated entry of %d bytes accepted", i)
		}
	}
	if _, err := decodeBatch(nil, append(bytes.Clone(data), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	if _, _, err := encodeBatch(&store.Batch{Ops: []store.Op{{Kind: store.OpAdd, Dest: "x"}}}); err == nil {
		t.Fatal("add without a message encoded")
	}
}

// FuzzDecodeBatch: any bytes either decode to ops that re-encode to the
// same bytes, or are refused; nothing panics.
func FuzzDecodeBatch(f *testing.F) {
	data, _, err := encodeBatch(sampleBatch())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{entryV1, 0})
	f.Add([]byte{2, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		ops, err := decodeBatch(nil, p)
		if err != nil {
			return
		}
		again, _, err := encodeBatch(&store.Batch{Ops: ops})
		if err != nil {
			t.Fatalf("decoded ops do not encode: %v", err)
		}
		ops2, err := decodeBatch(nil, again)
		if err != nil || !reflect.DeepEqual(ops, ops2) {
			t.Fatalf("re-encoded entry decodes differently (%v)", err)
		}
	})
}
