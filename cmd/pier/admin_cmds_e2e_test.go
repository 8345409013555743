package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/admin"
	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store/storetest"
)

// TestAdminCommandsOverConsole: the commands against a real console over
// a real broker with users: what they print, what they change, and their
// errors (401, 403, 404) as the console says them.
func TestAdminCommandsOverConsole(t *testing.T) {
	var users []auth.User
	for name, group := range map[string]string{"admin": "admins", "viewer": "users"} {
		h, err := auth.HashPassword(name+"-pw", 4)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, auth.User{Name: name, Hash: h, Groups: []string{group}})
	}
	g, err := auth.New(auth.Options{Enforced: true, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.NewMemory(0)
	b, err := broker.New(broker.Config{Guard: g, MaxRedeliveries: broker.DefaultMaxRedeliveries}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ts := httptest.NewServer(admin.New(admin.Options{Ready: func() bool { return true }, Guard: g,
		Core: func() admin.Core { return b }}, nil).Handler())
	t.Cleanup(ts.Close)
	c, err := b.Connect(context.Background(), broker.ConnOptions{Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 4 {
		m := &message.Message{Dest: message.Destination{Kind: message.Queue, Name: "orders"}, Persistent: true,
			BodyKind: message.Text, Body: fmt.Appendf(nil, "order %d", i)}
		if err := c.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	admin := []string{"--console", ts.URL, "--user", "admin", "--password", "admin-pw"}
	out := normalize(pier(t, runQueue, append([]string{"list"}, admin...)...))
	wantLines(t, "queue list", out, "NAME TYPE DEPTH IN FLIGHT ENQUEUED DEQUEUED EXPIRED CONSUMERS PRODUCERS",
		"orders queue 4 0 4 0 0 0 0")
	out = pier(t, runQueue, append([]string{"browse", "orders", "--limit", "2"}, admin...)...)
	if ls := lines(out); len(ls) != 4 || !strings.Contains(ls[1], "order 0") || !strings.Contains(ls[2], "order 1") ||
		ls[3] != "(1 to 2 of 4 messages on orders)" {
		t.Errorf("browse:\n%s", out)
	}
	wantLines(t, "move", pier(t, runQueue, append([]string{"move", "orders", "--to", "queue://held"}, admin...)...),
		"moved 4 message(s) from orders to queue://held")
	if st.Count("queue://orders") != 0 || st.Count("queue://held") != 4 {
		t.Fatalf("store: orders %d, held %d", st.Count("queue://orders"), st.Count("queue://held"))
	}
	wantLines(t, "purge", pier(t, runQueue, append([]string{"purge", "held"}, admin...)...), "purged 4 message(s) from held")
	if st.Count("queue://held") != 0 {
		t.Fatalf("store: held %d after the purge", st.Count("queue://held"))
	}
	wantLines(t, "delete", pier(t, runQueue, append([]string{"delete", "held"}, admin...)...), "deleted queue held")

	for _, tt := range []struct {
		args []string
		want string
	}{
		{append([]string{"purge", "missing"}, admin...), "purge: 404 no such queue missing"},
		{[]string{"purge", "orders", "--console", ts.URL, "--user", "viewer", "--password", "viewer-pw"},
			"purge: 403 user viewer may only look: changes are for members of admins (console.admin_groups)"},
		{[]string{"list", "--console", ts.URL}, "list: 401 login required"},
		{[]string{"list", "--console", ts.URL, "--user", "admin", "--password", "nope"},
			"list: 401 authentication failed: User name [admin] or password is invalid."},
		{append([]string{"move", "orders", "--to", "queue://a.*"}, admin...), "move: 400 bad destination"},
	} {
		_, _, err := try(runQueue, tt.args...)
		var ae *apiError
		if !errors.As(err, &ae) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("queue %q: %v, want %q", tt.args, err, tt.want)
		}
	}
	out = normalize(pier(t, runGroup, append([]string{"status"}, admin...)...))
	wantLines(t, "group status", out, "group: single", "role: master")
	out = pier(t, runConn, append([]string{"list"}, admin...)...)
	if !strings.Contains(out, "ID:") {
		t.Errorf("conn list:\n%s", out)
	}
}
