package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/piermq/pier/internal/store"
)

func wantMark(t *testing.T, when string, st *store.State, want uint64) {
	t.Helper()
	if st.Mark != want {
		t.Fatalf("%s: Mark %d, want %d", when, st.Mark, want)
	}
}

// testMarks: State.Mark is the highest Batch.Mark applied, not the last;
// a batch without a mark leaves it alone; a batch with a lower mark is
// still applied; marks of NoSync batches are made durable by Close.
func testMarks(t *testing.T, e *env) {
	s := e.start(t, Options{})
	b := store.Batch{Mark: 3}
	b.Add("queue://a", 1, textMsg("1"))
	apply(t, s, &b)
	add(t, s, "queue://a", 2, textMsg("2")) // no mark
	s, st := e.reopen(t, s)
	wantMark(t, "after a batch without a mark", st, 3)

	b = store.Batch{Mark: 10}
	b.Remove("queue://a", 1)
	apply(t, s, &b)
	b = store.Batch{Mark: 7}
	b.Add("queue://a", 3, textMsg("3"))
	apply(t, s, &b)
	s, st = e.reopen(t, s)
	wantMark(t, "after a lower mark", st, 10)
	wantSeqs(t, "the batch with a lower mark", scanAll(t, s, "queue://a"), 2, 3)

	b = store.Batch{Mark: 12, NoSync: true}
	b.Remove("queue://a", 2)
	apply(t, s, &b)
	s, st = e.reopen(t, s)
	wantMark(t, "after a NoSync batch", st, 12)
	_, st = e.reopen(t, s)
	wantMark(t, "after a second reopen", st, 12)
}

// testMarkOnlyBatch: a batch with a mark and no ops records the mark and
// changes nothing else; a batch with neither is a no-op.
func testMarkOnlyBatch(t *testing.T, e *env) {
	s := e.start(t, Options{})
	add(t, s, "queue://a", 1, textMsg("1"))
	apply(t, s, &store.Batch{Mark: 5})
	apply(t, s, &store.Batch{})
	s, st := e.reopen(t, s)
	wantMark(t, "after a mark-only batch", st, 5)
	if st.LastSeq != 1 || len(st.Dests) != 1 || st.Dests[0].Count != 1 || len(st.Subscriptions) != 0 {
		t.Fatalf("a mark-only batch changed the state: %+v", st)
	}
	apply(t, s, &store.Batch{Mark: 4})
	s, st = e.reopen(t, s)
	wantMark(t, "after a lower mark-only batch", st, 5)
	apply(t, s, &store.Batch{Mark: math.MaxUint64})
	s, st = e.reopen(t, s)
	wantMark(t, "after the largest mark", st, math.MaxUint64)
	wantSeqs(t, "messages", scanAll(t, s, "queue://a"), 1)
}

// testMarkRejectedBatch: a batch that Apply rejects records no mark; a
// mark-only batch adds no data, so a full store accepts it.
func testMarkRejectedBatch(t *testing.T, e *env) {
	m := textMsg("big")
	s := e.start(t, Options{Limit: size(t, m) + 10})
	b := store.Batch{Mark: 2}
	b.Add("queue://a", 1, m)
	apply(t, s, &b)
	b = store.Batch{Mark: 9}
	b.Add("queue://a", 2, textMsg("big"))
	if err := s.Apply(context.Background(), &b); !errors.Is(err, store.ErrFull) {
		t.Fatalf("Apply over the limit: %v, want ErrFull", err)
	}
	s, st := e.reopen(t, s)
	wantMark(t, "after a rejected batch", st, 2)
	apply(t, s, &store.Batch{Mark: 4})
	_, st = e.reopen(t, s)
	wantMark(t, "after a mark-only batch in a full store", st, 4)
}

// testMarksConcurrent: batches applied concurrently (and grouped however
// the store likes) leave the highest mark, whatever order they land in.
func testMarksConcurrent(t *testing.T, e *env) {
	s := e.start(t, Options{})
	const workers, perWorker = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				seq := uint64(i*workers + w + 1)
				b := store.Batch{Mark: seq}
				if seq%3 != 0 {
					b.Add("queue://m", seq, textMsg(fmt.Sprint(seq)))
				}
				if err := s.Apply(context.Background(), &b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Apply: %v", err)
	}
	_, st := e.reopen(t, s)
	wantMark(t, "after concurrent batches", st, workers*perWorker)
}

// testMarksLongHistory: marks survive a history long enough for a store
// to checkpoint, garbage collect or compact (the journal does with the
// suite's small segments), including after every record that carried the
// highest mark is dead.
func testMarksLongHistory(t *testing.T, e *env) {
	s := e.start(t, Options{})
	body := make([]byte, 8<<10)
	const n = 120
	for seq := uint64(1); seq <= n; seq++ {
		b := store.Batch{Mark: 2 * seq}
		b.Add("queue://h", seq, msg(fmt.Sprint(seq), body))
		if seq > 1 {
			b.Remove("queue://h", seq-1)
		}
		apply(t, s, &b)
		if seq%8 == 0 {
			apply(t, s, &store.Batch{Mark: 2*seq + 1})
		}
	}
	apply(t, s, &store.Batch{Mark: 1})
	const want = 2*n + 1
	s, st := e.reopen(t, s)
	wantMark(t, "after a long history", st, want)
	wantSeqs(t, "after a long history", scanAll(t, s, "queue://h"), n)

	// More history without marks: what carried the mark becomes garbage.
	for seq := uint64(n + 1); seq <= n+40; seq++ {
		var b store.Batch
		b.Add("queue://h", seq, msg(fmt.Sprint(seq), body))
		b.Remove("queue://h", seq-1)
		apply(t, s, &b)
	}
	s, st = e.reopen(t, s)
	wantMark(t, "after history without marks", st, want)
	_, st = e.reopen(t, s)
	wantMark(t, "after a second reopen", st, want)
}
