package main

import (
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client/clienttest"
	"github.com/piermq/pier/internal/admin"
	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/network"
)

// startConsole serves a console whose network has bridges; it returns the
// console's host:port.
func startConsole(t *testing.T, bridges []network.Status) string {
	t.Helper()
	opts := admin.Options{Ready: func() bool { return true }}
	if bridges != nil {
		opts.Network = func() []network.Status { return bridges }
	}
	ts := httptest.NewServer(admin.New(opts, nil).Handler())
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

func TestNetworkStatus(t *testing.T) {
	bridges := []network.Status{
		{Connector: "east", Remote: "tcp://10.0.0.2:61616", RemoteBroker: "b2", Address: "tcp://10.0.0.2:61616",
			State: network.StateConnected, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local),
			Demand: 3, Subs: 2, Forwarded: 40, Sent: 39, DeadLettered: 2, Connects: 1},
		{Connector: "east", Remote: "tcp://10.0.0.3:61616", State: network.StateBackoff,
			LastError: "dial tcp 10.0.0.3:61616: connection refused", Connects: 4},
	}
	addr := startConsole(t, bridges)

	out := pier(t, runNetwork, "status", "--console", addr)
	ls := lines(out)
	if len(ls) != 3 {
		t.Fatalf("want a header and two rows:\n%s", out)
	}
	for _, col := range []string{"CONNECTOR", "REMOTE", "BROKER", "STATE", "SINCE", "DEMAND", "SUBS",
		"FORWARDED", "SENT", "DLQ", "CONNECTS", "LAST ERROR"} {
		if !strings.Contains(ls[0], col) {
			t.Errorf("header without %s: %q", col, ls[0])
		}
	}
	if f := strings.Fields(ls[1]); strings.Join(f, " ") !=
		"east tcp://10.0.0.2:61616 b2 connected 2026-01-02 03:04:05 3 2 40 39 2 1" {
		t.Errorf("connected row: %q", ls[1])
	}
	if !strings.Contains(ls[2], "backing off") || !strings.HasSuffix(ls[2], "connection refused") {
		t.Errorf("backing-off row: %q", ls[2])
	}

	var got struct{ Bridges []network.Status }
	js := pier(t, runNetwork, "status", "--console", addr, "--json")
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("--json: %v: %s", err, js)
	}
	if len(got.Bridges) != 2 || !got.Bridges[0].Since.Equal(bridges[0].Since) || got.Bridges[1].LastError != bridges[1].LastError {
		t.Fatalf("--json: %s", js)
	}

	// From the configuration's console.listen; no connectors: no rows and
	// no LAST ERROR column.
	cfg := filepath.Join(t.TempDir(), "pier.yaml")
	if err := os.WriteFile(cfg, []byte("console:\n  listen: "+startConsole(t, nil)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = pier(t, runNetwork, "status", "--config", cfg)
	if ls := lines(out); len(ls) != 1 || strings.Contains(out, "LAST ERROR") {
		t.Fatalf("no connectors:\n%s", out)
	}
	if js := pier(t, runNetwork, "status", "--config", cfg, "--json"); strings.TrimSpace(js) != `{"bridges":[]}` {
		t.Fatalf("no connectors --json: %s", js)
	}
}

func TestNetworkStatusErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now

	var out, errb strings.Builder
	if code := run([]string{"network", "status", "--console", dead}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "pier network: console "+dead+" unreachable") {
		t.Fatalf("unreachable console: exit %d, stderr %q", code, errb.String())
	}
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"network"}, 2},
		{[]string{"network", "stats"}, 2},
		{[]string{"network", "status", "--bogus"}, 2},
		{[]string{"network", "status", "extra"}, 2},
		{[]string{"network", "status", "--console", dead, "--config", "pier.yaml"}, 1},
		{[]string{"network", "--help"}, 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb strings.Builder
			if code := run(tt.args, &out, &errb); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, errb.String())
			}
		})
	}
}

