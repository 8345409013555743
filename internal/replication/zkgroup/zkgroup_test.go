package zkgroup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/zktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testPath is where the tests' members register.
const testPath = "/pier/test"

// member returns the options of member id of a group of replicas on srv,
// saving its group under dir.
func member(srv *zktest.Server, dir, id string, replicas int) Options {
	return Options{Servers: []string{srv.Addr}, Path: testPath, SessionTimeout: time.Second, Replicas: replicas,
		Self:     Member{ID: id, Replication: "tcp://" + id + ".example:62621", Client: "tcp://" + id + ".example:61616", Broker: "orders"},
		SaveFile: filepath.Join(dir, id, "zookeeper-group.json")}
}

// logs collects the messages logged, safe for concurrent use.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// count returns how many times msg was logged.
func (l *logs) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// discover runs Discover for each of opts at once and returns their
// memberships (closed when the test ends) and errors, in order.
func discover(t *testing.T, log *slog.Logger, opts ...Options) ([]*Membership, []error) {
	t.Helper()
	ms := make([]*Membership, len(opts))
	errs := make([]error, len(opts))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Go(func() { ms[i], errs[i] = Discover(ctx, o, log.With("member", o.Self.ID)) })
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, m := range ms {
			if m != nil {
				m.Close()
			}
		}
	})
	return ms, errs
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// observer is a client of the test's own, to look at the znodes.
func observer(t *testing.T, srv *zktest.Server) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{srv.Addr}, time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// registered returns the ids registered under the test path, sorted.
func registered(c *zk.Conn) ([]string, error) {
	names, _, err := c.Children(testPath)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, n := range names {
		if !strings.HasPrefix(n, memberPrefix) {
			continue
		}
		data, _, err := c.Get(testPath + "/" + n)
		if err != nil {
			return nil, err
		}
		m, err := parseMember(data)
		if err != nil {
			return nil, err
		}
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids, nil
}

// eventually waits up to 20 s for cond to hold.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not after 20s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitTrio waits until a, b and c are registered, once each.
func awaitTrio(t *testing.T, c *zk.Conn, what string) {
	t.Helper()
	eventually(t, what, func() error {
		ids, err := registered(c)
		if err == nil && !slices.Equal(ids, []string{"a", "b", "c"}) {
			err = fmt.Errorf("registered %v", ids)
		}
		return err
	})
}

// formTrio forms a group of a, b and c on srv and checks that every
// member got the same one.
func formTrio(t *testing.T, srv *zktest.Server, dir string, log *slog.Logger) []*Membership {
	t.Helper()
	var opts []Options
	for _, id := range []string{"a", "b", "c"} {
		opts = append(opts, member(srv, dir, id, 3))
	}
	ms, errs := discover(t, log, opts...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %s: %v", opts[i].Self.ID, err)
		}
	}
	want := map[string]string{}
	for _, o := range opts {
		want[o.Self.ID] = o.Self.Replication
	}
	for i, m := range ms {
		if m.NodeID != opts[i].Self.ID || !mapsEqual(m.Peers, want) || m.Saved {
			t.Fatalf("member %s: node %s, peers %v, saved %v; want peers %v", opts[i].Self.ID, m.NodeID, m.Peers, m.Saved, want)
		}
	}
	return ms
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestThreeFormAGroup: three members started at once form one group, the
// same for all, written to ZooKeeper and saved by each.
func TestThreeFormAGroup(t *testing.T) {
	srv := zktest.Start(t)
	dir := t.TempDir()
	l := &logs{}
	formTrio(t, srv, dir, slog.New(l))
	if n := l.count("replicated group formed"); n != 3 {
		t.Errorf("%d members logged the group formed, want 3", n)
	}
	c := observer(t, srv)
	data, _, err := c.Get(testPath + "/" + groupNode)
	if err != nil {
		t.Fatal(err)
	}
	var g Group
	if err := json.Unmarshal(data, &g); err != nil || len(g.Members) != 3 || g.Broker != "orders" {
		t.Fatalf("group znode %s (%v)", data, err)
	}
	for _, id := range []string{"a", "b", "c"} {
		data, err := os.ReadFile(filepath.Join(dir, id, "zookeeper-group.json"))
		if err != nil {
			t.Fatal(err)
		}
		var sv saved
		if err := json.Unmarshal(data, &sv); err != nil || sv.NodeID != id || sv.Path != testPath || !mapsEqual(sv.Members, g.Members) {
			t.Errorf("saved file of %s: %s (%v), want the group znode's members", id, data, err)
		}
	}
	awaitTrio(t, c, "three registrations")
}

// TestFourthIsRefused: a member that registers once the group of three has
// formed gets a clear error naming the group's members and path.
func TestFourthIsRefused(t *testing.T) {
	srv := zktest.Start(t)
	dir := t.TempDir()
	formTrio(t, srv, dir, quiet())
	_, errs := discover(t, quiet(), member(srv, dir, "d", 3))
	err := errs[0]
	if !errors.Is(err, ErrNotMember) {
		t.Fatalf("fourth member: %v, want ErrNotMember", err)
	}
	for _, want := range []string{testPath + "/group", `"d"`, "a, b, c"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "d", "zookeeper-group.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused member saved a group (%v)", err)
	}
}

