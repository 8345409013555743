//go:build crossprocess

package openwire

import (
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/cluster"
)

// TestReplicatedGroupFailover: the ActiveMQ 5.17 JMS client's failover
// transport over the three members of a replicated Pier group; the master
// is killed twice (kill -9) and restarted as a follower; every
// acknowledged send is received and every duplicate is marked redelivered.
func TestReplicatedGroupFailover(t *testing.T) {
	if target(t) != "pier" {
		t.Skip("a replicated group is Pier's own")
	}
	classpath(t)
	c := cluster.Start(t, cluster.Options{Name: "owgroup"})
	if _, err := c.Master(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	runFailover(t, c.FailoverURL(), func(i int, acked int64) {
		m, err := c.Master(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		m.Kill()
		next, err := c.Master(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("crash %d: master %s killed after %d acknowledged sends; %s master after %s", i+1, m.ID, acked, next.ID,
			time.Since(start).Round(time.Millisecond))
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
	})
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
}
