//go:build crossprocess

package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/cluster"
	"github.com/piermq/pier/test/internal/netns"
)

// connectorYAML is a network connector to every member of group to, as in
// examples/seed.
func connectorYAML(name string, to *cluster.Cluster) string {
	return fmt.Sprintf("network_connectors:\n  - name: %s\n    uri: static:(%s)\n    duplex: false\n    network_ttl: 1\n",
		name, strings.Join(to.OpenWireURLs(), ","))
}

// linked starts two groups (or single brokers), each with a network
// connector to every member of the other, as in examples/seed,
// and waits for their masters.
func linked(t *testing.T, o1, o2 cluster.Options) (one, two *cluster.Cluster) {
	t.Helper()
	one, two = cluster.Plan(t, o1), cluster.Plan(t, o2)
	one.Launch(connectorYAML("to-"+o2.Name, two))
	two.Launch(connectorYAML("to-"+o1.Name, one))
	for _, g := range []*cluster.Cluster{one, two} {
		if _, err := g.Master(electTimeout); err != nil {
			t.Fatal(err)
		}
	}
	return one, two
}

// waitReceived waits until the consumer got more messages than now.
func waitReceived(t *testing.T, l *ledger, more int) {
	t.Helper()
	target := l.receivedCount() + more
	deadline := time.Now().Add(progressTimeout)
	for l.receivedCount() < target {
		if time.Now().After(deadline) {
			t.Fatalf("consumer stuck: %d messages received, want %d within %s", l.receivedCount(), target, progressTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSeedTopologyKillMasters: producers on group one, consumers on group
// two, the two groups bridged both ways by network connectors. The master
// of each group is killed in turn (twice each) while messages flow; every
// acknowledged send is consumed exactly once.
func TestSeedTopologyKillMasters(t *testing.T) {
	name := strings.ToLower(t.Name())
	one, two := linked(t, cluster.Options{Name: name + "-one"}, cluster.Options{Name: name + "-two"})
	killInTurn(t, []group{{"one", one}, {"two", two}}, true)
}

// TestBridgedBrokersKillEitherSide: two single brokers (own journals)
// bridged both ways, a producer on a and a consumer on b; each is killed
// with SIGKILL twice mid-flow and restarted. Nothing acknowledged is lost
// and the bridge stores nothing twice: a message consumed twice was
// redelivered by b after its own crash (an acknowledgement the crash
// undid), and so marked redelivered.
func TestBridgedBrokersKillEitherSide(t *testing.T) {
	a, b := linked(t, cluster.Options{Name: "a", Nodes: 1, Journal: true}, cluster.Options{Name: "b", Nodes: 1, Journal: true})
	killInTurn(t, []group{{"a (sending side)", a}, {"b (receiving side)", b}}, false)
}

// group is a named group (or single broker) of a network test.
type group struct {
	name string
	c    *cluster.Cluster
}

// killInTurn runs a producer on the first group and a consumer on the
// second (both failover clients), kills the master of each group in turn
// with SIGKILL, twice round, restarting it each time and waiting until
// another (or the same, for a single broker) serves and messages flow
// again end to end; then it checks the ledger: every acknowledged send
// consumed, a duplicate only if marked redelivered or, with exactlyOnce,
// none at all.
func killInTurn(t *testing.T, groups []group, exactlyOnce bool) {
	t.Helper()
	l := newLedger(queueName(t))
	k := l.startConsumer(t, groups[1].c.FailoverURL(), 1)
	p := l.startProducer(t, groups[0].c.FailoverURL(), 2*time.Millisecond)
	waitProgress(t, l, 200)
	waitReceived(t, l, 100)
	for round := range 2 {
		for _, g := range groups {
			m, err := g.c.Master(electTimeout)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			m.Kill()
			if len(g.c.Nodes) == 1 {
				if err := m.Start(); err != nil {
					t.Fatal(err)
				}
			}
			next, err := g.c.Master(electTimeout)
			if err != nil {
				t.Fatalf("%s after killing %s: %v", g.name, m.ID, err)
			}
			took := time.Since(start)
			if len(g.c.Nodes) > 1 {
				if err := m.Start(); err != nil {
					t.Fatal(err)
				}
			}
			waitProgress(t, l, 100)
			waitReceived(t, l, 100)
			t.Logf("round %d: %s: master %s killed; %s master after %s; messages flow again",
				round+1, g.name, m.ID, next.ID, took.Round(time.Millisecond))
		}
	}
	p.stop()
	k.drain(t, drainTimeout)
	l.check(t, exactlyOnce)
}

// TestBridgePartitionHeals: two single brokers in network namespaces of
// their own, bridged both ways, a producer on a and a consumer on b (the
// clients reach both all along). The link between a and b drops every
// packet for longer than the bridge's keep-alive: a keeps accepting
// messages, the bridge notices and retries, and once the link is back
// every acknowledged message reaches b exactly once.
func TestBridgePartitionHeals(t *testing.T) {
	nw := netns.New(t, 2)
	place := func(i int) []cluster.Placement {
		return []cluster.Placement{{Host: nw.IP(i), Prefix: nw.Exec(i)}}
	}
	a, b := linked(t, cluster.Options{Name: "a", Nodes: 1, Journal: true, Placement: place(0)},
		cluster.Options{Name: "b", Nodes: 1, Journal: true, Placement: place(1)})
	l := newLedger(queueName(t))
	k := l.startConsumer(t, b.FailoverURL(), 1)
	p := l.startProducer(t, a.FailoverURL(), 2*time.Millisecond)
	waitProgress(t, l, 200)
	waitReceived(t, l, 100)

	if err := nw.Cut(0, 1); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	const outage = 15 * time.Second // beyond the bridge's 10 s keep-alive
	got := l.receivedCount()
	waitProgress(t, l, 300) // a goes on accepting
	time.Sleep(time.Until(cut.Add(outage)))
	t.Logf("during %s without a link: %d acknowledged sends on a, %d more messages received on b",
		outage, l.ackedCount(), l.receivedCount()-got)
	if err := nw.Heal(); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	waitReceived(t, l, 100)
	t.Logf("messages flow again %s after the link is back", time.Since(healed).Round(time.Millisecond))
	p.stop()
	k.drain(t, drainTimeout)
	l.check(t, true)
}
