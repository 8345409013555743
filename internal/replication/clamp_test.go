package replication

import (
	"context"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/journal"
	"github.com/piermq/pier/internal/store/vfs"
)

// fakePipeline records the requests it is given.
type fakePipeline struct {
	raft.AppendPipeline
	got []*raft.AppendEntriesRequest
}

func (p *fakePipeline) AppendEntries(args *raft.AppendEntriesRequest, _ *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	p.got = append(p.got, args)
	return nil, nil
}

// Followers are never told a commit index beyond what the leader has synced.
func TestClampHoldsTheCommitIndexToTheSyncedLog(t *testing.T) {
	durable := uint64(10)
	tr := clampTransport{durable: func() uint64 { return durable }}
	fp := &fakePipeline{}
	p := clampPipeline{fp, tr}
	for _, tc := range []struct{ commit, durable, want uint64 }{{5, 10, 5}, {10, 10, 10}, {15, 10, 10}, {15, 20, 15}} {
		durable = tc.durable
		p.AppendEntries(&raft.AppendEntriesRequest{LeaderCommitIndex: tc.commit}, nil)
		if got := fp.got[len(fp.got)-1].LeaderCommitIndex; got != tc.want {
			t.Errorf("commit %d, durable %d: sent %d, want %d", tc.commit, tc.durable, got, tc.want)
		}
	}
}

// The state machine applies nothing before the Raft log has it synced, and
// nothing at all once the log failed or closed first.
func TestFSMWaitsForTheSyncedLog(t *testing.T) {
	ctx := context.Background()
	f, err := openFSM(ctx, "/j", vfs.NewMemFS(), journal.Options{WriteNoSyncAtOnce: true}, testLog(t), testLog(t), func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	synced := make(chan uint64, 1)
	release := make(chan bool)
	f.waitDurable = func(index uint64) bool {
		synced <- index
		return <-release
	}
	entry := func(i uint64) *raft.Log {
		var b store.Batch
		b.Add("queue://q", i, msg(int(i)))
		data, _, err := encodeBatch(&b)
		if err != nil {
			t.Fatal(err)
		}
		return &raft.Log{Index: i, Type: raft.LogCommand, Data: data}
	}
	done := make(chan []any)
	go func() { done <- f.ApplyBatch([]*raft.Log{entry(1), entry(2)}) }()
	if got := <-synced; got != 2 {
		t.Fatalf("waited for index %d, want 2 (the batch's last)", got)
	}
	if n := count(t, f); n != 0 {
		t.Fatalf("%d messages applied before the log was synced", n)
	}
	release <- true
	for i, r := range <-done {
		if r != nil {
			t.Fatalf("entry %d: %v", i+1, r)
		}
	}
	if n := count(t, f); n != 2 {
		t.Fatalf("%d messages applied, want 2", n)
	}
	go func() { done <- f.ApplyBatch([]*raft.Log{entry(3)}) }()
	<-synced
	release <- false // the log closed first
	if r := (<-done)[0]; r == nil {
		t.Fatal("an entry the log never synced was applied")
	}
	f.waitDurable = func(index uint64) bool {
		t.Errorf("asked the log again (index %d) after it failed", index)
		return true
	}
	if r := f.ApplyBatch([]*raft.Log{entry(4)}); r[0] == nil || count(t, f) != 2 {
		t.Fatal("the state machine went on applying after the log failed under it")
	}
}

// count returns the messages of queue://q in the state machine's journal.
func count(t *testing.T, f *fsm) int {
	t.Helper()
	recs, err := f.journal().Scan(context.Background(), "queue://q", 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}
