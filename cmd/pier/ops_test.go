package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
)

// What a new user meets first: the version, help, typed properties,
// errors in plain words, waits that say what they wait for.

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 0 || out.String() != "pier "+version+"\n" {
			t.Errorf("%v: exit %d, %q %q", args, code, out.String(), errb.String())
		}
	}
	// pier help serve is pier serve --help.
	var help, flagHelp, errb bytes.Buffer
	if code := run([]string{"help", "serve"}, &errb, &help); code != 0 || !strings.Contains(help.String(), "Usage: pier serve") ||
		!strings.Contains(help.String(), "-config") {
		t.Errorf("help serve: exit %d:\n%s", code, help.String())
	}
	run([]string{"serve", "--help"}, &errb, &flagHelp)
	if help.String() != flagHelp.String() {
		t.Errorf("help serve and serve --help differ:\n%s\n---\n%s", help.String(), flagHelp.String())
	}
	for _, cmd := range []string{"produce", "consume", "cluster", "network"} {
		var out, e bytes.Buffer
		if code := run([]string{"help", cmd}, &out, &e); code != 0 || !strings.Contains(out.String()+e.String(), "pier "+cmd) {
			t.Errorf("help %s: exit %d:\n%s%s", cmd, code, out.String(), e.String())
		}
	}
	var out, e bytes.Buffer
	if code := run([]string{"help", "frobnicate"}, &out, &e); code != 2 || !strings.Contains(e.String(), `unknown command "frobnicate"`) {
		t.Errorf("help of an unknown command: exit %d: %s", code, e.String())
	}
	out.Reset()
	if code := run([]string{"help"}, &out, &e); code != 0 || !strings.Contains(out.String(), "pier --version") {
		t.Errorf("help: exit %d:\n%s", code, out.String())
	}
}

func TestParseProperty(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{"region=eu", "eu"}, {"s:string=a=b", "a=b"}, {"empty=", ""},
		{"n:int=5", int32(5)}, {"n:long=-9000000000", int64(-9000000000)}, {"n:short=7", int16(7)},
		{"n:byte=-3", int8(-3)}, {"b:bool=true", true}, {"b:boolean=FALSE", false},
		{"f:float=1.5", float32(1.5)}, {"d:double=2.25", 2.25},
	} {
		p, err := parseProperty(c.in)
		if err != nil || p.value != c.want {
			t.Errorf("%q: %v (%T), %v; want %v (%T)", c.in, p.value, p.value, err, c.want, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"novalue", "want NAME=VALUE"}, {"=x", "no name"}, {"n:int=five", "whole number from -2147483648 to 2147483647"},
		{"n:byte=200", "from -128 to 127"}, {"b:bool=yes", "true or false"}, {"x:uuid=1", `unknown type "uuid"`},
		{"JMSPriority=9", "use --priority"},
	} {
		if _, err := parseProperty(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.in, err, c.want)
		}
	}
}