// startSecureConsole serves a console over HTTPS with a certificate of ca,
// where admin (password secret) may log in; it returns its host:port.
func startSecureConsole(t *testing.T, ca *clienttest.CA, bridges []network.Status) string {
	t.Helper()
	g, err := auth.New(auth.Options{Enforced: true, FailDelay: time.Millisecond, MaxFailDelay: time.Millisecond,
		Users: []auth.User{{Name: "admin", Hash: "secret", Plain: true, Groups: []string{"admins"}}}})
	if err != nil {
		t.Fatal(err)
	}
	opts := admin.Options{Ready: func() bool { return true }, Guard: g,
		Network: func() []network.Status { return bridges }}
	ts := httptest.NewUnstartedServer(admin.New(opts, nil).Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	ts.TLS = ca.ServerConfig(t)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "https://")
}

func TestNetworkStatusHTTPS(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	caFile, _, _ := ca.Files(t, "unused")
	addr := startSecureConsole(t, ca, []network.Status{{Connector: "east", Remote: "ssl://10.0.0.2:61617",
		State: network.StateConnected, Connects: 1}})
	con := "https://" + addr

	out := pier(t, runNetwork, "status", "--console", con, "--ca-file", caFile, "--user", "admin", "--password", "secret")
	if ls := lines(out); len(ls) != 2 || !strings.HasPrefix(ls[1], "east") || !strings.Contains(ls[1], "ssl://10.0.0.2:61617") {
		t.Fatalf("over HTTPS:\n%s", out)
	}
	// The login from the environment; a bare host:port with --ca-file is
	// HTTPS too.
	t.Setenv("PIER_USER", "admin")
	t.Setenv("PIER_PASSWORD", "secret")
	if out := pier(t, runNetwork, "status", "--console", addr, "--ca-file", caFile, "--json"); !strings.Contains(out, `"connector":"east"`) {
		t.Fatalf("login from the environment: %s", out)
	}
	pier(t, runNetwork, "status", "--console", con, "--insecure-skip-verify")

	for _, tc := range []struct {
		env  bool
		args []string
		want string
	}{
		{false, []string{"--console", con, "--ca-file", caFile}, "log in with --user and --password"},
		{false, []string{"--console", con, "--ca-file", caFile, "--user", "admin", "--password", "wrong"}, `login as "admin" refused`},
		{true, []string{"--console", con}, "certificate is not trusted (give --ca-file)"},
		{true, []string{"--console", "http://" + addr}, "speaks HTTPS: give --console https://" + addr},
		{true, []string{"--console", "http://" + addr, "--ca-file", caFile}, "are for an HTTPS console"},
		{true, []string{"--console", con, "--ca-file", filepath.Join(t.TempDir(), "missing.crt")}, "--ca-file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if !tc.env {
				t.Setenv("PIER_USER", "")
				t.Setenv("PIER_PASSWORD", "")
			}
			var out, errb strings.Builder
			code := run(append([]string{"network", "status"}, tc.args...), &out, &errb)
			if msg := errb.String(); code != 1 || !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want 1 and one line with %q", code, msg, tc.want)
			}
		})
	}
}

// --config: HTTPS when the broker has a certificate, trusting its
// tls.ca_file.
func TestNetworkStatusConfigHTTPS(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	caFile, certFile, keyFile := ca.Files(t, "broker", "127.0.0.1", "localhost")
	addr := startSecureConsole(t, ca, nil)
	cfg := filepath.Join(t.TempDir(), "pier.yaml")
	yaml := "console:\n  listen: " + addr + "\ntls:\n  cert_file: " + certFile + "\n  key_file: " + keyFile +
		"\n  ca_file: " + caFile + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PIER_USER", "admin")
	t.Setenv("PIER_PASSWORD", "secret")
	if out := pier(t, runNetwork, "status", "--config", cfg, "--json"); strings.TrimSpace(out) != `{"bridges":[]}` {
		t.Fatalf("--config over HTTPS: %s", out)
	}
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{"0.0.0.0:8161": "localhost:8161", "[::]:1": "localhost:1", ":2": "localhost:2",
		"10.1.2.3:8161": "10.1.2.3:8161", "broker:1": "broker:1"} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}
