//go:build crossprocess

package cluster

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/replication"
	"github.com/piermq/pier/test/internal/cluster"
	"github.com/piermq/pier/test/internal/netns"
)

// Bounds and lengths of the network-fault tests.
const (
	// stepDownTimeout bounds how long a master cut off from its peers
	// may go on answering /readyz 200 (it should take about half a
	// second).
	stepDownTimeout = 5 * time.Second
	// partitioned is how long the isolated master is watched after
	// another took over.
	partitioned = 3 * time.Second
	// closeGrace is how long after /readyz stopped answering 200 the old
	// master's OpenWire port may still accept a connection.
	closeGrace = time.Second
)

// startNetGroup starts a group of three, each node in a network namespace
// of its own (test/internal/netns), and waits for its first master. The
// test reaches every node; the links between nodes can be cut.
func startNetGroup(t *testing.T) (*netns.Network, *cluster.Cluster) {
	t.Helper()
	nw := netns.New(t, 3)
	pl := make([]cluster.Placement, 3)
	for i := range pl {
		pl[i] = cluster.Placement{Host: nw.IP(i), Prefix: nw.Exec(i)}
	}
	c := cluster.Start(t, cluster.Options{Name: strings.ToLower(t.Name()), Placement: pl})
	start := time.Now()
	m, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("group of %d up in namespaces %s, %s, %s; first master %s after %s", len(c.Nodes),
		nw.Namespace(0), nw.Namespace(1), nw.Namespace(2), m.ID, time.Since(start).Round(time.Millisecond))
	return nw, c
}

// index is a node's position in the group (and in its network).
func index(c *cluster.Cluster, n *cluster.Node) int { return slices.Index(c.Nodes, n) }