// TestProduceSelector: --priority and --property set what a selector
// reads, over OpenWire and STOMP; the README's example matches.
func TestProduceSelector(t *testing.T) {
	url, stompURL := startPier(t)
	q := "--destination=queue://orders"
	pier(t, runProduce, "--url", url, q, "--body", "plain")
	pier(t, runProduce, "--url", url, q, "--body", "urgent eu", "--priority", "7", "--property", "region=eu",
		"--property", "amount:int=250", "--property", "express:bool=true")
	pier(t, runProduce, "--url", stompURL, q, "--body", "urgent eu over stomp", "--priority", "8",
		"--property", "region=eu", "--header", "amount=300")
	// The README's example.
	wantLines(t, "README selector", pier(t, runConsume, "--url", url, q, "--selector", "JMSPriority > 4 AND region = 'eu'", "--timeout", "2s", "--ack", "client"),
		"urgent eu over stomp", "urgent eu")
	pier(t, runProduce, "--url", url, q, "--body", "typed", "--priority", "6", "--property", "region=eu",
		"--property", "amount:int=250", "--property", "express:bool=true")
	wantLines(t, "typed selector", pier(t, runConsume, "--url", url, q, "--count", "1", "--timeout", "2s",
		"--selector", "region = 'eu' AND amount > 100 AND express = TRUE"), "typed")
	wantLines(t, "the rest", pier(t, runConsume, "--url", url, q, "--timeout", "300ms"), "plain")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", url, "--priority", "10"}, "--priority 10: want 0 to 9"},
		{[]string{"--url", url, "--header", "x=1"}, "--header sets STOMP headers"},
		{[]string{"--url", stompURL, "--header", "destination=/queue/x"}, ""}, // a usage error
		{[]string{"--url", url, "--property", "n:int=x"}, ""},
	} {
		_, stderr, err := try(runProduce, c.args...)
		switch {
		case c.want == "" && !errors.Is(err, errUsage):
			t.Errorf("%v: %v, want a usage error (stderr %s)", c.args, err, stderr)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestConsumeFewerThanCount: consume --count exits non-zero when fewer
// messages came within --timeout, and says so.
func TestConsumeFewerThanCount(t *testing.T) {
	url, stompURL := startPier(t)
	for _, u := range []string{url, stompURL} {
		pier(t, runProduce, "--url", u, "--destination", "queue://few", "--count", "2")
		out, _, err := try(runConsume, "--url", u, "--destination", "queue://few", "--count", "3", "--timeout", "300ms")
		if err == nil || !strings.Contains(err.Error(), "received 2 of --count 3 messages (no message for --timeout 300ms)") {
			t.Errorf("%s: %v", u, err)
		}
		wantLines(t, "consume", out, "message 1", "message 2")
	}
}

// TestWaitsSaySo: a consumer waiting for its first message says what it
// waits for.
func TestWaitsSaySo(t *testing.T) {
	url, _ := startPier(t)
	_, stderr, err := try(runConsume, "--url", url, "--destination", "queue://quiet", "--timeout", "1500ms")
	if err != nil || !strings.Contains(stderr, "waiting for messages on queue://quiet (up to --timeout 1.5s each)") {
		t.Errorf("%v: %q", err, stderr)
	}
	// A message at once: nothing to say.
	pier(t, runProduce, "--url", url, "--destination", "queue://busy")
	_, stderr, _ = try(runConsume, "--url", url, "--destination", "queue://busy", "--count", "1")
	if strings.Contains(stderr, "waiting") {
		t.Errorf("said it waited: %q", stderr)
	}
}

func TestDestinationWithSlash(t *testing.T) {
	url, stompURL := startPier(t)
	for _, c := range []struct{ url, dest, want string }{
		{url, "queue:///orders", "did you mean queue://orders?"},
		{stompURL, "/queue//orders", "did you mean /queue/orders?"},
		{url, "topic:///news", "did you mean topic://news?"},
	} {
		var out, errb bytes.Buffer
		code := run([]string{"produce", "--url", c.url, "--destination", c.dest}, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), c.want) || strings.Contains(errb.String(), "bench:") {
			t.Errorf("%s: exit %d: %s", c.dest, code, errb.String())
		}
	}
}

func TestErrorsNameTheCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"produce", "--url", "tcp://127.0.0.1:1"}, &out, &errb); code != 1 ||
		!strings.HasPrefix(errb.String(), "pier produce: connect to tcp://127.0.0.1:1: ") || strings.Contains(errb.String(), "client: ") {
		t.Errorf("exit %d: %q", code, errb.String())
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{errors.New("bench: destination \"x\": want queue://NAME"), `destination "x": want queue://NAME`},
		{fmt.Errorf("after 3 messages: %w", client.ErrConnectionLost), "after 3 messages: connection lost"},
		{fmt.Errorf("stompclient: send to /queue/a: %w", errors.New("broker: store full")), "send to /queue/a: store full"},
		{fmt.Errorf("after 0 messages: %w", &client.BrokerError{Class: "javax.jms.ResourceAllocationException", Message: "the store is full"}),
			"after 0 messages: the broker refused: the store is full (javax.jms.ResourceAllocationException)"},
		{errors.New("read config.yaml: no such file"), "read config.yaml: no such file"},
	} {
		if got := plainError(c.err); got != c.want {
			t.Errorf("plainError(%q) = %q, want %q", c.err, got, c.want)
		}
	}
}

