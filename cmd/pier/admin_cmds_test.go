package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/piermq/pier/internal/admin"
	"github.com/piermq/pier/internal/replication"
)

// stubAPI answers the REST API's requests from a table ("METHOD
// /path?query" to status and body) and records what it was sent.
type stubAPI struct {
	answers map[string]stubAnswer
	mu      sync.Mutex
	seen    []string // "METHOD /path?query body user"
}

type stubAnswer struct {
	code int
	body string
}

func (s *stubAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	user, _, _ := r.BasicAuth()
	key := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		key += "?" + r.URL.RawQuery
	}
	s.mu.Lock()
	seen := key
	for _, part := range []string{string(body), user} {
		if part != "" {
			seen += " " + part
		}
	}
	s.seen = append(s.seen, seen)
	s.mu.Unlock()
	a, ok := s.answers[key]
	if !ok {
		a = stubAnswer{404, `{"error":"no such endpoint: ` + key + `"}`}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.code)
	io.WriteString(w, a.body)
}

// startStub serves answers; it returns the console address and the stub.
func startStub(t *testing.T, answers map[string]stubAnswer) (string, *stubAPI) {
	t.Helper()
	s := &stubAPI{answers: answers}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL, s
}

func (s *stubAPI) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.seen
	s.seen = nil
	return r
}

func TestQueueCommands(t *testing.T) {
	url, stub := startStub(t, map[string]stubAnswer{
		"GET /api/v1/destinations?limit=100&offset=0&sort=name&type=queue": {200,
			`{"total":3,"items":[{"name":"orders","type":"queue","depth":2,"in_flight":1,"enqueued":10,"dequeued":8,"expired":1,"consumers":3,"producers":4}]}`},
		"GET /api/v1/destinations?desc=1&limit=5&offset=0&q=ord&sort=depth": {200, `{"total":0,"items":[]}`},
		"GET /api/v1/queues/a%2Fb/messages?limit=50&offset=0": {200,
			`{"total":1,"offset":0,"items":[{"id":"m1","position":0,"timestamp":0,"priority":4,"persistent":true,"delivery_count":1,"original_destination":"queue://x","body_kind":"text","body_size":5,"body_preview":"hello\nworld"}]}`},
		"POST /api/v1/queues/orders/purge":       {200, `{"removed":7}`},
		"POST /api/v1/queues/orders/move":        {200, `{"moved":2}`},
		"POST /api/v1/queues/ActiveMQ.DLQ/retry": {200, `{"retried":3}`},
		"DELETE /api/v1/queues/orders":           {204, ``},
		"POST /api/v1/queues/missing/purge":      {404, `{"error":"no such queue missing"}`},
	})
	t.Setenv("PIER_PASSWORD", "pw")
	out := pier(t, runQueue, "list", "--console", url, "--user", "admin")
	wantLines(t, "queue list", normalize(out),
		"NAME TYPE DEPTH IN FLIGHT ENQUEUED DEQUEUED EXPIRED CONSUMERS PRODUCERS",
		"orders queue 2 1 10 8 1 3 4",
		"(1 to 1 of 3; --offset and --limit show others)")
	pier(t, runQueue, "list", "--console", url, "--type", "all", "--filter", "ord", "--sort", "depth", "--desc", "--limit", "5")
	out = pier(t, runQueue, "browse", "a/b", "--console", url)
	if ls := lines(out); len(ls) != 3 || !strings.Contains(ls[1], "m1") || !strings.Contains(ls[1], "hello world") ||
		!strings.Contains(ls[1], "queue://x") || ls[2] != "(1 to 1 of 1 messages on a/b)" {
		t.Errorf("browse printed:\n%s", out)
	}
	wantLines(t, "purge", pier(t, runQueue, "purge", "--console", url, "orders"), "purged 7 message(s) from orders")
	wantLines(t, "move", pier(t, runQueue, "move", "orders", "--console", url, "--to", "queue://other", "--ids", "m1, m2", "--copy"),
		"copied 2 message(s) from orders to queue://other")
	wantLines(t, "retry", pier(t, runQueue, "retry", "ActiveMQ.DLQ", "--console", url),
		"sent 3 message(s) from ActiveMQ.DLQ back to their original destinations")
	wantLines(t, "delete", pier(t, runQueue, "delete", "orders", "--console", url), "deleted queue orders")
	wantLines(t, "purge --json", pier(t, runQueue, "purge", "orders", "--console", url, "--json"), "{", `  "removed": 7`, "}")
	want := []string{
		"GET /api/v1/destinations?limit=100&offset=0&sort=name&type=queue admin",
		"GET /api/v1/destinations?desc=1&limit=5&offset=0&q=ord&sort=depth",
		"GET /api/v1/queues/a%2Fb/messages?limit=50&offset=0",
		"POST /api/v1/queues/orders/purge {}",
		`POST /api/v1/queues/orders/move {"ids":["m1","m2"],"to":"queue://other","copy":true}`,
		"POST /api/v1/queues/ActiveMQ.DLQ/retry {}",
		"DELETE /api/v1/queues/orders",
		"POST /api/v1/queues/orders/purge {}",
	}
	if got := stub.requests(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// An HTTP error: non-zero, with the status and the console's words.
	_, _, err := try(runQueue, "purge", "missing", "--console", url)
	var ae *apiError
	var se *subcommandError
	if !errors.As(err, &ae) || !errors.As(err, &se) || se.name != "purge" || err.Error() != "purge: 404 no such queue missing" {
		t.Errorf("purge of a missing queue: %v", err)
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"purge"}, {"purge", "a", "b"}, {"list", "--bogus"}} {
		if _, _, err := try(runQueue, args...); !errors.Is(err, errUsage) {
			t.Errorf("queue %q: %v, want a usage error", args, err)
		}
	}
	if _, _, err := try(runQueue, "move", "orders", "--console", url); err == nil || !strings.Contains(err.Error(), "--to") {
		t.Errorf("move without --to: %v", err)
	}
	if _, _, err := try(runQueue, "list", "--console", url, "--type", "temp"); err == nil || !strings.Contains(err.Error(), "--type") {
		t.Errorf("list --type temp: %v", err)
	}
}

