package replication

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/storetest"
)

func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("PIER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// group is an in-process replica group with fast timing.
type group struct {
	t     testing.TB
	ids   []string
	peers map[string]string
	dirs  map[string]string
	nodes map[string]*Node
	tweak func(*Config)
}

func newGroup(t testing.TB, n int, tweak func(*Config)) *group {
	g := &group{t: t, peers: map[string]string{}, dirs: map[string]string{}, nodes: map[string]*Node{}, tweak: tweak}
	for i := range n {
		id := fmt.Sprintf("n%d", i+1)
		g.ids = append(g.ids, id)
		g.peers[id] = freeAddr(t)
		g.dirs[id] = t.TempDir()
	}
	for _, id := range g.ids {
		g.start(id)
	}
	t.Cleanup(func() {
		for _, n := range g.nodes {
			n.Close()
		}
	})
	return g
}

func (g *group) start(id string) *Node {
	g.t.Helper()
	cfg := Config{
		NodeID: id, Bind: g.peers[id], Peers: g.peers, Dir: g.dirs[id], ClientURL: "tcp://" + id + ":61616",
		HeartbeatTimeout: 150 * time.Millisecond, ElectionTimeout: 150 * time.Millisecond, LeaderLeaseTimeout: 100 * time.Millisecond,
		Log: testLog(g.t).With("node", id),
	}
	if g.tweak != nil {
		g.tweak(&cfg)
	}
	n, err := Open(context.Background(), cfg)
	if err != nil {
		g.t.Fatalf("Open %s: %v", id, err)
	}
	g.nodes[id] = n
	return n
}

func (g *group) stop(id string) {
	g.t.Helper()
	if err := g.nodes[id].Close(); err != nil {
		g.t.Logf("close %s: %v", id, err)
	}
	delete(g.nodes, id)
}

// master waits for a leader that is ready to serve and returns it.
func (g *group) master() (string, *Node) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	type res struct {
		id string
		n  *Node
	}
	ch := make(chan res, len(g.nodes))
	for id, n := range g.nodes {
		go func() {
			if _, err := n.Await(ctx); err == nil {
				ch <- res{id, n}
			}
		}()
	}
	select {
	case r := <-ch:
		return r.id, r.n
	case <-ctx.Done():
		g.t.Fatal("no master within 15s")
		return "", nil
	}
}

func msg(i int) *message.Message {
	return &message.Message{
		ID: fmt.Sprintf("id-%d", i), Dest: message.Destination{Kind: message.Queue, Name: "q"},
		Persistent: true, Body: []byte(fmt.Sprintf("body %d", i)), ProducerID: "p1", ProducerSeq: int64(i),
	}
}

func addN(t *testing.T, st store.Store, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		var b store.Batch
		b.Add("queue://q", uint64(i), msg(i))
		if err := st.Apply(context.Background(), &b); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
}

// content is what a journal holds, for comparing replicas.
func content(t testing.TB, n *Node) (*store.State, map[string][]uint64) {
	t.Helper()
	js := n.fsm.journal()
	st, err := js.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[string][]uint64{}
	for _, d := range st.Dests {
		recs, err := js.Scan(context.Background(), d.Dest, 0, 1<<20, 1<<40)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			seqs[d.Dest] = append(seqs[d.Dest], r.Seq)
		}
	}
	st.Mark = 0 // differs legitimately between replicas
	return st, seqs
}

