package replication

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// jsonLines decodes the records a JSON handler wrote.
func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		recs = append(recs, m)
	}
	return recs
}

func TestRaftLoggerAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	members := map[string]string{"127.0.0.1:7001": "b"}
	l := newRaftLogger(log, nil, func(a string) string { return members[a] })

	l.Error("failed to heartbeat to", "peer", raft.ServerAddress("127.0.0.1:7001"), "backoff time", 25*time.Millisecond,
		"error", errors.New("dial tcp 127.0.0.1:7001: connect: connection refused"))
	l.Named("snapshot").With("path", "/x").Info("creating new snapshot", "server-id", raft.ServerID("c"))
	l.Warn("failed to make requestVote RPC", "target", raft.Server{ID: "c", Address: "127.0.0.1:7002"}, "term", uint64(7))
	l.Info("odd", "k")
	l.Debug("quiet at info")
	l.Trace("quieter")

	recs := jsonLines(t, &buf)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4 (debug and trace are below raft's level):\n%s", len(recs), buf.String())
	}
	want := []map[string]any{
		{"level": "WARN", "msg": "failed to heartbeat to", "lib": "raft", "peer": "b", "backoff_time": "25ms",
			"err": "dial tcp 127.0.0.1:7001: connect: connection refused"},
		{"level": "INFO", "msg": "creating new snapshot", "lib": "raft.snapshot", "path": "/x", "peer": "c"},
		{"level": "WARN", "msg": "failed to make requestVote RPC", "peer": "c", "term": float64(7)},
		{"level": "INFO", "msg": "odd", "extra": "k"},
	}
	for i, w := range want {
		for k, v := range w {
			if recs[i][k] != v {
				t.Errorf("record %d: %s = %v (%T), want %v\n%v", i, k, recs[i][k], recs[i][k], v, recs[i])
			}
		}
	}
	// Raft's text is not inside msg any more.
	if strings.Contains(buf.String(), `msg="[`) || strings.Contains(buf.String(), "raft: ") {
		t.Errorf("raft's own formatting leaked:\n%s", buf.String())
	}

	buf.Reset()
	l.SetLevel(hclog.Debug)
	if !l.IsDebug() || l.IsTrace() || l.GetLevel() != hclog.Debug {
		t.Errorf("level %v: IsDebug %v, IsTrace %v", l.GetLevel(), l.IsDebug(), l.IsTrace())
	}
	l.Named("x").Debug("now shown") // derived loggers share the level
	if recs := jsonLines(t, &buf); len(recs) != 1 || recs[0]["msg"] != "now shown" {
		t.Errorf("after SetLevel(Debug): %s", buf.String())
	}

	buf.Reset()
	l.StandardLogger(nil).Print("[WARN] from the standard library")
	if recs := jsonLines(t, &buf); len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["msg"] != "from the standard library" {
		t.Errorf("standard logger: %s", buf.String())
	}
}

// TestRaftLoggerCleanStop: what raft says of a connection cut short by a
// clean stop is not an error.
func TestRaftLoggerCleanStop(t *testing.T) {
	var buf bytes.Buffer
	l := newRaftLogger(slog.New(slog.NewTextHandler(&buf, nil)), nil, nil)
	l.Error("failed to decode incoming command", "error", raft.ErrTransportShutdown)
	l.Error("failed to appendEntries to", "peer", "x", "error", fmt.Errorf("send: %w", raft.ErrRaftShutdown))
	if buf.Len() != 0 {
		t.Errorf("a clean stop logged at info or above:\n%s", buf.String())
	}
	l.Error("failed to decode incoming command", "error", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
	if !strings.Contains(buf.String(), "level=WARN") {
		t.Errorf("a member's connection reset: %q", buf.String())
	}
	buf.Reset()
	l.Error("failed to decode incoming command", "error", errors.New("unknown rpc type 99"))
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("a real failure: %q", buf.String())
	}
}

