//go:build crossprocess

package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/cluster"
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
	killMasters(t, c, kills, func(killed, next *cluster.Node) string {
		return fmt.Sprintf("%s caught up in %s", killed.ID, caughtUp(t, killed, next).Round(time.Millisecond))
	})
}
