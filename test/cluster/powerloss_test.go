//go:build crossprocess

package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/replication"
	"github.com/piermq/pier/test/internal/cluster"
	"github.com/piermq/pier/test/internal/disk"
)

// TestMachineCrashLosesUnsyncedWrites: one replica, x, keeps its data
// directory on a filesystem of its own (test/internal/disk) whose power
// the test cuts: x is killed with SIGKILL and every write its filesystem
// had not made durable is dropped, as in a machine's power loss; the
// Raft log and the journal come back as they were at their last fsync.
//
//  1. x loses power as a follower under load; it restarts and catches up.
//  2. Its peer y is killed, so what the master commits from then on is
//     held by the master and x alone; then x loses power again and the
//     master is killed with it. x and y restart: only x can be master
//     (it alone has the last entries), and it must have kept them.
//
// Every acknowledged send is consumed.
func TestMachineCrashLosesUnsyncedWrites(t *testing.T) {
	d, c, x, l, p, k := powerLossGroup(t)

	m, _ := leader(t, c)
	if m == x { // x must be a follower: hand over
		if err := x.Restart(stopTimeout); err != nil {
			t.Fatal(err)
		}
		m, _ = newMaster(t, c, x)
		waitProgress(t, l, 100)
	}
	powerLoss(t, d, x)
	t.Logf("1. follower %s lost power after %d acknowledged sends; caught up with master %s in %s",
		x.ID, l.ackedCount(), m.ID, caughtUp(t, x, m).Round(time.Millisecond))
	waitProgress(t, l, 100)

	m, _ = leader(t, c)
	y := others(c, m, x)[0]
	if m == x {
		m, y = others(c, x)[0], others(c, x)[1]
	}
	y.Kill()
	from := l.ackedCount()
	waitProgress(t, l, 300) // committed by m and x
	powerLoss(t, d, x, m)
	t.Logf("2. killed %s, then after %d more acknowledged sends (held by %s and %s alone) %s lost power and %s was killed",
		y.ID, l.ackedCount()-from, m.ID, x.ID, x.ID, m.ID)
	if err := y.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	next, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s restarted: %s master after %s", y.ID, next.ID, time.Since(start).Round(time.Millisecond))
	if next != x {
		t.Errorf("master is %s, want %s: only it holds what was committed while %s was down", next.ID, x.ID, y.ID)
	}
	waitProgress(t, l, 200)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s restarted, caught up in %s", m.ID, caughtUp(t, m, next).Round(time.Millisecond))
	finishLedger(t, l, p, k)
}

// powerLossGroup starts a group of three whose third node, x, keeps its
// data on a disk whose power the test can cut, and a failover producer
// and consumer on it, and waits until 300 sends are acknowledged.
func powerLossGroup(t *testing.T) (*disk.Disk, *cluster.Cluster, *cluster.Node, *ledger, *background, *consumer) {
	t.Helper()
	d := disk.New(t, 512<<20)
	pl := make([]cluster.Placement, 3)
	pl[2].DataDir = filepath.Join(d.Dir, "data")
	c := cluster.Start(t, cluster.Options{Name: strings.ToLower(t.Name()), Placement: pl})
	if _, err := c.Master(electTimeout); err != nil {
		t.Fatal(err)
	}
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 300)
	return d, c, c.Nodes[2], l, p, k
}

