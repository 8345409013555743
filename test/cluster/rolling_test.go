//go:build crossprocess

package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/cluster"
)

// TestRollingRestart: every node is stopped with SIGTERM and started again
// in turn, twice — the first round stops the master last, the second
// first — while a failover producer and an auto-acknowledging consumer
// run. Each stop exits cleanly, the producer's longest wait is logged, and
// every acknowledged send is consumed exactly once.
func TestRollingRestart(t *testing.T) {
	c, _ := startGroup(t)
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 0)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	for _, masterFirst := range []bool{false, true} {
		var done []*cluster.Node
		for len(done) < len(c.Nodes) {
			m, err := c.Master(electTimeout)
			if err != nil {
				t.Fatal(err)
			}
			n := next(c, m, done, masterFirst)
			start := time.Now()
			if err := n.Stop(stopTimeout); err != nil {
				t.Errorf("SIGTERM %s: %v", n.ID, err)
			}
			stopped := time.Since(start)
			now, err := c.Master(electTimeout)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Start(); err != nil {
				t.Fatal(err)
			}
			catchUp := caughtUp(t, n, now)
			waitProgress(t, l, 100)
			role := "follower"
			if n == m {
				role = "master"
			}
			t.Logf("master first %t: SIGTERM %s %s exited in %s; master %s; restarted, caught up in %s",
				masterFirst, role, n.ID, stopped.Round(time.Millisecond), now.ID, catchUp.Round(time.Millisecond))
			done = append(done, n)
		}
	}
	p.stop()
	k.drain(t, drainTimeout)
	g, at := l.longestGap()
	t.Logf("longest gap between acknowledged sends: %s (ended %s); consumer failovers %d",
		g.Round(time.Millisecond), at.Format("15:04:05.000"), k.interruptions.Load())
	l.check(t, true)
	// A planned hand-over must cost clients a reconnection, never an error.
	l.mu.Lock()
	failed := len(l.mu.sendErrs)
	l.mu.Unlock()
	if failed > 0 {
		t.Errorf("%d sends failed during the rolling restart; a failover client should only see reconnections", failed)
	}
}

// next picks the node to restart next in a round: the master first (if
// not restarted yet) or only when no other is left.
func next(c *cluster.Cluster, m *cluster.Node, done []*cluster.Node, masterFirst bool) *cluster.Node {
	left := others(c, done...)
	if masterFirst && slices.Contains(left, m) {
		return m
	}
	for _, n := range left {
		if n != m {
			return n
		}
	}
	return left[0] // only the master is left

}
