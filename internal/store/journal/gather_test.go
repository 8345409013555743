package journal

import (
	"testing"
	"time"
)

// A consumer's acknowledgements (NoSync batches) arriving beside one
// producer must not make the writer hold that producer's later batches
// open for a second synced writer that does not exist; two synced writers
// seen do make a lone one wait for company (GroupWait).
func TestGatherCountsSyncedWriters(t *testing.T) {
	s := &Store{reqs: make(chan *request, 4)}
	s.opts.GroupWait = time.Hour // a wait would hang the test
	s.opts.MaxGroupBytes = 1 << 20
	for range 40 {
		s.reqs <- &request{noSync: true}
		if g := s.gather(&request{}); len(g) != 2 {
			t.Fatalf("group of %d, want the producer's batch and the acknowledgements", len(g))
		}
	}
	got := make(chan int, 1)
	go func() { got <- len(s.gather(&request{})) }()
	select {
	case n := <-got:
		if n != 1 {
			t.Fatalf("group of %d, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone synced batch was held open for a second synced writer that never existed")
	}

	// Now two producers: a lone synced batch waits for the other.
	for range 40 {
		s.reqs <- &request{}
		s.gather(&request{})
	}
	go func() { got <- len(s.gather(&request{})) }()
	time.Sleep(10 * time.Millisecond) // let the writer reach its wait (the order does not change the outcome)
	s.reqs <- &request{}
	if n := <-got; n != 2 {
		t.Fatalf("group of %d, want 2: the writer should have waited for the second producer", n)
	}
}

// A group of acknowledgements alone (NoSync batches) is never held open
// for a synced writer, however many recent groups had: nobody waits for
// its sync, and the consumer that applies it would wait for a producer
// that may itself be waiting for its receipt.
func TestGatherNeverHoldsNoSyncAlone(t *testing.T) {
	s := &Store{reqs: make(chan *request, 4)}
	s.opts.GroupWait = time.Hour // a wait would hang the test
	s.opts.MaxGroupBytes = 1 << 20
	for range 40 { // two producers a group: peak 2
		s.reqs <- &request{}
		s.gather(&request{})
	}
	got := make(chan int, 1)
	go func() { got <- len(s.gather(&request{noSync: true})) }()
	select {
	case n := <-got:
		if n != 1 {
			t.Fatalf("group of %d, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an acknowledgement alone was held open for a synced writer")
	}
}
