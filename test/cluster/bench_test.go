//go:build crossprocess

package cluster

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/cluster"
)

// TestTakeoverTime measures (PIER_CLUSTER_BENCH=1) how long a master's
// crash keeps clients waiting: the master is killed 20 times while a
// failover producer and consumer run, and each time the test measures from
// the SIGKILL until a new connection to another node can send a
// persistent message, and until a node's /readyz answers 200. It prints
// the median and the largest of each; the ledger is checked at the end.
func TestTakeoverTime(t *testing.T) {
	if os.Getenv("PIER_CLUSTER_BENCH") != "1" {
		t.Skip("set PIER_CLUSTER_BENCH=1 to measure takeover times")
	}
	const kills = 20
	c, _ := startGroup(t)
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 5*time.Millisecond)
	waitProgress(t, l, 200)

	var toSend, toReady []time.Duration
	for i := range kills {
		m, err := c.Master(electTimeout)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		m.Kill()
		readyCh := make(chan time.Duration, 1)
		go func() {
			if _, err := c.Master(electTimeout); err != nil {
				t.Error(err)
			}
			readyCh <- time.Since(start)
		}()
		on, err := probeSend(others(c, m), start.Add(electTimeout))
		if err != nil {
			t.Fatalf("kill %d: %v", i+1, err)
		}
		sent, ready := time.Since(start), <-readyCh
		toSend, toReady = append(toSend, sent), append(toReady, ready)
		t.Logf("kill %d: %s killed; a send on %s succeeded after %s, /readyz 200 after %s",
			i+1, m.ID, on.ID, sent.Round(time.Millisecond), ready.Round(time.Millisecond))
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		now, err := c.Master(electTimeout)
		if err != nil {
			t.Fatal(err)
		}
		caughtUp(t, m, now)
		waitProgress(t, l, 50)
	}
	p.stop()
	k.drain(t, drainTimeout)
	sMed, sMax := median(toSend)
	rMed, rMax := median(toReady)
	t.Logf("takeover over %d kills: SIGKILL to a successful send median %s, max %s; to /readyz 200 median %s, max %s",
		kills, sMed.Round(time.Millisecond), sMax.Round(time.Millisecond), rMed.Round(time.Millisecond), rMax.Round(time.Millisecond))
	t.Logf("all sends: %s", durations(toSend))
	t.Logf("all /readyz: %s", durations(toReady))
	l.check(t, false)
}

// probeSend tries, node after node, to connect with a plain tcp:// client
// and send one persistent message, until one succeeds or deadline.
func probeSend(nodes []*cluster.Node, deadline time.Time) (*cluster.Node, error) {
	for {
		var err error
		for _, n := range nodes {
			if err = sendOne(n); err == nil {
				return n, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sendOne(n *cluster.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "tcp://"+n.OpenWire, client.Options{})
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		return err
	}
	p, err := s.Producer(ctx, client.Queue("cluster.probe"))
	if err != nil {
		return err
	}
	return p.Send(ctx, client.NewTextMessage("probe"))
}
