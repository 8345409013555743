package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/client/clienttest"
	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/store/storetest"
)

// securePier is an in-process Pier with users and TLS listeners.
type securePier struct {
	ssl, stompSSL string // ssl://host:port, stomp+ssl://host:port
	tcp, stomp    string // the same broker without TLS
	ca            *clienttest.CA
	caFile        string
	certFile      string // a client certificate for the user app
	keyFile       string
}

// startSecurePier runs a Pier whose users are app (password app-secret,
// may use queue orders.*) and admin (admin-secret, everything); clients
// may present a certificate instead (its common name is the user).
func startSecurePier(t *testing.T) *securePier {
	t.Helper()
	apps, admins := []string{"apps"}, []string{"admins"}
	g, err := auth.New(auth.Options{Enforced: true, FailDelay: time.Millisecond, MaxFailDelay: time.Millisecond,
		Users: []auth.User{{Name: "app", Hash: "app-secret", Plain: true, Groups: apps},
			{Name: "admin", Hash: "admin-secret", Plain: true, Groups: admins}},
		Entries: []auth.Entry{
			{Pattern: ">", Grants: auth.Grants{Read: admins, Write: admins, Admin: admins}},
			{Pattern: "orders.>", Grants: auth.Grants{Read: apps, Write: apps, Admin: apps}},
			{Topic: true, Pattern: "ActiveMQ.Advisory.>", Grants: auth.Grants{Read: []string{"*"}, Write: []string{"*"}, Admin: []string{"*"}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries, Guard: g}, storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	p := &securePier{ca: clienttest.NewCA(t, "test CA")}
	p.caFile, p.certFile, p.keyFile = p.ca.Files(t, "app")
	srvTLS := p.ca.ServerConfig(t)
	srvTLS.ClientCAs, srvTLS.ClientAuth = p.ca.Pool, tls.VerifyClientCertIfGiven
	withTLS := func(run func(net.Listener) error) func(net.Listener) error {
		return func(ln net.Listener) error { return run(tls.NewListener(ln, srvTLS)) }
	}
	ow := openwire.NewServer(openwire.Config{}, b, nil)
	st := stomp.NewServer(stomp.Config{}, b, nil)
	p.ssl = "ssl://" + serve(t, withTLS(ow.Serve), ow.Shutdown)
	p.stompSSL = "stomp+ssl://" + serve(t, withTLS(st.Serve), st.Shutdown)
	ow2 := openwire.NewServer(openwire.Config{}, b, nil)
	st2 := stomp.NewServer(stomp.Config{}, b, nil)
	p.tcp = "tcp://" + serve(t, ow2.Serve, ow2.Shutdown)
	p.stomp = "stomp://" + serve(t, st2.Serve, st2.Shutdown)
	return p
}

// fails runs pier with args and checks that it exits 1 with one line on
// stderr that holds every want.
func fails(t *testing.T, args []string, want ...string) {
	t.Helper()
	var out, errb strings.Builder
	code := run(args, &out, &errb)
	msg := errb.String()
	if i := strings.Index(msg, "pier "); i > 0 && args[0] == "consume" {
		msg = msg[i:] // consume reports its count first
	}
	if code != 1 || strings.Count(msg, "\n") != 1 {
		t.Fatalf("%q: exit %d, stderr %q; want 1 and one line", args, code, errb.String())
	}
	t.Logf("%s", msg)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%q: stderr %q does not say %q", args, msg, w)
		}
	}
}

func TestTLSAndLogin(t *testing.T) {
	p := startSecurePier(t)
	ca := "--ca-file=" + p.caFile
	q := "--destination=queue://orders.tls"
	for _, tc := range []struct {
		name string
		url  string
		auth []string
	}{
		{"openwire", p.ssl, []string{"--login=app", "--passcode=app-secret"}},
		{"openwire jms.userName", p.ssl + "?jms.userName=app&jms.password=app-secret", nil},
		{"openwire failover", "failover:(" + p.ssl + ")?jms.userName=app&jms.password=app-secret", nil},
		{"openwire certificate", p.ssl, []string{"--cert-file=" + p.certFile, "--key-file=" + p.keyFile}},
		{"stomp", p.stompSSL, []string{"--login=app", "--passcode=app-secret"}},
		{"stomp jms.userName", p.stompSSL + "?jms.userName=app&jms.password=app-secret", nil},
		{"stomp flags over jms.userName", p.stomp + "?jms.userName=app&jms.password=wrong", []string{"--passcode=app-secret"}},
		{"stomp certificate", p.stompSSL, []string{"--cert-file=" + p.certFile, "--key-file=" + p.keyFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--url", tc.url, q}, tc.auth...)
			if strings.Contains(tc.url, "ssl://") {
				args = append(args, ca)
			}
			pier(t, runProduce, append(args, "--count=2")...)
			if !strings.HasPrefix(tc.url, "stomp") {
				wantLines(t, "browse", pier(t, runBrowse, args...), "message 1", "message 2")
			}
			wantLines(t, "consume", pier(t, runConsume, append(args, "--count=2")...), "message 1", "message 2")
		})
	}
	pier(t, runBench, "--url", p.ssl, ca, "--login=app", "--passcode=app-secret", "--destination=queue://orders.bench",
		"--count=20", "--size=10")
	pier(t, runBench, "--url", p.stompSSL, ca, "--login=app", "--passcode=app-secret", "--destination=queue://orders.bench",
		"--count=20", "--size=10")
	pier(t, runProduce, "--url", p.ssl, "--insecure-skip-verify", "--login=app", "--passcode=app-secret", q)
}

func TestTLSAndLoginErrors(t *testing.T) {
	p := startSecurePier(t)
	ca := "--ca-file=" + p.caFile
	app := []string{"--login=app", "--passcode=app-secret"}
	for _, args := range [][]string{{p.ssl, ca}, {p.tcp}, {"failover:(" + p.ssl + ")?maxReconnectAttempts=0", ca}} {
		fails(t, append([]string{"produce", "--login=app", "--passcode=wrong", "--url"}, args...),
			"the broker refused the login", "java.lang.SecurityException")
	}
	fails(t, []string{"produce", "--url", p.stompSSL, ca, "--login=app", "--passcode=wrong"},
		"connect to "+p.stompSSL+": the broker refused the connection", "password is invalid")
	fails(t, []string{"consume", "--url", p.stomp, "--login=nobody", "--passcode=x", "--count=1"},
		"connect to "+p.stomp+": the broker refused the connection")

	// Refused sends and consumers, in the broker's words.
	secret := "--destination=queue://secret"
	// (Pier refuses the producer already; a broker that refuses only the
	// sends gets "after 0 messages: ..." or, for sends that do not wait,
	// "the broker refused N commands sent without waiting", see
	// client.Options.OnAsyncError.)
	fails(t, append([]string{"produce", "--url", p.ssl, ca, secret}, app...),
		"java.lang.SecurityException", "not authorized to write to: queue://secret")
	fails(t, append([]string{"produce", "--url", p.ssl, ca, secret, "--persistent=false", "--count=3"}, app...),
		"java.lang.SecurityException", "not authorized to write to: queue://secret")
	fails(t, append([]string{"consume", "--url", p.ssl, ca, secret, "--count=1"}, app...), "java.lang.SecurityException")
	fails(t, append([]string{"produce", "--url", p.stompSSL, ca, secret}, app...), "server error")
	fails(t, append([]string{"produce", "--url", p.stomp, secret, "--persistent=false", "--count=3"}, app...),
		"messages: ", "server error", "not authorized") // after the send that saw the ERROR, or at the end

	fails(t, []string{"produce", "--url", p.stomp + "?login=app"}, `unknown option "login"`)

	// TLS mistakes.
	fails(t, append([]string{"produce", "--url", p.ssl}, app...), "ssl://", "certificate")
	fails(t, append([]string{"produce", "--url", p.stompSSL}, app...), "stomp+ssl://", "certificate")
	fails(t, append([]string{"produce", "--url", p.tcp, ca}, app...), "apply to ssl:// and stomp+ssl:// URLs")
	fails(t, append([]string{"produce", "--url", p.ssl, ca, "--cert-file=" + p.certFile}, app...), "--cert-file and --key-file go together")
	fails(t, append([]string{"produce", "--url", p.ssl, "--ca-file=" + p.certFile + ".missing"}, app...), "--ca-file")
	fails(t, append([]string{"produce", "--url", p.ssl + "?socket.verifyHostname=false", ca}, app...), "did you mean socket.verifyHostName")
}

// What the broker refuses of the commands sent without waiting makes the
// command fail, counted, in the broker's words.
func TestAsyncErrors(t *testing.T) {
	var a asyncErrors
	if err := a.err(); err != nil {
		t.Fatal(err)
	}
	refusal := &client.BrokerError{Class: "java.lang.SecurityException", Message: "User app is not authorized to write to: queue://x"}
	a.add(refusal)
	if err := a.err(); !errors.Is(err, client.ErrSecurity) || !strings.Contains(err.Error(), "refused a command sent without waiting") {
		t.Errorf("one: %v", err)
	}
	a.add(&client.BrokerError{Class: "javax.jms.JMSException", Message: "later"})
	if err := a.err(); !errors.As(err, &refusal) || !strings.Contains(err.Error(), "refused 2 commands") ||
		!strings.Contains(err.Error(), "queue://x") || strings.Contains(err.Error(), "later") {
		t.Errorf("two: %v", err)
	}
}
