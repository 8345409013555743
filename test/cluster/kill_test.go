//go:build crossprocess

package cluster

import (
	"testing"
	"time"
)

// TestKillMasterFiveTimes: while a failover producer and consumer run, the
// master is killed with SIGKILL five times, each time a new master takes
// over and the killed node is restarted. Every acknowledged send is
// consumed exactly once, unless a later delivery is marked redelivered.
func TestKillMasterFiveTimes(t *testing.T) { killMaster(t, 5) }

// TestKillMasterTwentyTimes is the long variant (PIER_CLUSTER_LONG=1).
func TestKillMasterTwentyTimes(t *testing.T) {
	if !longRun() {
		t.Skip("set PIER_CLUSTER_LONG=1 for the 20-kill run")
	}
	killMaster(t, 20)
}

func killMaster(t *testing.T, kills int) {
	c, _ := startGroup(t)
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	var takeovers []time.Duration
	for i := range kills {
		m, err := c.Master(electTimeout)
		if err != nil {
			t.Fatal(err)
		}
		before := l.ackedCount()
		start := time.Now()
		m.Kill()
		next, err := c.Master(electTimeout)
		if err != nil {
			t.Fatalf("kill %d of %s: %v", i+1, m.ID, err)
		}
		took := time.Since(start)
		takeovers = append(takeovers, took)
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		catchUp := caughtUp(t, m, next)
		waitProgress(t, l, 100)
		t.Logf("kill %d: master %s killed after %d acknowledged sends; %s master %s later; %s restarted, caught up in %s",
			i+1, m.ID, before, next.ID, took.Round(time.Millisecond), m.ID, catchUp.Round(time.Millisecond))
	}
	p.stop()
	k.drain(t, drainTimeout)
	med, most := median(takeovers)
	t.Logf("takeover (SIGKILL to the new master's /readyz 200): median %s, max %s; all: %s; consumer failovers %d",
		med.Round(time.Millisecond), most.Round(time.Millisecond), durations(takeovers), k.interruptions.Load())
	l.check(t, false)
}
