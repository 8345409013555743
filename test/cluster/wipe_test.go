//go:build crossprocess

package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/cluster"
)

// TestWipedReplicaRejoins: a follower whose data directory is deleted
// while it is down catches up when it comes back (its applied_index
// reaches the master's), and then holds everything: once the two others
// have been killed in turn, it is the only node that can be master, and
// every acknowledged message is consumed from it exactly once. The group
// catches the wiped node up by replaying the Raft log (the default
// snapshot threshold is far above the ~1,100 entries written here).
func TestWipedReplicaRejoins(t *testing.T) { testWipedReplica(t, false) }

// TestWipedReplicaRebuiltFromSnapshot: the same, with a snapshot
// threshold of 64 entries, so the master has compacted its log and must
// send the wiped node a snapshot (InstallSnapshot) to rebuild its journal.
func TestWipedReplicaRebuiltFromSnapshot(t *testing.T) { testWipedReplica(t, true) }

func testWipedReplica(t *testing.T, viaSnapshot bool) {
	const batch = 500
	var opts cluster.Options
	if viaSnapshot {
		opts.Replicated = "snapshot_threshold: 64"
	}
	c, m := startGroupWith(t, opts)
	w, f := others(c, m)[0], others(c, m)[1]
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	l.sendN(t, url, batch)

	if err := w.Stop(stopTimeout); err != nil {
		t.Fatal(err)
	}
	if err := w.Wipe(); err != nil {
		t.Fatal(err)
	}
	l.sendN(t, url, batch) // committed by m and f alone
	if viaSnapshot {
		// Snapshots are checked for every few seconds.
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(m.Log(), "compacting logs") {
			if time.Now().After(deadline) {
				t.Fatalf("master %s compacted no log within 30s", m.ID)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	before := status(t, m)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	fresh := status(t, w)
	took := caughtUp(t, w, m)
	after, ws := status(t, m), status(t, w)
	t.Logf("wiped %s caught up in %s: applied_index %d at start, %d now (last_index %d); master %s commit_index %d before the restart, %d now; snapshot installed: %t",
		w.ID, took.Round(time.Millisecond), fresh.AppliedIndex, ws.AppliedIndex, ws.LastIndex, m.ID, before.CommitIndex, after.CommitIndex,
		strings.Contains(w.Log(), "Installed remote snapshot"))
	if viaSnapshot && !strings.Contains(w.Log(), "Installed remote snapshot") {
		t.Fatalf("wiped %s caught up without a snapshot", w.ID)
	}
	if ws.AppliedIndex < before.CommitIndex {
		t.Fatalf("wiped %s: applied_index %d < %d", w.ID, ws.AppliedIndex, before.CommitIndex)
	}

	// Kill the master: w and f carry on, and commit entries m lacks.
	m.Kill()
	next, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	l.sendN(t, url, batch/5)
	// Kill f: w is alone, then m comes back with an older log, so only w
	// can win the election.
	f.Kill()
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	last, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s (%s took over), then %s; restarted %s: master %s", m.ID, next.ID, f.ID, m.ID, last.ID)
	if last != w {
		t.Fatalf("master is %s, want the wiped node %s (the only one with the whole log)", last.ID, w.ID)
	}
	k := l.startConsumer(t, url, 0)
	k.drain(t, drainTimeout)
	l.check(t, true)
}
