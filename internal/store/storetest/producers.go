package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// producerMsg is a small message sent by producer id with sequence pseq.
func producerMsg(id string, pseq int64) *message.Message {
	m := textMsg(fmt.Sprintf("%s:%d", id, pseq))
	m.ProducerID, m.ProducerSeq = id, pseq
	return m
}

func wantProducers(t *testing.T, when string, st *store.State, want map[string]int64) {
	t.Helper()
	if !maps.Equal(st.ProducerSeqs, want) {
		t.Fatalf("%s: ProducerSeqs %v, want %v", when, st.ProducerSeqs, want)
	}
}

// testProducerSeqs: a producer's mark is the highest ProducerSeq it added,
// across destinations and batches; adds without a producer id or with a
// sequence <= 0 set nothing; a lower sequence added later does not lower
// the mark.
func testProducerSeqs(t *testing.T, e *env) {
	s := e.start(t, Options{})
	var b store.Batch
	b.Add("queue://a", 1, producerMsg("ID:p-1:1:1", 1))
	b.Add("queue://b", 2, producerMsg("ID:p-1:1:1", 3))
	b.Add("queue://a", 3, producerMsg("ID:p-1:1:1", 2))
	b.Add("queue://b", 4, producerMsg("ID:p-2:1:1", 7))
	b.Add("queue://b", 5, producerMsg("", 9))
	b.Add("queue://b", 6, producerMsg("ID:zero", 0))
	b.Add("queue://b", 7, producerMsg("ID:negative", -4))
	apply(t, s, &b)
	add(t, s, "queue://a", 8, producerMsg("ID:p-2:1:1", 8))
	s, st := e.reopen(t, s)
	want := map[string]int64{"ID:p-1:1:1": 3, "ID:p-2:1:1": 8}
	wantProducers(t, "after reopen", st, want)

	add(t, s, "queue://b", 9, producerMsg("ID:p-1:1:1", 1)) // lower: no change
	add(t, s, "queue://a", 10, producerMsg("ID:p-3:1:1", 1))
	want["ID:p-3:1:1"] = 1
	s, st = e.reopen(t, s)
	wantProducers(t, "after a lower sequence", st, want)
	_, st = e.reopen(t, s)
	wantProducers(t, "after a second reopen", st, want)
}

// testProducerSeqsOutliveMessages: removing every message of a producer,
// or deleting the durable subscription that held them, keeps its mark.
func testProducerSeqsOutliveMessages(t *testing.T, e *env) {
	s := e.start(t, Options{})
	d := sub("client", "durable")
	var b store.Batch
	b.PutSub(d)
	for seq := uint64(1); seq <= 3; seq++ {
		b.Add("queue://a", seq, producerMsg("ID:q", int64(seq)))
	}
	b.Add(d.Dest, 4, producerMsg("ID:t", 40))
	apply(t, s, &b)
	b = store.Batch{}
	for seq := uint64(1); seq <= 3; seq++ {
		b.Remove("queue://a", seq)
	}
	b.DeleteSub(d)
	apply(t, s, &b)
	want := map[string]int64{"ID:q": 3, "ID:t": 40}
	s, st := e.reopen(t, s)
	if len(st.Dests) != 0 || len(st.Subscriptions) != 0 {
		t.Fatalf("recovered %+v, want no messages and no subscriptions", st)
	}
	wantProducers(t, "after removing every message", st, want)
	_, st = e.reopen(t, s)
	wantProducers(t, "after a second reopen", st, want)
}

// testProducerSeqsRejectedBatch: a batch that Apply rejects sets no mark.
func testProducerSeqsRejectedBatch(t *testing.T, e *env) {
	m := producerMsg("ID:big", 5)
	s := e.start(t, Options{Limit: size(t, m) + 10})
	add(t, s, "queue://a", 1, producerMsg("ID:big", 1))
	var b store.Batch
	b.Add("queue://a", 2, producerMsg("ID:big", 5))
	b.Add("queue://a", 3, producerMsg("ID:other", 5))
	if err := s.Apply(context.Background(), &b); !errors.Is(err, store.ErrFull) {
		t.Fatalf("Apply over the limit: %v, want ErrFull", err)
	}
	_, st := e.reopen(t, s)
	wantProducers(t, "after a rejected batch", st, map[string]int64{"ID:big": 1})
}

// testProducerSeqsBound: of more than store.MinProducers producers, the
// store remembers (at least) the MinProducers most recently written, by
// write and not by first sighting.
func testProducerSeqsBound(t *testing.T, e *env) {
	if testing.Short() {
		t.Skip("writes 65,538 messages")
	}
	s := e.start(t, Options{})
	const n = store.MinProducers
	id := func(i int) string { return fmt.Sprintf("ID:p-%d:1:1", i) }
	seq := uint64(0)
	var b store.Batch
	flush := func() {
		apply(t, s, &b)
		b = store.Batch{}
	}
	for i := 0; i < n; i++ {
		seq++
		b.Add("queue://many", seq, &message.Message{ProducerID: id(i), ProducerSeq: int64(i + 1)})
		if len(b.Ops) == 4096 {
			flush()
		}
	}
	flush()
	// Producer 0 writes again, then one new producer comes: producer 1 is
	// now the least recently written and the only one that may go.
	seq++
	add(t, s, "queue://many", seq, &message.Message{ProducerID: id(0), ProducerSeq: 1 << 40})
	seq++
	add(t, s, "queue://many", seq, &message.Message{ProducerID: id(n), ProducerSeq: 7})
	_, st := e.reopen(t, s)
	if len(st.ProducerSeqs) < n {
		t.Fatalf("remembers %d producers, want at least %d", len(st.ProducerSeqs), n)
	}
	check := func(i int, want int64) {
		if got, ok := st.ProducerSeqs[id(i)]; !ok || got != want {
			t.Fatalf("producer %d: mark %d (remembered %v), want %d", i, got, ok, want)
		}
	}
	check(0, 1<<40)
	check(n, 7)
	for i := 2; i < n; i++ {
		check(i, int64(i+1))
	}
}
