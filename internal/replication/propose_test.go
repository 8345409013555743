package replication

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/store"
)

// fakeRaft records the entries a proposer hands it; each apply blocks until
// the test releases it (when gate is set).
type fakeRaft struct {
	mu      sync.Mutex
	entries [][]byte
	gate    chan struct{} // nil: apply at once
	started chan struct{} // gets a value as each apply starts
	err     error
}

func (f *fakeRaft) apply(entry []byte) error {
	f.mu.Lock()
	f.entries = append(f.entries, entry)
	f.mu.Unlock()
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
	return f.err
}

// seqs decodes entry and returns the sequence numbers of its removes.
func seqs(t *testing.T, entry []byte) []uint64 {
	t.Helper()
	ops, err := decodeBatch(nil, entry)
	if err != nil {
		t.Fatalf("merged entry does not decode: %v", err)
	}
	var out []uint64
	for _, o := range ops {
		out = append(out, o.Seq)
	}
	return out
}

func removes(seqs ...uint64) []byte {
	var b store.Batch
	for _, s := range seqs {
		b.Remove("queue://q", s)
	}
	data, _, err := encodeBatch(&b)
	if err != nil {
		panic(err)
	}
	return data
}

func TestProposerMergesWhileInflight(t *testing.T) {
	f := &fakeRaft{gate: make(chan struct{}), started: make(chan struct{}, 16)}
	p := &proposer{apply: f.apply, maxBytes: 1 << 20, lazyDelay: time.Hour}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	wg.Go(func() { errs[0] = p.propose(removes(1), false) })
	<-f.started // entry 1 is in flight: the next batches wait for it
	for i := 1; i < 5; i++ {
		wg.Go(func() { errs[i] = p.propose(removes(uint64(10*i), uint64(10*i+1)), false) })
	}
	// All four must be pending before entry 1 completes.
	waitPending(p, 4)
	f.gate <- struct{}{}
	<-f.started
	f.gate <- struct{}{}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("batch %d: %v", i, err)
		}
	}
	if len(f.entries) != 2 {
		t.Fatalf("entries = %d, want 2 (one lone batch, then the four merged)", len(f.entries))
	}
	if got := seqs(t, f.entries[0]); !slices.Equal(got, []uint64{1}) {
		t.Errorf("entry 1 = %v", got)
	}
	got := seqs(t, f.entries[1])
	if len(got) != 8 {
		t.Fatalf("entry 2 = %v, want the 8 ops of the four batches", got)
	}
	// Each batch's ops stay together and in order.
	for i := 0; i < len(got); i += 2 {
		if got[i]%10 != 0 || got[i+1] != got[i]+1 {
			t.Errorf("entry 2 = %v: a batch was split or reordered", got)
		}
	}
}

func TestProposerLazyWaitsForCompany(t *testing.T) {
	f := &fakeRaft{}
	p := &proposer{apply: f.apply, maxBytes: 1 << 20, lazyDelay: time.Hour}
	done := make(chan error, 1)
	go func() { done <- p.propose(removes(1), true) }()
	waitPending(p, 1)
	if err := p.propose(removes(2), false); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(f.entries) != 1 || !slices.Equal(seqs(t, f.entries[0]), []uint64{1, 2}) {
		t.Fatalf("entries = %d (%v): the lazy batch should ride with the synced one, first", len(f.entries), f.entries)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil || p.due || len(p.pending) != 0 {
		t.Errorf("proposer not idle after: timer %v due %v pending %d", p.timer != nil, p.due, len(p.pending))
	}
}

func TestProposerLazyAloneGoesAfterDelay(t *testing.T) {
	f := &fakeRaft{}
	p := &proposer{apply: f.apply, maxBytes: 1 << 20, lazyDelay: time.Millisecond}
	for i := range 3 {
		if err := p.propose(removes(uint64(i)), true); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.entries) != 3 {
		t.Fatalf("entries = %d, want 3", len(f.entries))
	}
}

func TestProposerErrorReachesEveryBatch(t *testing.T) {
	boom := errors.New("boom")
	f := &fakeRaft{gate: make(chan struct{}), started: make(chan struct{}, 16), err: boom}
	p := &proposer{apply: f.apply, maxBytes: 1 << 20, lazyDelay: time.Hour}
	errs := make(chan error, 3)
	go func() { errs <- p.propose(removes(1), false) }()
	<-f.started
	go func() { errs <- p.propose(removes(2), true) }()
	go func() { errs <- p.propose(removes(3), false) }()
	waitPending(p, 2)
	close(f.gate)
	for range 3 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Errorf("err = %v, want boom", err)
		}
	}
}

func TestProposerSplitsAtMaxBytes(t *testing.T) {
	f := &fakeRaft{gate: make(chan struct{}), started: make(chan struct{}, 16)}
	one := removes(1)
	p := &proposer{apply: f.apply, maxBytes: 2 * len(one), lazyDelay: time.Hour}
	var wg sync.WaitGroup
	wg.Go(func() { p.propose(removes(0), false) })
	<-f.started
	for i := 1; i <= 5; i++ {
		wg.Go(func() { p.propose(removes(uint64(i)), false) })
	}
	waitPending(p, 5)
	close(f.gate)
	wg.Wait()
	var sizes []int
	total := 0
	for _, e := range f.entries {
		n := len(seqs(t, e))
		sizes = append(sizes, n)
		total += n
	}
	if total != 6 || slices.Max(sizes) > 2 {
		t.Fatalf("ops per entry = %v, want 6 ops, at most 2 per entry", sizes)
	}
}

func TestMergeEntriesLarge(t *testing.T) {
	// Op counts whose uvarint takes more than one byte.
	var list []*proposal
	var want []uint64
	for i := range 3 {
		var s []uint64
		for j := range 200 {
			s = append(s, uint64(1000*i+j))
		}
		want = append(want, s...)
		list = append(list, &proposal{data: removes(s...)})
	}
	if got := seqs(t, mergeEntries(list)); !slices.Equal(got, want) {
		t.Fatalf("merged %d ops, want %d in order", len(got), len(want))
	}
}

// waitPending waits until n batches wait in p.
func waitPending(p *proposer, n int) {
	for {
		p.mu.Lock()
		k := len(p.pending)
		p.mu.Unlock()
		if k == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// When recent entries carried three producers' batches, a lone one waits
// (up to gatherWait) for the other two, and the three share an entry.
func TestProposerGathersTheUsualCompany(t *testing.T) {
	f := &fakeRaft{}
	p := &proposer{apply: f.apply, maxBytes: 1 << 20, lazyDelay: time.Hour, gatherWait: time.Hour}
	p.sizes[0] = 3
	var wg sync.WaitGroup
	wg.Go(func() { p.propose(removes(1), false) })
	waitPending(p, 1)
	wg.Go(func() { p.propose(removes(2), false) })
	waitPending(p, 2)
	f.mu.Lock()
	started := len(f.entries)
	f.mu.Unlock()
	if started != 0 {
		t.Fatalf("%d entries started with 2 of the usual 3 batches waiting", started)
	}
	wg.Go(func() { p.propose(removes(3), false) })
	wg.Wait()
	if len(f.entries) != 1 || len(seqs(t, f.entries[0])) != 3 {
		t.Fatalf("entries %d (first of %d ops), want one of 3", len(f.entries), len(seqs(t, f.entries[0])))
	}
	// Alone for good: it goes once the wait is over.
	p.gatherWait = time.Millisecond
	if err := p.propose(removes(4), false); err != nil {
		t.Fatal(err)
	}
	if len(f.entries) != 2 {
		t.Fatalf("entries %d, want 2", len(f.entries))
	}
}