// newMaster waits until exactly one node other than old answers /readyz
// 200, and returns it and how long that took.
func newMaster(t *testing.T, c *cluster.Cluster, old *cluster.Node) (*cluster.Node, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		if ms := c.Masters(); len(ms) == 1 && ms[0] != old {
			return ms[0], time.Since(start)
		}
		if time.Since(start) > electTimeout {
			t.Fatalf("no master other than %s after %s", old.ID, electTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leader returns the master, checked twice: it answers /readyz 200 and
// its Raft state is Leader (a busy machine can move the master at any
// time; a test that cuts the master off asks for it right before).
func leader(t *testing.T, c *cluster.Cluster) (*cluster.Node, replication.Status) {
	t.Helper()
	start := time.Now()
	for {
		m, err := c.Master(electTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if st := status(t, m); st.State == "Leader" {
			return m, st
		}
		if time.Since(start) > electTimeout {
			t.Fatalf("no stable master within %s", electTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ready asks n's console for /readyz; an error is a test failure (the
// tests below keep every console reachable).
func ready(t *testing.T, n *cluster.Node) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ok, err := n.Ready(ctx)
	if err != nil {
		t.Errorf("node %s: /readyz: %v", n.ID, err)
	}
	return ok
}

// accepts reports whether n's OpenWire port accepts a TCP connection.
func accepts(n *cluster.Node) bool {
	conn, err := net.DialTimeout("tcp", n.OpenWire, 200*time.Millisecond)
	if err == nil {
		conn.Close()
	}
	return err == nil
}

// TestPartitionedMasterStepsDown: the master is cut off from both
// followers (not from the clients, which still reach it). Within a few
// seconds it stops serving — /readyz not 200, its OpenWire port closed —
// while the two others elect a master and the failover clients carry on
// there; the harness's watcher fails the test if two nodes ever answer 200
// at once. Once the network heals, the old master rejoins as a follower
// and catches up; every acknowledged send is consumed.
func TestPartitionedMasterStepsDown(t *testing.T) {
	nw, c := startNetGroup(t)
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	m, was := leader(t, c)
	acked := l.ackedCount()
	if err := nw.Isolate(index(c, m)); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	for ready(t, m) {
		if time.Since(cut) > stepDownTimeout {
			t.Fatalf("master %s cut off from its peers still answers /readyz 200 after %s", m.ID, stepDownTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stepped := time.Since(cut)
	next, took := newMaster(t, c, m)
	t.Logf("isolated master %s (term %d) after %d acknowledged sends: /readyz not 200 after %s; %s master (term %d) after %s",
		m.ID, was.Term, acked, stepped.Round(time.Millisecond), next.ID, status(t, next).Term, (stepped + took).Round(time.Millisecond))

	// While cut off, the old master must not serve again.
	polls, accepted := 0, 0
	for start := time.Now(); time.Since(start) < partitioned; polls++ {
		if ready(t, m) {
			t.Errorf("+%s after the cut: isolated %s answers /readyz 200", time.Since(cut).Round(time.Millisecond), m.ID)
		}
		if accepts(m) {
			accepted++
			if since := time.Since(cut) - stepped; since > closeGrace {
				t.Errorf("+%s after it stopped answering 200, isolated %s still accepts OpenWire connections",
					since.Round(time.Millisecond), m.ID)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitProgress(t, l, 200)
	st := status(t, m)
	t.Logf("while isolated (%d polls): %s is %s at term %d, last_index %d; its OpenWire port accepted %d connections; %d acknowledged sends",
		polls, m.ID, st.State, st.Term, st.LastIndex, accepted, l.ackedCount())

	if err := nw.Heal(); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	rejoined := rejoin(t, c, m)
	now, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("healed: the old master %s is a follower again and caught up after %s; master %s", m.ID, rejoined.Round(time.Millisecond), now.ID)
	if now != next {
		t.Logf("the master changed after the heal, from %s to %s (%s after the heal)", next.ID, now.ID, time.Since(healed).Round(time.Millisecond))
	}
	waitProgress(t, l, 200)
	finishLedger(t, l, p, k)
}

// rejoin waits until n is a follower of the current master and has
// applied all the master had committed when n first saw it, and returns
// how long that took.
func rejoin(t *testing.T, c *cluster.Cluster, n *cluster.Node) time.Duration {
	t.Helper()
	start := time.Now()
	var want uint64
	for {
		st := status(t, n)
		m, err := c.Master(electTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == "Follower" && m != n {
			if want == 0 {
				want = status(t, m).CommitIndex
			}
			if st.AppliedIndex >= want {
				return time.Since(start)
			}
		}
		if time.Since(start) > progressTimeout {
			t.Fatalf("%s did not rejoin within %s: %s, applied_index %d; master %s, commit_index then %d",
				n.ID, progressTimeout, st.State, st.AppliedIndex, m.ID, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMinorityPartitionHeals: a follower is cut off from the two others
// while the producer goes on; the master keeps its quorum (a change of
// master is logged, not failed: only load should cause one), the follower
// falls behind and never serves; once healed it catches up (its
// applied_index reaches the master's commit_index) and nothing
// acknowledged is lost.
func TestMinorityPartitionHeals(t *testing.T) {
	nw, c := startNetGroup(t)
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	m, _ := leader(t, c)
	f := others(c, m)[0]
	if err := nw.Isolate(index(c, f)); err != nil {
		t.Fatal(err)
	}
	cut := status(t, f)
	waitProgress(t, l, 500)
	now, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if now != m { // not wrong, but only load should cause it
		t.Logf("the master changed from %s to %s during the partition, although it kept a quorum", m.ID, now.ID)
	}
	fst, mst := status(t, f), status(t, now)
	t.Logf("isolated follower %s: applied_index %d at the cut, %d now (%s, term %d); master %s commit_index %d",
		f.ID, cut.AppliedIndex, fst.AppliedIndex, fst.State, fst.Term, now.ID, mst.CommitIndex)
	if fst.AppliedIndex >= mst.CommitIndex {
		t.Errorf("isolated %s applied %d, the master committed %d: it was not cut off", f.ID, fst.AppliedIndex, mst.CommitIndex)
	}
	if ready(t, f) {
		t.Errorf("isolated follower %s answers /readyz 200", f.ID)
	}

	if err := nw.Heal(); err != nil {
		t.Fatal(err)
	}
	took := rejoin(t, c, f)
	fst = status(t, f)
	now, err = c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("healed: %s caught up in %s (applied_index %d); master %s", f.ID, took.Round(time.Millisecond), fst.AppliedIndex, now.ID)
	if now != m {
		t.Logf("the heal moved the master from %s to %s", m.ID, now.ID)
	}
	waitProgress(t, l, 100)
	finishLedger(t, l, p, k)
}

// TestPartitionOneLink: only the link between the master and one
// follower is cut; each still reaches the third node. The follower hears
// no leader and may call elections through the third node; whatever the
// group does, there is never more than one master, the producer keeps
// getting through, and once the link is back every node catches up and
// nothing acknowledged is lost. Master changes are logged.
func TestPartitionOneLink(t *testing.T) {
	nw, c := startNetGroup(t)
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	m, was := leader(t, c)
	f := others(c, m)[0]
	if err := nw.Cut(index(c, m), index(c, f)); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	var masters []string
	last := m
	for time.Since(cut) < partitioned {
		if ms := c.Masters(); len(ms) == 1 && ms[0] != last {
			masters = append(masters, fmt.Sprintf("%s at +%s", ms[0].ID, time.Since(cut).Round(time.Millisecond)))
			last = ms[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitProgress(t, l, 200)
	t.Logf("cut the link between master %s (term %d) and follower %s: master changes %v; %d acknowledged sends",
		m.ID, was.Term, f.ID, masters, l.ackedCount())
	if err := nw.Heal(); err != nil {
		t.Fatal(err)
	}
	now, _ := leader(t, c)
	for _, n := range others(c, now) {
		t.Logf("healed: %s caught up with master %s in %s", n.ID, now.ID, caughtUp(t, n, now).Round(time.Millisecond))
	}
	waitProgress(t, l, 100)
	finishLedger(t, l, p, k)
}