// powerLoss cuts the power of x's disk: x is killed, then the filesystem
// drops what it had not synced (the nodes in also are killed right after,
// while it is down), and x starts again. Every entry x had appended to its
// Raft log before the kill (it had told the master so) must survive; the
// journal, written without fsync and synced within milliseconds, may lose
// its tail (x replays it from the Raft log). It logs what was cut back.
//
// x's last index is read once its Raft is up. With no peer running that
// is exactly the log it recovered; with a master running, entries the
// master sends in the meantime may be counted too.
func powerLoss(t *testing.T, d *disk.Disk, x *cluster.Node, also ...*cluster.Node) {
	t.Helper()
	before := status(t, x)
	written := sizes(t, x.DataDir)
	x.Kill()
	down, err := d.PowerLoss()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range also {
		n.Kill()
	}
	lost := diffSizes(written, sizes(t, x.DataDir))
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	after := raftUp(t, x)
	t.Logf("power loss of %s (disk away %s): Raft last_index %d and applied_index %d before; after: Raft log up to %d, journal up to %s; files cut back: %s",
		x.ID, down.Round(time.Millisecond), before.LastIndex, before.AppliedIndex, after.LastIndex, journalMark(x), lost)
	if after.LastIndex < before.LastIndex {
		t.Errorf("%s's Raft log lost entries it had stored before the power loss: last index %d, was %d",
			x.ID, after.LastIndex, before.LastIndex)
	}
}

// raftUp waits until n's Raft has started (its status is no longer
// "Starting") and returns that status.
func raftUp(t *testing.T, n *cluster.Node) replication.Status {
	t.Helper()
	start := time.Now()
	for {
		st := status(t, n)
		if st.State != "Starting" {
			return st
		}
		if time.Since(start) > cluster.UpTimeout {
			t.Fatalf("%s: Raft not started after %s", n.ID, cluster.UpTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// journalMark is the journal mark (the index of the last entry the
// journal holds) that n's current run logs once it has recovered its
// journal, "?" if it does not within a few seconds.
func journalMark(n *cluster.Node) string {
	re := regexp.MustCompile(`msg="replica started".* journal_mark=(\d+)`)
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(20 * time.Millisecond) {
		log := n.Log()
		if m := re.FindStringSubmatch(log[strings.LastIndex(log, "=== cluster: run "):]); m != nil {
			return m[1]
		}
	}
	return "?"
}

// sizes maps every file under dir to its size. The node may be running:
// a file deleted during the walk is left out.
func sizes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted during the walk
		}
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffSizes describes the files that shrank or vanished.
func diffSizes(before, after map[string]int64) string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(before)) {
		a, ok := after[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s (%d bytes) gone", name, before[name]))
		case a < before[name]:
			out = append(out, fmt.Sprintf("%s %d→%d bytes", name, before[name], a))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// TestMasterPowerLoss: the master syncs its Raft log behind its writes
// while the followers sync theirs (docs/replication.md), so when the
// master's machine loses power its log may come back shorter than it was
// written — but never without an entry a producer was told is stored: the
// master applies (and acknowledges) an entry only once its own copy is
// synced, and tells its followers no commit beyond that. x, on the
// filesystem whose power the test cuts, is made master, loses power under
// load, the others elect, x comes back and catches up; every acknowledged
// send is consumed.
func TestMasterPowerLoss(t *testing.T) {
	d, c, x, l, p, k := powerLossGroup(t)

	// Hand leadership around until x has it.
	m, _ := leader(t, c)
	for try := 0; m != x; try++ {
		if try == 8 {
			t.Fatalf("%s did not become master in %d hand-overs", x.ID, try)
		}
		if err := m.Restart(stopTimeout); err != nil {
			t.Fatal(err)
		}
		newMaster(t, c, m)
		m, _ = leader(t, c)
	}
	waitProgress(t, l, 300)

	before := status(t, x)
	acked := l.ackedCount()
	x.Kill()
	down, err := d.PowerLoss()
	if err != nil {
		t.Fatal(err)
	}
	next, took := newMaster(t, c, x)
	t.Logf("master %s lost power (disk away %s) after %d acknowledged sends, Raft last_index %d; %s master after %s",
		x.ID, down.Round(time.Millisecond), acked, before.LastIndex, next.ID, took.Round(time.Millisecond))
	waitProgress(t, l, 200)
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	after := raftUp(t, x)
	t.Logf("%s back: Raft log up to %d (was %d before the power loss), journal up to %s; caught up in %s",
		x.ID, after.LastIndex, before.LastIndex, journalMark(x), caughtUp(t, x, next).Round(time.Millisecond))
	finishLedger(t, l, p, k)
}
