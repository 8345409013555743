package client

import (
	"testing"
	"time"
)

// TestForwardNamesTheProducer sends with Forward from two connections: the
// message id is the given producer and sequence, the timestamp is kept, and
// the broker drops a second send of a sequence it stored (a bridge's resend).
func TestForwardNamesTheProducer(t *testing.T) {
	addr := startPier(t)
	q := Queue("forward")
	k := consumer(t, session(t, dial(t, addr, Options{}), AutoAck), q)
	stamp := time.UnixMilli(1_700_000_000_000)
	for _, text := range []string{"one", "one again"} {
		p := producer(t, session(t, dial(t, addr, Options{}), AutoAck), q)
		m := NewTextMessage(text)
		m.Timestamp = stamp
		if err := p.Send(testCtx(t), m, Forward("ID:pier-bridge:ID:a:c", 7)); err != nil {
			t.Fatal(err)
		}
		if m.ID != "ID:pier-bridge:ID:a:c:0:0:7" {
			t.Fatalf("message id %q", m.ID)
		}
	}
	got := receiveText(t, k, "one")
	if !got.Timestamp.Equal(stamp) || got.ID != "ID:pier-bridge:ID:a:c:0:0:7" {
		t.Fatalf("received id %q timestamp %v", got.ID, got.Timestamp)
	}
	expectNone(t, k, 200*time.Millisecond)
}
