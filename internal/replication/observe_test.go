package replication

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects the records of every node of a group.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines that contain every one of want.
func (b *logBuffer) lines(want ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		ok := l != ""
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

func waitLines(t *testing.T, b *logBuffer, what string, want ...string) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ls := b.lines(want...); len(ls) > 0 {
			return ls
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s line (%q)", what, want)
		}
	}
}

// TestStateLines: a group says each change of state once, at INFO:
// who became master, whom the others follow, a member away and back, a
// takeover; and no record names its component twice.
func TestStateLines(t *testing.T) {
	var logs logBuffer
	g := newGroup(t, 3, func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	leader, _ := g.master()
	waitLines(t, &logs, "became master", `msg="became master"`, "node="+leader)
	for _, id := range g.ids {
		if id != leader {
			waitLines(t, &logs, "following", "level=INFO", "msg=following", "node="+id, "master="+leader, "master_addr="+g.peers[leader])
		}
	}
	follower := g.ids[0]
	if follower == leader {
		follower = g.ids[1]
	}
	g.stop(follower)
	waitLines(t, &logs, "member away", "level=WARN", "node="+leader, "peer="+follower)
	time.Sleep(500 * time.Millisecond) // a heartbeat every few tens of milliseconds fails meanwhile
	if n := len(logs.lines("node="+leader, "peer="+follower, "failed to")); n > 2 {
		t.Errorf("%d lines about the member away within half a second:\n%s", n, strings.Join(logs.lines("peer="+follower), "\n"))
	}
	g.start(follower)
	waitLines(t, &logs, "member back", "level=INFO", `msg="member answers again"`, "node="+leader, "peer="+follower)

	if _, took := g.nodes[leader].TakeoverStart(); took {
		t.Error("the first master took over from nobody")
	}
	g.stop(leader)
	next, n := g.master()
	waitLines(t, &logs, "master lost", `msg="master lost; electing a new one"`, "last_master="+leader)
	if from, took := n.TakeoverStart(); !took || time.Since(from) > 10*time.Second {
		t.Errorf("%s took over: TakeoverStart = %v, %v", next, from, took)
	}
	for _, l := range logs.lines("component=") {
		if strings.Count(l, "component=") > 1 {
			t.Errorf("component twice: %s", l)
		}
		if strings.Count(l, " node=") > 1 {
			t.Errorf("node twice: %s", l)
		}
	}
}