// TestRestartFromSavedFile: with ZooKeeper stopped, members that restart
// find their group in their saved file at once; when ZooKeeper is back
// they register again.
func TestRestartFromSavedFile(t *testing.T) {
	srv := zktest.Start(t)
	dir := t.TempDir()
	ms := formTrio(t, srv, dir, quiet())
	for _, m := range ms {
		m.Close()
	}
	srv.Stop()
	l := &logs{}
	start := time.Now()
	var opts []Options
	for _, id := range []string{"a", "b", "c"} {
		opts = append(opts, member(srv, dir, id, 3))
	}
	again, errs := discover(t, slog.New(l), opts...)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("restart from the saved file took %s with ZooKeeper down", took)
	}
	for i, m := range again {
		if errs[i] != nil {
			t.Fatalf("member %s: %v", opts[i].Self.ID, errs[i])
		}
		if !m.Saved || m.NodeID != ms[i].NodeID || !mapsEqual(m.Peers, ms[i].Peers) {
			t.Fatalf("member %s from its file: %+v, want the group %v", opts[i].Self.ID, m, ms[i].Peers)
		}
	}
	time.Sleep(3 * time.Second) // clients failing to connect, over and over
	if n := l.count("zookeeper unreachable"); n != 3 {
		t.Errorf("%d lines \"zookeeper unreachable\" from 3 members in 3 s, want 3 (one each)", n)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	c := observer(t, srv)
	awaitTrio(t, c, "registrations after ZooKeeper is back")
}

