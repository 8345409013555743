package client

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire"
)

// TestFailoverToAdvertisedBroker: a failover client dialled with only
// broker A's URL resumes on broker B after A stops, because A told it the
// group's URLs (ActiveMQ's updateClusterClients): once when the client
// connected, or later through UpdateCluster.
func TestFailoverToAdvertisedBroker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		atFirst bool // A advertises B from the start, else only later
	}{
		{name: "on connect", atFirst: true},
		{name: "on update"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startRestartable(t)
			aAddr := freeAddr(t)
			group := []string{"tcp://" + aAddr}
			if tc.atFirst {
				group = append(group, "tcp://"+b.addr)
			}
			var urls atomic.Pointer[[]string]
			urls.Store(&group)
			a := startRestartableAt(t, aAddr, openwire.Config{ClusterURLs: func() []string { return *urls.Load() }})

			var opts Options
			h := newHooks(&opts)
			c := dial(t, fastFailover(a.addr), opts)
			s := session(t, c, AutoAck)
			q := Queue("fo.cluster")
			prod := producer(t, s, q)
			k := consumer(t, s, q)
			send(t, prod, "on A")
			receiveText(t, k, "on A")
			if !tc.atFirst {
				group = []string{"tcp://" + aAddr, "tcp://" + b.addr}
				urls.Store(&group)
				a.srv.UpdateCluster()
			}
			waitUpdated(t, c, b.addr)

			a.stop()
			if got := h.waitResumed(t); got != b.addr {
				t.Fatalf("resumed on %s, want B %s", got, b.addr)
			}
			send(t, prod, "on B") // A is gone: this can only be B
			receiveText(t, k, "on B")
		})
	}
}

// waitUpdated waits until c's failover list, as pushed by the broker,
// names host.
func waitUpdated(t *testing.T, c *Conn, host string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.fo.mu.Lock()
		ok := slices.ContainsFunc(c.fo.mu.updated, func(b BrokerURL) bool { return b.Host == host })
		updated := c.fo.mu.updated
		c.fo.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker list %v does not name %s", updated, host)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
