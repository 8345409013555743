//go:build crossprocess

// Package cluster holds the cross-process tests of a replicated group
// (store.kind: replicated): three `pier serve` processes started by
// test/internal/cluster, a failover producer and consumer (the Go client)
// keeping a ledger of what was acknowledged and what was received, and
// masters killed, stopped, paused and wiped under them. PIER_CLUSTER_LONG=1
// adds a 20-kill run, PIER_CLUSTER_BENCH=1 a takeover-time measurement.
package cluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/replication"
	"github.com/piermq/pier/test/internal/cluster"
)

// Bounds of the waits; generous because the machine is small and shared.
const (
	electTimeout    = 30 * time.Second // a master after a start or a kill
	progressTimeout = 30 * time.Second // the producer gets on again
	drainTimeout    = 90 * time.Second // the consumer gets every acknowledged send
	stopTimeout     = 30 * time.Second // a SIGTERMed node exits
)

// startGroup starts a group of three and waits for its first master.
func startGroup(t *testing.T) (*cluster.Cluster, *cluster.Node) {
	t.Helper()
	return startGroupWith(t, cluster.Options{})
}

// startGroupWith starts a group with opts (named after the test).
func startGroupWith(t *testing.T, opts cluster.Options) (*cluster.Cluster, *cluster.Node) {
	t.Helper()
	opts.Name = strings.ToLower(t.Name())
	c := cluster.Start(t, opts)
	start := time.Now()
	m, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("group of %d up; first master %s after %s", len(c.Nodes), m.ID, time.Since(start).Round(time.Millisecond))
	return c, m
}

// queueName is a queue of its own for each test.
func queueName(t *testing.T) string {
	return fmt.Sprintf("cluster.%s.%d", strings.ToLower(t.Name()), time.Now().UnixNano())
}

// waitProgress waits until the broker has acknowledged more sends than
// now.
func waitProgress(t *testing.T, l *ledger, more int) {
	t.Helper()
	target := l.ackedCount() + more
	deadline := time.Now().Add(progressTimeout)
	for l.ackedCount() < target {
		if time.Now().After(deadline) {
			t.Fatalf("producer stuck: %d acknowledged sends, want %d within %s", l.ackedCount(), target, progressTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// others returns the nodes of c other than those given.
func others(c *cluster.Cluster, not ...*cluster.Node) []*cluster.Node {
	var out []*cluster.Node
	for _, n := range c.Nodes {
		if !slices.Contains(not, n) {
			out = append(out, n)
		}
	}
	return out
}

// status asks n for its replication status, failing the test if it does
// not answer.
func status(t *testing.T, n *cluster.Node) replication.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := n.Status(ctx)
	if err != nil {
		t.Fatalf("status of %s: %v", n.ID, err)
	}
	return s
}

// caughtUp waits until n has applied every entry master had committed
// when it was called, and returns how long that took.
func caughtUp(t *testing.T, n, master *cluster.Node) time.Duration {
	t.Helper()
	start := time.Now()
	want := status(t, master).CommitIndex
	deadline := start.Add(progressTimeout)
	for {
		st := status(t, n)
		if st.AppliedIndex >= want {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not catch up within %s: applied_index %d, master %s's commit_index %d",
				n.ID, progressTimeout, st.AppliedIndex, master.ID, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// longRun reports whether PIER_CLUSTER_LONG=1 asks for the longer variants.
func longRun() bool { return os.Getenv("PIER_CLUSTER_LONG") == "1" }

// durations formats takeover times for a log line.
func durations(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(s, " ")
}
