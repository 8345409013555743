//go:build crossprocess

package cluster

import (
	"context"
	"net"
	"testing"
	"time"
)

// pause is how long TestPausedMaster keeps the master stopped.
const pause = 3 * time.Second

// TestPausedMaster: the master is frozen with SIGSTOP; another node takes
// over; once the old master continues (SIGCONT) it must not serve while
// the other is master — its /readyz is never 200 (the cluster watcher
// also fails the test on two 200s in one poll) — and nothing acknowledged
// is lost.
func TestPausedMaster(t *testing.T) {
	c, m := startGroup(t)
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	if err := m.Pause(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	next, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(paused)
	time.Sleep(pause - took)
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	t.Logf("paused master %s: %s master after %s; resumed %s after %s",
		m.ID, next.ID, took.Round(time.Millisecond), m.ID, time.Since(paused).Round(time.Millisecond))

	// Watch the old master closely while it finds out.
	polls, readyPolls, accepted := 0, 0, 0
	var lastAccept time.Duration
	for time.Since(resumed) < 3*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ready, err := m.Ready(ctx)
		cancel()
		polls++
		if err == nil && ready {
			readyPolls++
			t.Errorf("+%s after SIGCONT: the old master %s answers /readyz 200 (%s is master)",
				time.Since(resumed).Round(time.Millisecond), m.ID, next.ID)
		}
		if conn, err := net.DialTimeout("tcp", m.OpenWire, 200*time.Millisecond); err == nil {
			conn.Close()
			accepted++
			lastAccept = time.Since(resumed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := status(t, m)
	t.Logf("after SIGCONT: %d polls of %s, %d answered 200; its OpenWire port accepted %d TCP connections (the last +%s); now %s, leader %s",
		polls, m.ID, readyPolls, accepted, lastAccept.Round(time.Millisecond), st.State, st.Leader)
	if now, err := c.Master(electTimeout); err != nil {
		t.Error(err)
	} else if now != next {
		t.Logf("master changed again, to %s", now.ID)
	}
	waitProgress(t, l, 200)
	finishLedger(t, l, p, k)
}
