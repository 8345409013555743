//go:build crossprocess

package cluster

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/cluster"
)

// outage is how long TestQuorumLossAndRecovery watches a group without
// quorum.
const outage = 5 * time.Second

// TestQuorumLossAndRecovery: with two of three nodes killed (the master
// among them) the survivor does not serve — no /readyz 200, no client
// connection, no acknowledged send — for as long as the outage lasts;
// once one node is back a master appears by itself and nothing
// acknowledged before is lost.
func TestQuorumLossAndRecovery(t *testing.T) {
	c, m := startGroup(t)
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	f, survivor := others(c, m)[0], others(c, m)[1]
	f.Kill() // the master still has a quorum with the survivor
	m.Kill()
	killed := time.Now()
	t.Logf("killed follower %s and master %s after %d acknowledged sends; %s survives",
		f.ID, m.ID, l.ackedCount(), survivor.ID)
	time.Sleep(time.Second) // let a send in flight at the kill finish
	acked := l.ackedCount()
	checks := 0
	for time.Since(killed) < outage {
		if ms := c.Masters(); len(ms) > 0 {
			t.Errorf("%s after the quorum was lost: node %s answers /readyz 200", time.Since(killed).Round(time.Millisecond), ms[0].ID)
		}
		if connects(survivor) {
			t.Errorf("%s after the quorum was lost: a client connected to the survivor %s", time.Since(killed).Round(time.Millisecond), survivor.ID)
		}
		checks++
		time.Sleep(200 * time.Millisecond)
	}
	if n := l.ackedCount(); n != acked {
		t.Errorf("%d sends acknowledged without a quorum", n-acked)
	}
	st := status(t, survivor)
	t.Logf("after %s without quorum (%d checks): survivor %s is %s, term %d, commit_index %d; %d acknowledged sends",
		outage, checks, survivor.ID, st.State, st.Term, st.CommitIndex, l.ackedCount())

	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	next, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted %s: %s master after %s", m.ID, next.ID, time.Since(restarted).Round(time.Millisecond))
	waitProgress(t, l, 200)
	t.Logf("producer resumed; longest gap between acknowledged sends: %s", gap(l))
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	p.stop()
	k.drain(t, drainTimeout)
	l.check(t, false)
}

// connects reports whether an OpenWire client or a STOMP client's TCP
// connection gets through to n.
func connects(n *cluster.Node) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c, err := client.Dial(ctx, "tcp://"+n.OpenWire, client.Options{}); err == nil {
		c.Close(ctx)
		return true
	}
	if c, err := net.DialTimeout("tcp", n.STOMP, time.Second); err == nil {
		c.Close()
		return true
	}
	return false
}

// finishLedger stops the producer, drains the consumer, logs the longest
// gap between acknowledged sends and the consumer's failovers, and checks
// that every acknowledged send was consumed (duplicates allowed).
func finishLedger(t *testing.T, l *ledger, p *background, k *consumer) {
	t.Helper()
	p.stop()
	k.drain(t, drainTimeout)
	t.Logf("longest gap between acknowledged sends: %s; consumer failovers %d", gap(l), k.interruptions.Load())
	l.check(t, false)
}

func gap(l *ledger) time.Duration {
	g, _ := l.longestGap()
	return g.Round(time.Millisecond)
}