// converged waits until every running replica holds what want holds.
func (g *group) converged(want *Node) {
	g.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		wst, wseqs := content(g.t, want)
		ok := true
		var diff string
		for id, n := range g.nodes {
			st, seqs := content(g.t, n)
			if !reflect.DeepEqual(st, wst) || !reflect.DeepEqual(seqs, wseqs) {
				ok = false
				diff = fmt.Sprintf("%s: state %+v seqs %d dests, want %+v, %d dests", id, st, len(seqs), wst, len(wseqs))
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("replicas did not converge: %s", diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGroupReplicatesAndFailsOver(t *testing.T) {
	g := newGroup(t, 3, nil)
	id, m := g.master()
	addN(t, m.Store(), 1, 101)
	var b store.Batch
	b.Remove("queue://q", 1)
	b.PutSub(store.Subscription{ClientID: "c", Name: "s", Topic: "t", Dest: "durable://c/s"})
	if err := m.Store().Apply(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	g.converged(m)

	// Followers refuse writes.
	for fid, n := range g.nodes {
		if fid == id {
			continue
		}
		var b store.Batch
		b.Add("queue://q", 1000, msg(1000))
		if err := n.Store().Apply(context.Background(), &b); err == nil {
			t.Fatalf("follower %s accepted a write", fid)
		}
	}

	g.stop(id)
	id2, m2 := g.master()
	if id2 == id {
		t.Fatal("stopped node is master")
	}
	st, err := m2.Store().Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Subscriptions) != 1 || st.LastSeq != 100 || st.ProducerSeqs["p1"] != 100 {
		t.Fatalf("new master's state: %+v", st)
	}
	recs, err := m2.Store().Scan(context.Background(), "queue://q", 0, 1000, 1<<30)
	if err != nil || len(recs) != 99 || recs[0].Seq != 2 {
		t.Fatalf("new master holds %d messages (err %v)", len(recs), err)
	}
	addN(t, m2.Store(), 101, 151)

	// The old master comes back as a follower and catches up.
	g.start(id)
	g.converged(m2)
}

func TestQuorumLossStopsWritesAndRecovers(t *testing.T) {
	g := newGroup(t, 3, nil)
	id, m := g.master()
	addN(t, m.Store(), 1, 11)
	term, err := m.Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for o := range g.nodes {
		if o != id {
			others = append(others, o)
		}
	}
	for _, o := range others {
		g.stop(o)
	}
	select {
	case <-term.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a master without quorum still serves after 5s")
	}
	var b store.Batch
	b.Add("queue://q", 11, msg(11))
	if err := m.Store().Apply(context.Background(), &b); err == nil {
		t.Fatal("a write without quorum succeeded")
	}
	g.start(others[0])
	_, m2 := g.master()
	recs, err := m2.Store().Scan(context.Background(), "queue://q", 0, 1000, 1<<30)
	if err != nil || len(recs) < 10 {
		t.Fatalf("after recovery: %d messages, err %v", len(recs), err)
	}
	addN(t, m2.Store(), 12, 20)
}

func TestWipedReplicaRebuiltFromSnapshot(t *testing.T) {
	g := newGroup(t, 3, func(c *Config) {
		c.SnapshotThreshold = 20
		c.SnapshotInterval = 50 * time.Millisecond
		c.TrailingLogs = 5
	})
	id, m := g.master()
	var victim string
	for o := range g.nodes {
		if o != id {
			victim = o
			break
		}
	}
	addN(t, m.Store(), 1, 51)
	g.stop(victim)
	addN(t, m.Store(), 51, 201)
	var b store.Batch
	for i := 1; i < 100; i++ {
		b.Remove("queue://q", uint64(i))
	}
	b.PutSub(store.Subscription{ClientID: "c", Name: "s", Topic: "t", Dest: "durable://c/s"})
	b.Add("durable://c/s", 500, msg(500))
	if err := m.Store().Apply(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	// Wait until the leader compacted its log past what the victim has.
	deadline := time.Now().Add(10 * time.Second)
	for {
		first, _ := m.logs.FirstIndex()
		if first > 60 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader log not compacted (first index %d)", first)
		}
		addN(t, m.Store(), 1000, 1001) // more entries to trigger snapshots
		time.Sleep(60 * time.Millisecond)
	}
	if err := os.RemoveAll(g.dirs[victim]); err != nil {
		t.Fatal(err)
	}
	v := g.start(victim)
	g.converged(m)
	if l, err := v.snaps.List(); err != nil || len(l) == 0 {
		t.Fatalf("the wiped replica was not sent a snapshot (%v)", err)
	}

	// The rebuilt replica alone with one other must hold everything.
	g.stop(id)
	_, m2 := g.master()
	st, seqs := content(t, m2)
	if len(st.Subscriptions) != 1 || len(seqs["queue://q"]) < 101 || st.ProducerSeqs["p1"] < 500 {
		t.Fatalf("state after the rebuild: %+v, %d queued", st, len(seqs["queue://q"]))
	}
}

func TestJournalBehindSnapshotIsRestoredLocally(t *testing.T) {
	g := newGroup(t, 1, func(c *Config) {
		c.SnapshotThreshold = 10
		c.SnapshotInterval = 50 * time.Millisecond
		c.TrailingLogs = 2
	})
	_, m := g.master()
	addN(t, m.Store(), 1, 60)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l, _ := m.snaps.List(); len(l) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot taken")
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.stop("n1")
	if err := os.RemoveAll(filepath.Join(g.dirs["n1"], "journal")); err != nil {
		t.Fatal(err)
	}
	n := g.start("n1")
	if _, err := n.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := n.Store().Scan(context.Background(), "queue://q", 0, 1000, 1<<30)
	if err != nil || len(recs) != 59 {
		t.Fatalf("after the local restore: %d messages, err %v", len(recs), err)
	}
}

// TestConformance runs the store suite against a one-replica group.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		NoMarks: true,
		Fresh: func(t *testing.T, o storetest.Options) func(t *testing.T) store.Store {
			dir, addr := t.TempDir(), freeAddr(t)
			return func(t *testing.T) store.Store {
				n, err := Open(context.Background(), Config{
					NodeID: "n1", Bind: addr, Peers: map[string]string{"n1": addr}, Dir: dir, SizeLimit: o.Limit,
					HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond, LeaderLeaseTimeout: 50 * time.Millisecond,
					Log: testLog(t),
				})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := n.Await(ctx); err != nil {
					t.Fatalf("Await: %v", err)
				}
				return n.Store()
			}
		},
	})
}

// TestFiveReplicasTolerateTwoFailures: a group of five keeps a master with
// two replicas down (and loses nothing), and has none with three down.
func TestFiveReplicasTolerateTwoFailures(t *testing.T) {
	g := newGroup(t, 5, nil)
	id, m := g.master()
	addN(t, m.Store(), 1, 21)
	g.stop(id)
	var down []string
	for o := range g.nodes {
		if len(down) == 1 {
			break
		}
		down = append(down, o)
	}
	g.stop(down[0])
	_, m2 := g.master()
	addN(t, m2.Store(), 21, 41)
	recs, err := m2.Store().Scan(context.Background(), "queue://q", 0, 1000, 1<<30)
	if err != nil || len(recs) != 40 {
		t.Fatalf("with two of five down: %d messages, err %v", len(recs), err)
	}
	term, err := m2.Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for o := range g.nodes {
		if g.nodes[o] != m2 {
			g.stop(o)
			break
		}
	}
	select {
	case <-term.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a master with three of five down still serves after 5s")
	}
}

// TestFollowersDropJournalPages: the journal's DropBehind is true on the
// followers and false on the master, whose pages serve the messages it
// pages out of memory; the master's Raft log syncs behind its writes, the
// followers' do not (both follow Node.leading).
func TestFollowersDropJournalPages(t *testing.T) {
	g := newGroup(t, 3, nil)
	id, m := g.master()
	addN(t, m.Store(), 1, 11)
	for nid, n := range g.nodes {
		if got, want := n.fsm.jopts.DropBehind(), nid != id; got != want {
			t.Errorf("replica %s (master %s): journal DropBehind %v, want %v", nid, id, got, want)
		}
		if got, want := n.leading(), nid == id; got != want {
			t.Errorf("replica %s (master %s): leading %v, want %v", nid, id, got, want)
		}
	}
}
