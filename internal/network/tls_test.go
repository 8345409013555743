package network

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/client/clienttest"
	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/store/storetest"
)

// secureNode starts a broker with users (app/app-secret for the test's
// clients, bridge/bridge-secret for bridges, in group bridges), served on
// a plain listener (node.addr, for the test's clients) and on a TLS
// listener with a certificate of ca for 127.0.0.1, which asks for client
// certificates (a certificate's common name is a user). cfg configures
// the TLS listener's OpenWire (Duplex). It returns the node and the TLS
// listener's ssl:// URL.
func secureNode(t *testing.T, name string, ca *clienttest.CA, cfg openwire.Config) (*node, string) {
	t.Helper()
	g, err := auth.New(auth.Options{Enforced: true, FailDelay: time.Millisecond, MaxFailDelay: time.Millisecond,
		Bridges: []string{"bridges"},
		Users: []auth.User{{Name: "app", Hash: "app-secret", Plain: true, Groups: []string{"apps"}},
			{Name: "bridge", Hash: "bridge-secret", Plain: true, Groups: []string{"bridges"}}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(broker.Config{Name: name, MaxRedeliveries: broker.DefaultMaxRedeliveries, Guard: g},
		storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	n := &node{b: b, login: client.Options{Username: "app", Password: "app-secret"}}
	n.addr, _ = serve(t, b, "127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvTLS := ca.ServerConfig(t)
	srvTLS.ClientCAs, srvTLS.ClientAuth = ca.Pool, tls.VerifyClientCertIfGiven
	addr, _ := serveOn(t, b, tls.NewListener(ln, srvTLS), cfg)
	return n, "ssl://" + addr
}

// runNetwork runs a network of cfg over n until the end of the test.
func runNetwork(t *testing.T, n *node, cfg Config) {
	t.Helper()
	nw, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.net = nw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nw.Run(ctx, n.b) }()
	t.Cleanup(func() { cancel(); <-done })
}

// A bridge dials an ssl:// member with the connector's TLS settings and
// logs in with its credentials, or with its certificate.
func TestBridgeOverTLS(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	bridgeCert := ca.Issue(t, "bridge")
	for _, tc := range []struct {
		name string
		conn Connector
	}{
		{"password", Connector{Username: "bridge", Password: "bridge-secret", TLS: ca.ClientConfig()}},
		{"certificate", Connector{TLS: &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{bridgeCert}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := nodes(t, "a")[0]
			b, bURL := secureNode(t, "b", ca, openwire.Config{})
			c := tc.conn
			c.Name, c.TTL, c.Conduit = "net", 1, true
			c.Members = [][]string{{bURL}}
			runNetwork(t, a, Config{Connectors: []Connector{c}})
			l := newLedger()
			consume(t, b, client.Queue("work"), "b", l, 10, 0)
			waitFor(t, "a's bridge to see b's consumer", func() bool { return demandOf(a) == 1 })
			produce(t, a, client.Queue("work"), 0, 50)
			waitFor(t, "50 messages on b", func() bool { return l.distinct() == 50 })
			l.exactlyOnce(t, 0, 50)
			st := a.net.Status()[0]
			if st.State != StateConnected || st.Remote != bURL || st.Address != bURL || st.RemoteBroker != b.b.ID() {
				t.Errorf("a's bridge: %+v", st)
			}
		})
	}
}

// What keeps a bridge out shows as its last error.
func TestBridgeOverTLSRefused(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	a := nodes(t, "a")[0]
	_, bURL := secureNode(t, "b", ca, openwire.Config{})
	member := [][]string{{bURL}}
	runNetwork(t, a, Config{Connectors: []Connector{
		{Name: "wrong-password", Members: member, Username: "bridge", Password: "wrong", TLS: ca.ClientConfig()},
		{Name: "unknown-ca", Members: member, Username: "bridge", Password: "bridge-secret"},
		{Name: "plain", Members: [][]string{{strings.Replace(bURL, "ssl://", "tcp://", 1)}}, Username: "bridge", Password: "bridge-secret"},
	}})
	want := map[string]string{
		"wrong-password": "java.lang.SecurityException",
		"unknown-ca":     "certificate signed by unknown authority",
		"plain":          "client:", // a TLS port does not speak OpenWire in clear
	}
	waitFor(t, "every bridge to fail", func() bool {
		for _, st := range a.net.Status() {
			if st.LastError == "" || !strings.Contains(st.LastError, want[st.Connector]) {
				return false
			}
		}
		return true
	})
	for _, st := range a.net.Status() {
		if st.State == StateConnected || st.Connects != 0 {
			t.Errorf("%s: %+v", st.Connector, st)
		}
	}
}

// A duplex connector over TLS: the remote broker dials back over TLS
// (Config.DuplexTLS) with the credentials the bridge logged in with.
func TestBridgeDuplexOverTLS(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	a, aURL := secureNode(t, "a", ca, openwire.Config{})
	bNet, err := New(Config{DuplexTLS: ca.ClientConfig()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, bURL := secureNode(t, "b", ca, openwire.Config{Duplex: func(ctx context.Context, req openwire.DuplexRequest) error {
		return bNet.Duplex(ctx, DuplexRequest{RemoteID: req.BrokerID, RemoteName: req.BrokerName, URL: req.URL, Properties: req.Properties,
			Username: req.Username, Password: req.Password})
	}})
	b.net = bNet
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bNet.Run(ctx, b.b) }()
	t.Cleanup(func() { cancel(); <-done })

	runNetwork(t, a, Config{Connectors: []Connector{{Name: "net", TTL: 1, Conduit: true, Members: [][]string{{bURL}},
		Username: "bridge", Password: "bridge-secret", TLS: ca.ClientConfig(), Duplex: true,
		Advertise: func() []string { return []string{aURL} }}}})
	defer func() {
		if t.Failed() {
			t.Logf("a: %+v\nb: %+v", a.net.Status(), b.net.Status())
		}
	}()
	waitFor(t, "b to bridge back over TLS", func() bool {
		st := b.net.Status()
		return len(st) == 1 && st[0].State == StateConnected && st[0].Connector == "duplex-net" &&
			st[0].RemoteBroker == a.b.ID() && st[0].Address == aURL
	})
	la := newLedger()
	consume(t, a, client.Queue("to-a"), "a", la, 10, 0)
	waitFor(t, "b's bridge to see a's consumer", func() bool { return demandOf(b) == 1 })
	produce(t, b, client.Queue("to-a"), 0, 20)
	waitFor(t, "20 on a", func() bool { return la.distinct() == 20 })
	la.exactlyOnce(t, 0, 20)
}

func TestNormalizeAddr(t *testing.T) {
	for in, want := range map[string]string{"h:1": "h:1", "tcp://h:1": "h:1", "TCP://h:1": "h:1", "ssl://h:1": "ssl://h:1",
		"SSL://[::1]:2": "ssl://[::1]:2"} {
		if got, err := normalizeAddr(in); err != nil || got != want {
			t.Errorf("normalizeAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"h", "http://h:1", "ssl://h", ":1", "stomp+ssl://h:1", "h:0", "h:x", "ssl://h:65536"} {
		if got, err := normalizeAddr(bad); err == nil {
			t.Errorf("normalizeAddr(%q) = %q", bad, got)
		}
	}
	if _, err := New(Config{Connectors: []Connector{{Name: "x", Members: [][]string{{"http://h:1"}}}}}, nil); err == nil {
		t.Error("New accepted an http:// member")
	}
	members := [][]string{{"tcp://h:1", "ssl://h:2"}}
	nw, err := New(Config{Connectors: []Connector{{Name: "x", Members: members}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := nw.conns[0].Members[0]; got[0] != "h:1" || got[1] != "ssl://h:2" || members[0][0] != "tcp://h:1" {
		t.Errorf("members %v (given %v)", got, members)
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&client.BrokerError{Class: "java.lang.SecurityException", Message: "no"}, true},
		{&tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}, true},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}, true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{errors.New("network: 127.0.0.1:1 (ID:b) is already bridged by another member of net"), false},
	} {
		if got := refused(fmt.Errorf("wrapped: %w", tc.err)); got != tc.want {
			t.Errorf("refused(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
