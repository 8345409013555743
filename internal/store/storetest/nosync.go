package storetest

import (
	"context"
	"testing"

	"github.com/piermq/pier/internal/store"
)

// testNoSync: a NoSync batch is applied and visible at once, and Close
// makes it durable.
func testNoSync(t *testing.T, e *env) {
	s := e.start(t, Options{})
	for seq := uint64(1); seq <= 3; seq++ {
		add(t, s, "queue://a", seq, textMsg("m"))
	}
	b := store.Batch{NoSync: true}
	b.Remove("queue://a", 1)
	b.Add("queue://a", 4, textMsg("lazy"))
	if err := s.Apply(context.Background(), &b); err != nil {
		t.Fatalf("Apply NoSync: %v", err)
	}
	wantSeqs(t, "before reopen", scanAll(t, s, "queue://a"), 2, 3, 4)
	s, _ = e.reopen(t, s)
	wantSeqs(t, "after reopen", scanAll(t, s, "queue://a"), 2, 3, 4)
}
