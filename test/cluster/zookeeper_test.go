//go:build crossprocess

package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/piermq/pier/internal/zktest"
	"github.com/piermq/pier/test/internal/cluster"
)

// TestZooKeeperTrio: a replicated trio whose members find each other
// through a private ZooKeeper (store.replicated.zookeeper, no peers, no
// node_id) under a failover producer and consumer. The master is killed
// with SIGKILL; then ZooKeeper is stopped under the running group, which
// keeps serving; the killed member restarts from its saved group with
// ZooKeeper down and catches up; the new master is killed and fails over
// once more, and it too restarts and rejoins without ZooKeeper. Every
// acknowledged send is consumed (a duplicate only if marked redelivered).
// When ZooKeeper is back, every member registers again.
func TestZooKeeperTrio(t *testing.T) {
	zks := zktest.Start(t)
	path := "/pier/" + strings.ToLower(t.Name())
	c, _ := startGroupWith(t, cluster.Options{ZooKeeper: &cluster.ZooKeeper{Address: zks.Addr, Path: path}})
	for _, n := range c.Nodes {
		if _, err := os.Stat(filepath.Join(n.DataDir, "replication", "zookeeper-group.json")); err != nil {
			t.Fatalf("node %s saved no group: %v", n.ID, err)
		}
	}
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	// A kill with ZooKeeper up.
	m1 := killAndFailOver(t, c, l)

	// ZooKeeper stopped: the group goes on, and says so once per member.
	zks.Stop()
	start := time.Now()
	for _, n := range others(c, m1) {
		for !strings.Contains(n.Log(), "zookeeper lost") {
			if time.Since(start) > progressTimeout {
				t.Fatalf("node %s did not notice ZooKeeper gone within %s", n.ID, progressTimeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitProgress(t, l, 100)
	restartWithoutZooKeeper(t, c, m1)

	// A kill with ZooKeeper down.
	m2 := killAndFailOver(t, c, l)
	restartWithoutZooKeeper(t, c, m2)
	waitProgress(t, l, 100)
	p.stop()
	k.drain(t, drainTimeout)
	l.check(t, false)

	// ZooKeeper back: every member registers again. The sessions of the
	// killed processes expire within a session timeout of the restart
	// (2 s, the default), taking their znodes; from then on, exactly one
	// znode per member, each made by a running process.
	if err := zks.Restart(); err != nil {
		t.Fatal(err)
	}
	zc, _, err := zk.Connect([]string{zks.Addr}, 2*time.Second, zk.WithLogger(discardZK{}))
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	want := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		want[i] = n.Replication // node_id's default
	}
	slices.Sort(want)
	start = time.Now()
	for {
		ids, err := memberIDs(zc, path)
		if err == nil && time.Since(start) > 4*time.Second && slices.Equal(ids, want) {
			break
		}
		if time.Since(start) > progressTimeout {
			t.Fatalf("registered under %s %s after ZooKeeper came back: %v (%v), want one each of %v", path, progressTimeout, ids, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// memberIDs returns the ids of the member znodes under path, sorted.
func memberIDs(c *zk.Conn, path string) ([]string, error) {
	names, _, err := c.Children(path)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range names {
		if !strings.HasPrefix(n, "member-") {
			continue
		}
		data, _, err := c.Get(path + "/" + n)
		if err != nil {
			return nil, err
		}
		var m struct{ ID string }
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids, nil
}

// killAndFailOver kills the master with SIGKILL, waits for another to serve
// and the producer to go on, and returns the killed node.
func killAndFailOver(t *testing.T, c *cluster.Cluster, l *ledger) *cluster.Node {
	t.Helper()
	m, next, took, before := killTheMaster(t, c, l)
	waitProgress(t, l, 100)
	t.Logf("master %s killed after %d acknowledged sends; %s master %s later", m.ID, before, next.ID, took.Round(time.Millisecond))
	return m
}

// restartWithoutZooKeeper restarts a killed node while ZooKeeper is down:
// it must start from its saved group (saying once that ZooKeeper is
// unreachable) and catch up with the master.
func restartWithoutZooKeeper(t *testing.T, c *cluster.Cluster, n *cluster.Node) {
	t.Helper()
	runs := strings.Count(n.Log(), "=== cluster: run ")
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	m, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	took := caughtUp(t, n, m)
	last := n.Log()[nthIndex(n.Log(), "=== cluster: run ", runs):]
	if !strings.Contains(last, "replicated group from the saved file") || strings.Count(last, "zookeeper unreachable") != 1 {
		t.Errorf("node %s restarted without ZooKeeper: its log should say once that it used its saved group and that ZooKeeper is unreachable:\n%s", n.ID, last)
	}
	t.Logf("node %s restarted with ZooKeeper down and caught up with %s in %s", n.ID, m.ID, took.Round(time.Millisecond))
}

// nthIndex returns the index of the n-th (from 0) occurrence of sub in s,
// len(s) if there are fewer.
func nthIndex(s, sub string, n int) int {
	at := 0
	for range n + 1 {
		i := strings.Index(s[at:], sub)
		if i < 0 {
			return len(s)
		}
		at += i + len(sub)
	}
	return at - len(sub)
}

type discardZK struct{}

func (discardZK) Printf(string, ...any) {}
