// Package storetest is the conformance suite for store.Store: every
// implementation (the journal, the SQL store, the replicated store) runs Run
// against itself, so they all keep the same contract.
//
// Conventions the suite pins down where store.Store leaves room:
//   - the size of a message is len(message.Marshal(nil, m)); Scan's maxBytes
//     and DestState.Bytes count in that unit;
//   - Scan never returns more than maxBytes except that it always returns at
//     least one record when one exists;
//   - the size limit applies to live data: once messages are removed, adds
//     are accepted again;
//   - every method but Usage returns an error wrapping store.ErrClosed after
//     Close, Close included.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// Options configure a store under test.
type Options struct {
	// Limit is the size limit in bytes of live messages; 0 means none.
	Limit int64
}

// Harness gives the suite stores to test.
type Harness struct {
	// Fresh prepares a new, empty location and returns a function that opens
	// the store kept there. Every call of open must return a store over the
	// same data (a re-open); the suite closes the previous store first. Open
	// failures should end the test with t.Fatal.
	Fresh func(t *testing.T, opts Options) (open func(t *testing.T) store.Store)
	// NoLimit skips the size-limit tests, for stores that have none.
	NoLimit bool
	// NoMarks skips the Batch.Mark tests, for stores that set marks
	// themselves (the replicated store records its log index there).
	NoMarks bool
}

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"RecoverEmptyStore", testRecoverEmpty},
		{"AddThenScanReturnsMessagesInSeqOrder", testAddScan},
		{"RemoveDeletesAndAbsentRemoveIsFine", testRemove},
		{"AddAndRemoveInOneBatchApplyInOrder", testAddRemoveSameBatch},
		{"ScanPagingByAfterMaxAndMaxBytes", testScanPaging},
		{"MultiDestinationBatchIsAtomicAndDurable", testMultiDestBatch},
		{"SubscriptionsPutReplaceDeleteSurviveReopen", testSubscriptions},
		{"DeleteSubDeletesItsMessages", testDeleteSubMessages},
		{"LastSeqSurvivesReopen", testLastSeq},
		{"RecoverReportsDestCountsAndBytes", testRecoverDests},
		{"ConcurrentApplyAllDurableAndVisible", testConcurrentApply},
		{"ApplyRacingCloseKeepsEveryAcknowledgedBatch", testApplyRacingClose},
		{"SizeLimitRejectsAddsAcceptsRemoves", testLimit},
		{"CallsAfterCloseReturnErrClosed", testClosed},
		{"MessagesReturnedIntact", testFidelity},
		{"ScanResultsAreTheCallersToKeep", testScanCopies},
		{"NoSyncBatchVisibleAtOnceDurableAfterClose", testNoSync},
		{"ProducerSeqsAreHighWaterMarksThatSurviveReopen", testProducerSeqs},
		{"ProducerSeqsOutliveRemovedMessagesAndDeletedSubs", testProducerSeqsOutliveMessages},
		{"ProducerSeqsNotRaisedByRejectedBatch", testProducerSeqsRejectedBatch},
		{"ProducerSeqsRememberMinProducersMostRecent", testProducerSeqsBound},
		{"MarksAreHighWaterMarksThatSurviveReopen", testMarks},
		{"MarkOnlyBatchIsRecordedEmptyBatchIsNoOp", testMarkOnlyBatch},
		{"MarkNotRaisedByRejectedBatch", testMarkRejectedBatch},
		{"MarksOfConcurrentBatchesKeepTheHighest", testMarksConcurrent},
		{"MarksSurviveLongHistory", testMarksLongHistory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.name {
			case "SizeLimitRejectsAddsAcceptsRemoves", "ProducerSeqsNotRaisedByRejectedBatch", "MarkNotRaisedByRejectedBatch":
				if h.NoLimit {
					t.Skip("store has no size limit")
				}
			}
			if h.NoMarks && strings.Contains(tc.name, "Mark") {
				t.Skip("store keeps its own marks")
			}
			tc.fn(t, &env{h: h})
		})
	}
}

// env is one test's view of the harness.
type env struct {
	h    Harness
	open func(t *testing.T) store.Store
}

// start opens a fresh store and recovers it; the store is closed at the end
// of the test unless the test closed it.
func (e *env) start(t *testing.T, opts Options) store.Store {
	t.Helper()
	e.open = e.h.Fresh(t, opts)
	return e.recovered(t)
}

func (e *env) recovered(t *testing.T) store.Store {
	t.Helper()
	s := e.open(t)
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Recover(context.Background()); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	return s
}

// reopen closes s and opens the same location again; it returns the new
// store and what it recovered.
func (e *env) reopen(t *testing.T, s store.Store) (store.Store, *store.State) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = e.open(t)
	t.Cleanup(func() { _ = s.Close() })
	st, err := s.Recover(context.Background())
	if err != nil {
		t.Fatalf("Recover after reopen: %v", err)
	}
	return s, st
}

func msg(id string, body []byte) *message.Message {
	return &message.Message{
		ID: id, Dest: message.Destination{Kind: message.Queue, Name: "q"},
		Persistent: true, Priority: message.DefaultPriority, BodyKind: message.Bytes, Body: body,
	}
}

func textMsg(id string) *message.Message { return msg(id, []byte("body of "+id)) }

func size(t *testing.T, m *message.Message) int64 {
	t.Helper()
	b, err := message.Marshal(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b))
}

func apply(t *testing.T, s store.Store, b *store.Batch) {
	t.Helper()
	if err := s.Apply(context.Background(), b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func add(t *testing.T, s store.Store, dest string, seq uint64, m *message.Message) {
	t.Helper()
	var b store.Batch
	b.Add(dest, seq, m)
	apply(t, s, &b)
}

func scan(t *testing.T, s store.Store, dest string, after uint64, max int, maxBytes int64) []store.Record {
	t.Helper()
	recs, err := s.Scan(context.Background(), dest, after, max, maxBytes)
	if err != nil {
		t.Fatalf("Scan(%q, %d, %d, %d): %v", dest, after, max, maxBytes, err)
	}
	return recs
}

// scanAll returns every record of dest.
func scanAll(t *testing.T, s store.Store, dest string) []store.Record {
	t.Helper()
	return scan(t, s, dest, 0, 1<<30, 1<<50)
}

func seqs(recs []store.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func wantSeqs(t *testing.T, what string, recs []store.Record, want ...uint64) {
	t.Helper()
	got := seqs(recs)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		if len(want) == 0 && len(got) == 0 {
			return
		}
		t.Fatalf("%s: seqs %v, want %v", what, got, want)
	}
}

// sameMessage compares messages through their canonical encoding, which
// covers every field.
func sameMessage(t *testing.T, what string, got, want *message.Message) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil message", what)
	}
	g, err1 := message.Marshal(nil, got)
	w, err2 := message.Marshal(nil, want)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: marshal: %v %v", what, err1, err2)
	}
	if !bytes.Equal(g, w) {
		t.Fatalf("%s: message differs:\n got %+v\nwant %+v", what, got, want)
	}
}

func findDest(st *store.State, dest string) (store.DestState, bool) {
	for _, d := range st.Dests {
		if d.Dest == dest {
			return d, true
		}
	}
	return store.DestState{}, false
}