func TestRaftLoggerTextHasNoEscapedMessage(t *testing.T) {
	var buf bytes.Buffer
	l := newRaftLogger(slog.New(slog.NewTextHandler(&buf, nil)), nil, nil)
	l.Info("entering follower state", "follower", "Node at 127.0.0.1:1 [Follower]", "leader-address", "", "leader-id", "")
	got := buf.String()
	for _, want := range []string{`msg="entering follower state"`, `lib=raft`, `follower="Node at 127.0.0.1:1 [Follower]"`, `leader_address=""`} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %s", got, want)
		}
	}
}

// TestRaftLoggerHoldsBackRepeats: a member that is down makes raft log a
// failed heartbeat several times a second; the log shows the first, then
// one an interval with the count held back, per member.
func TestRaftLoggerHoldsBackRepeats(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	rep := newRepeats(30*time.Second, func() time.Time { return now })
	l := newRaftLogger(slog.New(slog.NewJSONHandler(&buf, nil)), rep, func(a string) string {
		return map[string]string{"b:1": "b", "c:1": "c"}[a]
	})
	beat := func(addr string) {
		l.Error("failed to heartbeat to", "peer", raft.ServerAddress(addr), "error", errors.New("refused"))
	}
	for range 90 { // 30 s at three a second
		beat("b:1")
		l.Error("failed to appendEntries to", "peer", raft.Server{ID: "b", Address: "b:1"}, "error", errors.New("refused"))
		now = now.Add(time.Second / 3)
	}
	now = time.Unix(1030, 0)
	beat("c:1") // another member: its own first line
	beat("b:1") // 30 s on: one line, with the count
	now = now.Add(time.Second)
	beat("b:1")
	recs := jsonLines(t, &buf)
	if len(recs) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(recs), buf.String())
	}
	if recs[0]["peer"] != "b" || recs[0]["suppressed"] != nil {
		t.Errorf("first line: %v", recs[0])
	}
	if recs[1]["peer"] != "c" || recs[1]["suppressed"] != nil {
		t.Errorf("another member's first line: %v", recs[1])
	}
	// 89 heartbeats and 90 appends held back in between.
	if recs[2]["peer"] != "b" || recs[2]["suppressed"] != float64(179) || recs[2]["for"] != "30s" {
		t.Errorf("the line after the interval: %v", recs[2])
	}

	// The member answers again: the condition is over, and how long it
	// lasted is reported once.
	ok, since, lines := rep.resetPeer("b")
	if !ok || !since.Equal(time.Unix(1000, 0)) || lines != 182 {
		t.Errorf("resetPeer(b) = %v, %v, %d", ok, since, lines)
	}
	if ok, _, _ := rep.resetPeer("b"); ok {
		t.Error("resetPeer twice reported a condition")
	}
	buf.Reset()
	beat("b:1") // down again: said at once
	if recs := jsonLines(t, &buf); len(recs) != 1 || recs[0]["suppressed"] != nil {
		t.Errorf("after the member was back: %s", buf.String())
	}

	// Lines that do not repeat pass untouched.
	buf.Reset()
	for range 5 {
		l.Info("snapshot complete")
	}
	if recs := jsonLines(t, &buf); len(recs) != 5 {
		t.Errorf("%d of 5 ordinary lines", len(recs))
	}
}

func TestRepeatsElectionLines(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	rep := newRepeats(30*time.Second, func() time.Time { return now })
	l := newRaftLogger(slog.New(slog.NewJSONHandler(&buf, nil)), rep, nil)
	// Without a quorum, a candidate starts an election every second or so.
	for i := range 60 {
		l.Warn("heartbeat timeout reached, starting election", "last-leader-addr", "", "last-leader-id", "")
		l.Info("entering candidate state", "node", "n", "term", i)
		now = now.Add(time.Second)
	}
	recs := jsonLines(t, &buf)
	// Each message once at first, once more after 30 s.
	if len(recs) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(recs), buf.String())
	}
	rep.reset()
	buf.Reset()
	l.Info("entering candidate state", "term", 61)
	if recs := jsonLines(t, &buf); len(recs) != 1 {
		t.Errorf("after reset: %s", buf.String())
	}
}