// fakeConsole serves /readyz, /healthz, /network and perhaps
// /api/v1/group as a broker's console would; ready says whether it is
// master.
func fakeConsole(t *testing.T, ready bool, group string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("GET /network", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"bridges":[]}`)) })
	if group != "" {
		mux.HandleFunc("GET /api/v1/group", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(group)) })
	}
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// TestNetworkStatusOfASlave: a slave runs no bridges; it says so instead
// of an empty table, and names the master when its console knows it.
func TestNetworkStatusOfASlave(t *testing.T) {
	out := pier(t, runNetwork, "status", "--console", fakeConsole(t, false, ""))
	if !strings.HasPrefix(out, "this broker is a slave (it stands by and runs no bridges); ask the master's console") {
		t.Errorf("slave: %q", out)
	}
	replica := fakeConsole(t, false, `{"kind":"replicated","role":"replica","master":"b","members":[]}`)
	out = pier(t, runNetwork, "status", "--console", replica)
	if !strings.HasPrefix(out, "this broker is a replica (it stands by and runs no bridges); the master is b") {
		t.Errorf("replica: %q", out)
	}
	var js struct {
		Bridges []json.RawMessage `json:"bridges"`
		Role    string            `json:"role"`
		Master  string            `json:"master"`
	}
	if err := json.Unmarshal([]byte(pier(t, runNetwork, "status", "--console", replica, "--json")), &js); err != nil ||
		js.Role != "replica" || js.Master != "b" || js.Bridges == nil {
		t.Errorf("--json: %+v, %v", js, err)
	}
	// A master without bridges: the empty table.
	if out := pier(t, runNetwork, "status", "--console", fakeConsole(t, true, "")); len(lines(out)) != 1 || !strings.HasPrefix(out, "CONNECTOR") {
		t.Errorf("master: %q", out)
	}
}

// TestClusterStatusConsoles: a shared-directory or SQL group's status
// from its members' consoles; a degraded group exits 1.
func TestClusterStatusConsoles(t *testing.T) {
	master, standby, standby2 := fakeConsole(t, true, ""), fakeConsole(t, false, ""), fakeConsole(t, false, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		name, consoles string
		code           int
		want           []string
	}{
		{"healthy", "a=" + master + ",b=" + standby, 0, []string{"a  ", "master", "standby"}},
		{"a member down", "a=" + master + ",b=" + standby + ",c=" + dead, 1,
			[]string{"unreachable", "connection refused", "the group is degraded: 1 of 3 members do not answer (c)"}},
		{"no master", "a=" + standby + ",b=http://" + standby2, 1, []string{"the group is degraded: no master serves clients"}},
		{"two masters", "a=" + master + ",b=" + master, 1, []string{"2 members serve as master (a, b)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run([]string{"cluster", "status", "--consoles", c.consoles}, &out, &errb)
			all := out.String() + errb.String()
			if code != c.code {
				t.Errorf("exit %d, want %d:\n%s", code, c.code, all)
			}
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("no %q in:\n%s", w, all)
				}
			}
		})
	}
	var out, errb bytes.Buffer
	run([]string{"cluster", "status", "--json", "--consoles", "a=" + master + ",c=" + dead}, &out, &errb)
	var rows []consoleRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 || rows[0].Role != "master" ||
		rows[1].Role != "unreachable" || rows[1].Error == "" {
		t.Errorf("--json: %v: %s", err, out.String())
	}
}

// TestClusterStatusTimeoutBounded: a member that does not answer costs
// the timeout, not more.
func TestClusterStatusTimeoutBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = runCluster(ctx, []string{"status", "--timeout", "300ms", "--peers", "a=" + ln.Addr().String()}, &out, &errb)
	if err == nil || time.Since(start) > 3*time.Second || !strings.Contains(out.String(), "no answer in time") {
		t.Errorf("%v after %s:\n%s", err, time.Since(start), out.String())
	}
}

// waitMaster waits until the replicated group of the member configured at
// path has a master (pier cluster status exits 0).
func waitMaster(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out, errb bytes.Buffer
		if run([]string{"cluster", "status", "--config", path}, &out, &errb) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no master:\n%s%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSendWatch: a send that waits long is said once; quick ones not.
func TestSendWatch(t *testing.T) {
	var out bytes.Buffer
	w := watchSends(&out, "queue://q", 100*time.Millisecond)
	for i := 1; i <= 5; i++ { // quick sends
		w.begin(i)
		w.end()
	}
	w.begin(6)
	time.Sleep(350 * time.Millisecond) // several ticks: said once
	w.end()
	w.close()
	if got := out.String(); strings.Count(got, "waiting for the broker") != 1 || !strings.Contains(got, "message 6 for queue://q") {
		t.Errorf("%q", got)
	}
}