// TestReregisterAfterZooKeeperRestart: ZooKeeper is lost under a formed
// group and comes back as a new ensemble (its data wiped: every session
// expired, every znode gone). Each member says once that it was lost,
// registers again in a new session, and the group znode is written again
// from what the members saved.
func TestReregisterAfterZooKeeperRestart(t *testing.T) {
	srv := zktest.Start(t)
	l := &logs{}
	ms := formTrio(t, srv, t.TempDir(), slog.New(l))
	srv.Stop()
	time.Sleep(3 * time.Second)
	if n := l.count("zookeeper lost; the replicated group goes on without it"); n != 3 {
		t.Errorf("%d lines \"zookeeper lost\" from 3 members, want 3 (one each)", n)
	}
	if n := l.count("zookeeper unreachable"); n != 0 {
		t.Errorf("%d lines \"zookeeper unreachable\" after \"lost\", want none", n)
	}
	if err := srv.Wipe(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	c := observer(t, srv)
	awaitTrio(t, c, "registrations in the new ensemble")
	data, _, err := c.Get(testPath + "/" + groupNode)
	if err != nil {
		t.Fatalf("group znode not written again: %v", err)
	}
	g, err := parseGroup(data)
	if err != nil || !mapsEqual(g.Members, ms[0].Peers) {
		t.Fatalf("group znode %s (%v), want %v", data, err, ms[0].Peers)
	}
	// The new ensemble refuses the old sessions (it never saw the
	// transaction ids the clients present): each member starts a new one.
	if n := l.count("zookeeper refuses this member's session (a new ensemble?); starting a new one"); n != 3 {
		t.Errorf("%d lines \"zookeeper refuses this member's session\", want 3 (one each)", n)
	}
	if n := l.count("zookeeper back"); n != 3 {
		t.Errorf("%d lines \"zookeeper back\", want 3 (one each)", n)
	}
}

// TestBadZnodes: what Pier did not write under the path, or a member of
// another broker, is a clear error naming the znode, not a crash or a
// wait for ever.
func TestBadZnodes(t *testing.T) {
	for _, tc := range []struct {
		name, node, data, want string
	}{
		{"malformed member", "member-0000000000", "{not json", "member-0000000000: not a member registration (JSON)"},
		{"member without id", "member-0000000000", `{"replication":"tcp://h:1","broker":"orders"}`, `not a member registration: id ""`},
		{"member of another broker", "member-0000000000", `{"id":"x","replication":"tcp://h:1","broker":"billing"}`,
			`is member "x" of broker "billing", this broker is "orders"`},
		{"not sequential", "member-x", `{}`, "member-x: not a sequential member znode"},
		{"malformed group", "group", "[1,2]", testPath + "/group: not a group"},
		{"group of another broker", "group", `{"broker":"billing","members":{"a":"tcp://h:1"}}`,
			`is the group of broker "billing", this broker is "orders"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := zktest.Start(t)
			c := observer(t, srv)
			for _, p := range []string{"/pier", testPath} {
				if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Create(testPath+"/"+tc.node, []byte(tc.data), 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
			_, errs := discover(t, quiet(), member(srv, t.TempDir(), "a", 1))
			if !errors.Is(errs[0], ErrForeign) || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("Discover: %v\nwant ErrForeign with %q", errs[0], tc.want)
			}
		})
	}
}

// TestPassword: with a password, the znodes are ActiveMQ's digest user
// fabric's: a client without it reads nothing.
func TestPassword(t *testing.T) {
	srv := zktest.Start(t)
	o := member(srv, t.TempDir(), "a", 1)
	o.Password = "secret"
	ms, errs := discover(t, quiet(), o)
	if errs[0] != nil || ms[0].Peers["a"] == "" {
		t.Fatalf("Discover: %v", errs[0])
	}
	c := observer(t, srv)
	if _, _, err := c.Get(testPath + "/" + groupNode); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("group znode read without the password: %v, want ErrNoAuth", err)
	}
	if err := c.AddAuth("digest", []byte("fabric:secret")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(testPath + "/" + groupNode); err != nil {
		t.Fatalf("group znode with the password: %v", err)
	}
}

// TestSavedFileMismatch: a saved group formed for another path, broker or
// id is refused with what differs (no ZooKeeper needed).
func TestSavedFileMismatch(t *testing.T) {
	dir := t.TempDir()
	o := Options{Servers: []string{"127.0.0.1:1"}, Path: testPath, Replicas: 1,
		Self: Member{ID: "a", Replication: "tcp://127.0.0.1:1", Broker: "orders"}, SaveFile: filepath.Join(dir, "g.json")}
	if err := save(o, &Group{Broker: "orders", Members: map[string]string{"a": "tcp://127.0.0.1:1"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"path", func(o *Options) { o.Path = "/other" }, "formed under " + testPath + ", not /other"},
		{"broker", func(o *Options) { o.Self.Broker = "billing" }, `formed for broker "orders", not "billing"`},
		{"id", func(o *Options) { o.Self.ID = "b" }, `formed with this member as "a", not "b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := o
			tc.change(&o)
			_, err := Discover(context.Background(), o, quiet())
			if !errors.Is(err, ErrSaved) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Discover: %v, want ErrSaved with %q", err, tc.want)
			}
		})
	}
	if err := os.WriteFile(o.SaveFile, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(context.Background(), o, quiet()); err == nil || !strings.Contains(err.Error(), "g.json") {
		t.Fatalf("Discover with a torn file: %v", err)
	}
}

// TestWipedMemberFindsItsGroup: a member whose data directory was wiped
// (no saved file) and that keeps its id and replication address finds
// itself in the group znode and gets the same group; with another address
// it is refused (two members with one id).
func TestWipedMemberFindsItsGroup(t *testing.T) {
	srv := zktest.Start(t)
	ms := formTrio(t, srv, t.TempDir(), quiet())
	ms[0].Close()
	again, errs := discover(t, quiet(), member(srv, t.TempDir(), "a", 3))
	if errs[0] != nil || !mapsEqual(again[0].Peers, ms[0].Peers) || again[0].Saved {
		t.Fatalf("wiped member: %v, %+v; want the group %v", errs[0], again[0], ms[0].Peers)
	}
	moved := member(srv, t.TempDir(), "b", 3)
	moved.Self.Replication = "tcp://elsewhere.example:62621"
	_, errs = discover(t, quiet(), moved)
	if !errors.Is(errs[0], ErrNotMember) || !strings.Contains(errs[0].Error(), "two members with one node_id") {
		t.Fatalf("member b at another address: %v, want ErrNotMember naming the address", errs[0])
	}
}
