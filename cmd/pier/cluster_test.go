package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/admin"
	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/replication"
)

func TestClusterStatus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n, err := replication.Open(context.Background(), replication.Config{
		NodeID: "n1", Bind: addr, Peers: map[string]string{"n1": addr}, Dir: t.TempDir(), ClientURL: "tcp://127.0.0.1:61616",
		HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond, LeaderLeaseTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.Await(ctx); err != nil {
		t.Fatal(err)
	}
	dead := "127.0.0.1:1" // nothing listens there
	// A member that does not answer: the group is degraded (exit 1).
	var out, errb bytes.Buffer
	if code := run([]string{"cluster", "status", "--json", "--peers", "n1=" + addr + ",n2=" + dead}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "the group is degraded: 1 of 2 members do not answer (n2)") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []memberRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(rows) != 2 || rows[0].ID != "n1" || rows[0].State != "Leader" || rows[0].Leader != "n1" ||
		rows[0].ClientURL != "tcp://127.0.0.1:61616" || rows[0].AppliedIndex == 0 ||
		rows[1].State != "unreachable" || rows[1].Error != "connection refused (not running?)" {
		t.Fatalf("status rows: %+v", rows)
	}
	// In the table, the error has its own column, not the client URL's.
	out.Reset()
	run([]string{"cluster", "status", "--peers", "n1=" + addr + ",n2=" + dead}, &out, &errb)
	if ls := lines(out.String()); len(ls) != 3 || !strings.HasSuffix(strings.Join(strings.Fields(ls[0]), " "), "CLIENT URL ERROR") ||
		!strings.HasSuffix(strings.TrimSpace(ls[1]), "tcp://127.0.0.1:61616") || !strings.Contains(ls[2], "unreachable") ||
		!strings.HasSuffix(ls[2], "connection refused (not running?)") {
		t.Errorf("table:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"cluster", "status", "--peers", "n1=" + addr}, &out, &errb); code != 0 || !strings.Contains(out.String(), "Leader") ||
		strings.Contains(out.String(), "ERROR") {
		t.Fatalf("table (exit %d): %s", code, out.String())
	}
	if code := run([]string{"cluster", "status"}, &out, &errb); code != 1 {
		t.Fatalf("no members: exit %d", code)
	}
}

// TestReplicatedStoreIsTheGate: what serve wires for store.kind replicated
// comes with the server's gate, lease guard included (a gate without Valid
// would leave a stalled master serving).
func TestReplicatedStoreIsTheGate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	src := "broker:\n  data_dir: " + dir + "\nstore:\n  kind: replicated\n  replicated:\n    node_id: n1\n" +
		"    election_timeout: 50ms\n    peers:\n      n1: tcp://" + addr + "\n"
	path := filepath.Join(dir, "pier.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var urls func() []string
	var group atomic.Pointer[func(context.Context) admin.Group]
	st, gate, err := openReplicated(context.Background(), cfg, slog.New(slog.DiscardHandler), func() {}, &urls, &group, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if group.Load() == nil {
		t.Error("no group for the console after the node opened")
	}
	if gate == nil {
		t.Fatal("the replicated store is opened without a gate")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := gate.Await(ctx); err != nil {
		t.Fatal(err)
	}
	// With a 50 ms election timeout, a scheduling hiccup of 13 ms counts as
	// a stall (until leadership is confirmed again), so allow a moment.
	for deadline := time.Now().Add(2 * time.Second); !gate.Valid(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the master of a one-replica group is not valid")
		}
	}
}

// TestClusterStatusMutualTLS: against a replication port with mutual TLS,
// cluster status answers with the group's certificate (given as flags, or
// a member's configuration) and fails at once without one.
func TestClusterStatusMutualTLS(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	other := filepath.Join(dir, "other")
	for _, args := range [][]string{{"--dir", certs, "n1", "admin"}, {"--dir", other, "stranger"}} {
		if code, out := runCertsCmd(t, args...); code != 0 {
			t.Fatalf("certs: exit %d: %s", code, out)
		}
	}
	addr := freeTCPAddr(t)
	src := "broker:\n  data_dir: " + filepath.Join(dir, "data") + "\nstore:\n  kind: replicated\n  replicated:\n    node_id: n1\n" +
		"    election_timeout: 50ms\n    peers:\n      n1: tcp://" + addr + "\n    tls:\n" +
		"      cert_file: " + filepath.Join(certs, "n1.crt") + "\n      key_file: " + filepath.Join(certs, "n1.key") +
		"\n      ca_file: " + filepath.Join(certs, "group-ca.crt") + "\n"
	path := filepath.Join(dir, "n1.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var urls func() []string
	var group atomic.Pointer[func(context.Context) admin.Group]
	st, _, err := openReplicated(context.Background(), cfg, slog.New(slog.DiscardHandler), func() {}, &urls, &group, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitMaster(t, path) // a group without a master is degraded: status exits 1

	peers := "n1=" + addr
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"member configuration", []string{"--config", path}, 0, "n1"},
		{"admin certificate", []string{"--peers", peers, "--cert", filepath.Join(certs, "admin.crt"),
			"--key", filepath.Join(certs, "admin.key"), "--ca", filepath.Join(certs, "group-ca.crt")}, 0, "n1"},
		{"no certificate", []string{"--peers", peers}, 1, "give --cert, --key and --ca"},
		{"only the CA", []string{"--peers", peers, "--ca", filepath.Join(certs, "group-ca.crt")}, 1, "certificate required"},
		{"another CA", []string{"--peers", peers, "--cert", filepath.Join(other, "stranger.crt"),
			"--key", filepath.Join(other, "stranger.key"), "--ca", filepath.Join(other, "group-ca.crt")}, 1, "not of the group"},
		{"missing file", []string{"--peers", peers, "--cert", filepath.Join(certs, "nobody.crt"),
			"--key", filepath.Join(certs, "admin.key"), "--ca", filepath.Join(certs, "group-ca.crt")}, 1, "--cert: open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			start := time.Now()
			code := run(append([]string{"cluster", "status"}, tc.args...), &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", code, tc.code, tc.want, out.String(), errb.String())
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