// normalize collapses the runs of spaces of a table.
func normalize(s string) string {
	var out []string
	for _, l := range lines(s) {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(out, "\n") + "\n"
}

func TestConnCommands(t *testing.T) {
	url, stub := startStub(t, map[string]stubAnswer{
		"GET /api/v1/connections": {200,
			`{"total":1,"items":[{"id":"ID:c-1","protocol":"stomp","remote":"127.0.0.1:5000","user":"alice","client_id":"app","since":"2026-01-02T03:04:05Z","consumers":1,"producers":2}]}`},
		"DELETE /api/v1/connections/ID:c-1": {204, ``},
		"DELETE /api/v1/connections/ID:x":   {403, `{"error":"user viewer may only look"}`},
	})
	out := normalize(pier(t, runConn, "list", "--console", url))
	if ls := lines(out); len(ls) != 2 || !strings.HasPrefix(ls[1], "ID:c-1 stomp 127.0.0.1:5000 alice app 1 2 ") {
		t.Errorf("conn list:\n%s", out)
	}
	wantLines(t, "conn close", pier(t, runConn, "close", "ID:c-1", "--console", url), "closed connection ID:c-1")
	if _, _, err := try(runConn, "close", "ID:x", "--console", url); err == nil || err.Error() != "close: 403 user viewer may only look" {
		t.Errorf("refused close: %v", err)
	}
	if got := stub.requests(); len(got) != 3 {
		t.Errorf("requests %q", got)
	}
}

func TestGroupCommand(t *testing.T) {
	healthy := `{"kind":"replicated","role":"replica","self":"b","master":"a (tcp://h:1)","term":3,"members":[
		{"id":"a","address":"h:2","role":"master","state":"Leader","term":3,"commit_index":9,"applied_index":9,"lag":0,"client_url":"tcp://h:1"},
		{"id":"b","address":"h:3","role":"replica","state":"Follower","term":3,"commit_index":9,"applied_index":8,"lag":1}]}`
	url, _ := startStub(t, map[string]stubAnswer{"GET /api/v1/group": {200, healthy}})
	out := normalize(pier(t, runGroup, "status", "--console", url))
	wantLines(t, "group status", out,
		"group: replicated", "role: replica", "self: b", "master: a (tcp://h:1)", "term: 3", "",
		"ID ADDRESS ROLE STATE TERM COMMIT APPLIED LAG CLIENT URL",
		"a h:2 master Leader 3 9 9 0 tcp://h:1",
		"b h:3 replica Follower 3 9 8 1")
	down := `{"kind":"replicated","role":"replica","self":"b","members":[
		{"id":"a","address":"h:2","error":"connection refused"},{"id":"b","address":"h:3","role":"replica","state":"Candidate"}]}`
	url, _ = startStub(t, map[string]stubAnswer{"GET /api/v1/group": {200, down}})
	if _, _, err := try(runGroup, "status", "--console", url); !errors.Is(err, errDegraded) || !strings.Contains(err.Error(), "no answer from a") {
		t.Errorf("degraded group: %v", err)
	}
	url, _ = startStub(t, map[string]stubAnswer{"GET /api/v1/group": {200, `{"kind":"single","role":"master","members":[]}`}})
	wantLines(t, "single", pier(t, runGroup, "status", "--console", url), "group:  single", "role:   master")
	if _, _, err := try(runGroup, "status", "--console", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("no console: %v", err)
	}
}

func TestGroupWiring(t *testing.T) {
	g := claimGroup("shared-directory", func() bool { return false })(context.Background())
	if g.Kind != "shared-directory" || g.Role != "slave" {
		t.Errorf("claim group %+v", g)
	}
	self := func() replication.Status {
		return replication.Status{ID: "b", Address: "h:3", State: "Follower", Term: 4, AppliedIndex: 7, Leader: "a"}
	}
	// a does not answer (nothing listens on port 1).
	g = replicatedGroup(self, map[string]string{"a": "127.0.0.1:1", "b": "h:3"}, nil)(context.Background())
	want := admin.Group{Kind: "replicated", Role: "replica", Self: "b", Master: "a", Term: 4}
	if g.Kind != want.Kind || g.Role != want.Role || g.Self != want.Self || g.Master != want.Master || g.Term != want.Term ||
		len(g.Members) != 2 || g.Members[0].ID != "a" || g.Members[0].Error == "" || g.Members[1].Role != "replica" ||
		g.Members[1].Lag != 0 {
		t.Errorf("replicated group %+v", g)
	}
}
