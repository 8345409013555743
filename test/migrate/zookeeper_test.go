//go:build crossprocess

package migrate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/replication"
	"github.com/piermq/pier/internal/zktest"
	"github.com/piermq/pier/test/internal/piertest"
)

// replicatedLevelDB is the seed's third set-up, as it writes it, on a
// member's own replication address (bind) and the test's ZooKeeper.
const replicatedLevelDB = `<replicatedLevelDB
                directory="${activemq.data}/leveldb"
                replicas="3"
                bind="tcp://%s"
                zkAddress="%s"
                hostname="127.0.0.1"
                zkPath="/activemq1/leveldb-stores"/>`

// TestReplicatedLevelDBZooKeeper: the seed's third set-up, a
// replicatedLevelDB trio whose members find each other through a private
// ZooKeeper, started from their activemq.xml. Under the JMS client's
// failover producer and consumer the master is killed (kill -9) and
// restarted; then ZooKeeper is stopped, the trio keeps serving, and the
// new master is killed too: another takes over, and the killed one
// restarts and rejoins without ZooKeeper. Every acknowledged send is
// received.
func TestReplicatedLevelDBZooKeeper(t *testing.T) {
	t.Parallel()
	zks := zktest.Start(t)
	var g group
	bind := map[*member]string{}
	for i, c := range []console{consoleFlag, consoleJetty, consoleFlag} {
		b := broker{name: "DobboEdu", openwire: piertest.FreeAddr(t)}
		repl := piertest.FreeAddr(t)
		b.adapter = fmt.Sprintf(replicatedLevelDB, repl, zks.Addr)
		m := newMember(t, fmt.Sprintf("DobboEdu-%c", 'a'+i), b, c, t.TempDir())
		bind[m] = repl
		g = append(g, m)
	}
	for _, m := range g {
		m.start(t)
	}
	g.master(t, electTimeout)
	inGroup(t, g, bind)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	killMasterUnderLoad(t, g, "migrate.leveldb", 2, func(i int, killed *member) {
		// The killed member is back in the group before anything else
		// fails.
		inGroup(t, g, bind)
		switch i {
		case 0:
			zks.Stop()
			start := time.Now()
			for _, m := range g {
				awaitLog(t, m, "zookeeper lost")
			}
			t.Logf("ZooKeeper stopped; every member noticed within %s", time.Since(start).Round(time.Millisecond))
			// The trio serves on without it.
			sent := texts("without ZooKeeper", 10)
			send(t, ctx, g.failoverURL(), "migrate.leveldb.nozk", sent)
			expectTexts(t, ctx, consumer(t, ctx, g.failoverURL(), "migrate.leveldb.nozk"), sent)
		case 1:
			// It found its group in the file it saved.
			awaitLog(t, killed, "replicated group from the saved file")
		}
	})
}

// awaitLog waits until the last run of m has logged s.
func awaitLog(t *testing.T, m *member, s string) {
	t.Helper()
	deadline := time.Now().Add(electTimeout)
	for {
		log := m.p.Log()
		if strings.Contains(log[max(0, strings.LastIndex(log, "configuration translated")):], s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %q within %s", m.id, s, electTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inGroup waits until every member's replication port says it follows
// (or is) one leader, the same for all.
func inGroup(t *testing.T, g group, bind map[*member]string) {
	t.Helper()
	deadline := time.Now().Add(electTimeout)
	for {
		var states []string
		leaders := map[string]bool{}
		for _, m := range g {
			ctx, cancel := context.WithTimeout(context.Background(), consoleTimeout)
			st, err := replication.QueryStatus(ctx, bind[m], nil)
			cancel()
			if err != nil {
				states = append(states, fmt.Sprintf("%s: %v", m.id, err))
				leaders[""] = true
				continue
			}
			states = append(states, fmt.Sprintf("%s: %s of %s", m.id, st.State, st.Leader))
			if st.State != "Leader" && st.State != "Follower" {
				st.Leader = ""
			}
			leaders[st.Leader] = true
		}
		if len(leaders) == 1 && !leaders[""] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group did not form within %s: %s", electTimeout, strings.Join(states, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
