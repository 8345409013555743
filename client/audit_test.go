package client

import (
	"testing"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

func TestAuditRecognisesConsumedMessages(t *testing.T) {
	var a audit
	id := func(p string, seq int64) *wire.MessageID {
		return &wire.MessageID{ProducerID: &wire.ProducerID{ConnectionID: p, SessionID: 1, Value: 1}, ProducerSequenceID: seq}
	}
	for seq := int64(1); seq <= 10; seq += 2 {
		a.consumed(id("a", seq))
	}
	for seq := int64(1); seq <= 10; seq++ {
		if got, want := a.duplicate(id("a", seq)), seq%2 == 1; got != want {
			t.Errorf("seq %d: duplicate=%v want %v", seq, got, want)
		}
	}
	if a.duplicate(id("b", 1)) {
		t.Error("another producer's message taken for a duplicate")
	}
	// The window slides: old sequence numbers are forgotten, not misread.
	a.consumed(id("a", 10+auditWindow))
	if a.duplicate(id("a", 9)) {
		t.Error("a sequence number below the window reported as a duplicate")
	}
	if !a.duplicate(id("a", 10+auditWindow)) || a.duplicate(id("a", 9+auditWindow)) {
		t.Error("window after sliding is wrong")
	}
	if a.duplicate(&wire.MessageID{TextView: "ID:x"}) {
		t.Error("a message without producer id taken for a duplicate")
	}
}
