package replication

import (
	"testing"
	"time"

	"github.com/piermq/pier/internal/store"
)

// waitMetrics polls n.Metrics until ok accepts it.
func waitMetrics(t *testing.T, n *Node, what string, ok func(Metrics) bool) Metrics {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := n.Metrics()
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: last %+v", what, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	meters := map[string]*store.Meter{}
	g := newGroup(t, 3, func(c *Config) {
		meters[c.NodeID] = new(store.Meter)
		c.Meter = meters[c.NodeID]
	})
	id, m := g.master()
	addN(t, m.Store(), 1, 51)
	g.converged(m)

	lm := m.Metrics()
	if lm.State != "Leader" || lm.Members != 3 || lm.Term == 0 || lm.CommitIndex < 50 || lm.AppliedIndex < 50 || lm.SinceContact != 0 {
		t.Errorf("leader: %+v", lm)
	}
	mm := meters[id].Metrics()
	// The leader's syncs run behind its writes, one for one or more of
	// them; the bootstrap's write is synced but not Raft's (not counted).
	if mm.Commit.Count != 50 || mm.Syncs == 0 || mm.Group.Sum < 50 || mm.Syncs > mm.Group.Count+1 {
		t.Errorf("leader's meter: %d commits, %d syncs, %d groups of %v entries", mm.Commit.Count, mm.Syncs, mm.Group.Count, mm.Group.Sum)
	}

	// The leader polls every member every few seconds: once they have
	// caught up, they are up and not behind.
	waitMetrics(t, m, "followers up and caught up", func(lm Metrics) bool {
		if len(lm.Followers) != 2 {
			return false
		}
		for _, f := range lm.Followers {
			if f.ID == id || !f.Up || f.Lag != 0 || f.LastIndex < 50 {
				return false
			}
		}
		return true
	})
	for fid, n := range g.nodes {
		if fid == id {
			continue
		}
		fm := n.Metrics()
		if fm.State != "Follower" || len(fm.Followers) != 0 || fm.SinceContact <= 0 || fm.SinceContact > 5*time.Second || fm.AppliedIndex < 50 {
			t.Errorf("follower %s: %+v", fid, fm)
		}
		if fmm := meters[fid].Metrics(); fmm.Commit.Count != 0 || fmm.Syncs == 0 || fmm.Group.Sum < 50 {
			t.Errorf("follower %s's meter: %d commits, %d syncs, %v entries", fid, fmm.Commit.Count, fmm.Syncs, fmm.Group.Sum)
		}
	}

	// A member that stops is reported down at the next poll.
	var gone string
	for fid := range g.nodes {
		if fid != id {
			gone = fid
			break
		}
	}
	g.stop(gone)
	waitMetrics(t, m, gone+" down", func(lm Metrics) bool {
		for _, f := range lm.Followers {
			if f.ID == gone {
				return !f.Up
			}
		}
		return false
	})
}
