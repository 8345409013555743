//go:build crossprocess

package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/cluster"
	"github.com/piermq/pier/test/internal/disk"
)

// startShared starts a shared-directory group of two `pier serve`
// (store.kind: journal, both naming dir) and waits for its master.
func startShared(t *testing.T, dir string) (*cluster.Cluster, *cluster.Node) {
	t.Helper()
	c := cluster.Start(t, cluster.Options{Name: strings.ToLower(t.Name()), Nodes: 2, Journal: true, SharedDir: dir})
	m, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

// TestSharedDirKillMaster: the master of a shared-directory group is
// killed with SIGKILL three times under a failover producer and consumer;
// each time the other takes the lock, recovers the journal and serves.
// Every acknowledged send is consumed (a duplicate only if marked
// redelivered).
func TestSharedDirKillMaster(t *testing.T) {
	c, _ := startShared(t, filepath.Join(t.TempDir(), "journal"))
	killMasters(t, c, 3, nil)
}

// killMasters runs a failover producer and consumer on c, kills the
// master with SIGKILL kills times (restarting it each time, waiting for
// another to serve and the producer to go on; restarted, if not nil, is
// called then and says more for the log), logs the takeover times and
// checks the ledger: every acknowledged send consumed, a duplicate only
// if marked redelivered.
func killMasters(t *testing.T, c *cluster.Cluster, kills int, restarted func(killed, next *cluster.Node) string) {
	t.Helper()
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)
	var takeovers []time.Duration
	for i := range kills {
		m, next, took, before := killTheMaster(t, c, l)
		takeovers = append(takeovers, took)
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		more := ""
		if restarted != nil {
			more = "; " + restarted(m, next)
		}
		waitProgress(t, l, 100)
		t.Logf("kill %d: master %s killed after %d acknowledged sends; %s master %s later%s",
			i+1, m.ID, before, next.ID, took.Round(time.Millisecond), more)
	}
	p.stop()
	k.drain(t, drainTimeout)
	med, most := median(takeovers)
	t.Logf("takeover (SIGKILL to the new master's /readyz 200): median %s, max %s; all: %s; consumer failovers %d",
		med.Round(time.Millisecond), most.Round(time.Millisecond), durations(takeovers), k.interruptions.Load())
	l.check(t, false)
}

// killTheMaster kills the master with SIGKILL and waits until another
// serves; it returns the node killed, the new master, how long that took,
// and how many sends had been acknowledged before the kill.
func killTheMaster(t *testing.T, c *cluster.Cluster, l *ledger) (killed, next *cluster.Node, took time.Duration, before int) {
	t.Helper()
	m, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	before = l.ackedCount()
	m.Kill()
	next, took = newMaster(t, c, m)
	return m, next, took, before
}

// TestSharedDirLockFileReplaced: the master's lock file is deleted and
// replaced (its lock no longer guards the directory): the master stops
// serving within its check interval, then takes the new lock as a new
// master with a new epoch.
func TestSharedDirLockFileReplaced(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	c, m := startShared(t, dir)
	other := others(c, m)[0]
	if err := other.Stop(stopTimeout); err != nil { // alone, so only m can take the new lock
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "lock")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// m stops serving (and, alone, takes the new lock at once, as a new
	// master with a new epoch: too quickly for /readyz polls to see).
	start := time.Now()
	for !strings.Contains(m.Log(), "lost the claim; no longer master") {
		if time.Since(start) > stepDownTimeout {
			t.Fatalf("%s did not give up its lock %s after its lock file was replaced", m.ID, stepDownTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s stopped serving %s after its lock file was replaced", m.ID, time.Since(start).Round(time.Millisecond))
	if _, err := c.Master(electTimeout); err != nil {
		t.Fatal(err)
	}
	epoch, err := os.ReadFile(filepath.Join(dir, "epoch"))
	if err != nil || strings.TrimSpace(string(epoch)) != "2" {
		t.Fatalf("epoch %q (%v), want 2", epoch, err)
	}
}

// TestSharedDirUnreachable: the shared directory's filesystem fails (every
// read and write an I/O error, as storage that became unreachable) under
// load: the master stops serving within its check interval and neither
// member serves while the directory is gone; when it is back, one of them
// takes over and every acknowledged send is consumed.
func TestSharedDirUnreachable(t *testing.T) {
	d := disk.New(t, 256<<20)
	c, _ := startShared(t, filepath.Join(d.Dir, "journal"))
	storageOutage(t, c, "its directory", stepDownTimeout, 3*time.Second,
		func() error { return d.Fail() }, func() error { return d.Recover() })
}

// storageOutage runs a failover producer and consumer on c and makes the
// shared storage fail (fail) under them: the master must stop serving
// within stepDown, and no member may serve for quiet; then heal brings the
// storage back, a member must serve again, and every acknowledged send
// must be consumed (a duplicate only if marked redelivered).
func storageOutage(t *testing.T, c *cluster.Cluster, what string, stepDown, quiet time.Duration, fail, heal func() error) {
	t.Helper()
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)
	m, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := fail(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for len(c.Masters()) > 0 {
		if time.Since(start) > stepDown {
			t.Fatalf("%s still serves %s after losing %s", m.ID, stepDown, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("master %s stopped serving %s after losing %s", m.ID, time.Since(start).Round(time.Millisecond), what)
	for end := time.Now().Add(quiet); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if ms := c.Masters(); len(ms) > 0 {
			t.Fatalf("%s serves without %s", ms[0].ID, what)
		}
	}
	acked := l.ackedCount()
	if err := heal(); err != nil {
		t.Fatal(err)
	}
	next, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s back: %s master %s after the failure; %d sends acknowledged before it",
		what, next.ID, time.Since(start).Round(time.Millisecond), acked)
	waitProgress(t, l, 100)
	p.stop()
	k.drain(t, drainTimeout)
	l.check(t, false)
}
