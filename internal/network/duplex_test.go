package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire"
)

// hostDuplex gives n's broker a Network without connectors of its own
// that bridges back to duplex connectors, served on OpenWire.
func hostDuplex(t *testing.T, n *node) {
	t.Helper()
	nw, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.net = nw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nw.Run(ctx, n.b) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := openwire.NewServer(openwire.Config{Duplex: func(ctx context.Context, req openwire.DuplexRequest) error {
		return nw.Duplex(ctx, DuplexRequest{RemoteID: req.BrokerID, RemoteName: req.BrokerName, URL: req.URL, Properties: req.Properties,
			Username: req.Username, Password: req.Password})
	}}, n.b, nil)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	n.addr = ln.Addr().String()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-served; !errors.Is(err, netserve.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		cancel()
		<-done
	})
}

// A duplex connector on a alone links a and b both ways: b dials back.
func TestBridgeDuplex(t *testing.T) {
	a := nodes(t, "a")[0]
	b := &node{b: startBroker(t, "b")}
	hostDuplex(t, b)
	c := Connector{Name: "net", TTL: 1, Conduit: true, Members: [][]string{{b.addr}}, Duplex: true,
		Excluded:  []message.Destination{{Kind: message.Queue, Name: "private.>"}},
		Advertise: func() []string { return []string{"tcp://" + a.addr} }}
	nw, err := New(Config{Connectors: []Connector{c}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.net = nw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nw.Run(ctx, a.b) }()
	t.Cleanup(func() { cancel(); <-done })

	deadline := time.Now().Add(10 * time.Second)
	for {
		st := b.net.Status()
		if len(st) == 1 && st[0].State == StateConnected && st[0].Connector == "duplex-net" && st[0].RemoteBroker == a.b.ID() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for b to bridge back: b %+v, a %+v", st, nw.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	la, lb := newLedger(), newLedger()
	consume(t, a, client.Queue("to-a"), "a", la, 10, 0)
	consume(t, b, client.Queue("to-b"), "b", lb, 10, 0)
	waitFor(t, "demand both ways", func() bool { return demandOf(a) == 1 && demandOf(b) == 1 })
	produce(t, b, client.Queue("to-a"), 0, 50)
	produce(t, a, client.Queue("to-b"), 0, 50)
	waitFor(t, "50 on a", func() bool { return la.distinct() == 50 })
	waitFor(t, "50 on b", func() bool { return lb.distinct() == 50 })
	la.exactlyOnce(t, 0, 50)
	lb.exactlyOnce(t, 0, 50)

	// The way back has the connector's settings: excluded stays excluded.
	// Advisories of queue consumers arrive in order, so once b's bridge
	// counts the consumer of "after", it has seen that of "private.x".
	consume(t, a, client.Queue("private.x"), "a", newLedger(), 10, 0)
	consume(t, a, client.Queue("after"), "a", newLedger(), 10, 0)
	waitFor(t, "b's bridge to see the consumer of after", func() bool { return demandOf(b) >= 2 })
	if d := demandOf(b); d != 2 {
		t.Errorf("b's duplex bridge serves %d consumers, want 2 (private.> excluded)", d)
	}
}

func TestDuplexProperties(t *testing.T) {
	c := Connector{Name: "x", TTL: 3, Conduit: true, DecreasePriority: true, Prefetch: 7,
		Excluded:           []message.Destination{{Kind: message.Queue, Name: "a.>"}, {Kind: message.Topic, Name: "b"}},
		StaticallyIncluded: []message.Destination{{Kind: message.Queue, Name: "s"}}}
	got, err := parseDuplexProperties(duplexProperties(&c))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "x" || got.TTL != 3 || !got.Conduit || !got.DecreasePriority || got.Prefetch != 7 ||
		len(got.Excluded) != 2 || got.Excluded[1] != c.Excluded[1] || len(got.StaticallyIncluded) != 1 {
		t.Errorf("round trip: %+v", got)
	}
	for _, bad := range []string{"", "name=a/b", "name=x&network_ttl=0", "name=x&conduit_subscriptions=maybe",
		"name=x&excluded_destinations=nowhere", "%zz"} {
		if _, err := parseDuplexProperties(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, bad := range []string{"tcp://a:1", "failover:()", "failover:(http://a:1)", "failover:(tcp://a)", "failover:(a:1)",
		"failover:(ssl://:1)"} {
		if _, err := failoverAddrs(bad); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
	if got, err := failoverAddrs("failover:(tcp://a:1,tcp://b:2?x=y)"); err != nil || len(got) != 2 || got[1] != "b:2" {
		t.Errorf("failoverAddrs: %v %v", got, err)
	}
	if got, err := failoverAddrs("failover:(ssl://a:1?socket.verifyHostName=true,SSL://[::1]:2,tcp://c:3)"); err != nil ||
		fmt.Sprint(got) != "[ssl://a:1 ssl://[::1]:2 c:3]" {
		t.Errorf("failoverAddrs with ssl://: %v %v", got, err)
	}
}

// A duplex connector that lists this broker itself does not make it
// bridge back to itself.
func TestDuplexToItself(t *testing.T) {
	a := &node{b: startBroker(t, "a")}
	var nw *Network
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.addr = ln.Addr().String()
	nw, err = New(Config{Connectors: []Connector{{Name: "net", Members: [][]string{{a.addr}}, Duplex: true,
		Advertise: func() []string { return []string{"tcp://" + a.addr} }}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.net = nw
	refused := make(chan error, 10)
	serveOn(t, a.b, ln, openwire.Config{Duplex: func(ctx context.Context, req openwire.DuplexRequest) error {
		err := nw.Duplex(ctx, DuplexRequest{RemoteID: req.BrokerID, RemoteName: req.BrokerName, URL: req.URL,
			Properties: req.Properties, Username: req.Username, Password: req.Password})
		refused <- err
		return err
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nw.Run(ctx, a.b) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case err := <-refused:
		if err == nil || !strings.Contains(err.Error(), "this broker itself") {
			t.Fatalf("Duplex: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no duplex request")
	}
	for _, st := range nw.Status() {
		if st.Connector != "net" {
			t.Errorf("a bridge back to itself: %+v", st)
		}
	}
}

// A duplex request that arrives before the network runs (the listeners
// open as it starts) waits for it instead of being refused: a refusal left
// the remote's bridge connected one way for good (TestBridgeDuplex failed
// that way under load). One that waits past its connection is refused.
func TestDuplexBeforeRun(t *testing.T) {
	b := startBroker(t, "b")
	nw, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := DuplexRequest{RemoteID: "ID:a", RemoteName: "a", URL: "failover:(tcp://127.0.0.1:1)", Properties: "name=net"}
	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	if err := nw.Duplex(gone, req); err == nil {
		t.Fatal("a request whose connection is gone was taken before the network ran")
	}
	got := make(chan error, 1)
	go func() { got <- nw.Duplex(context.Background(), req) }()
	select {
	case err := <-got:
		t.Fatalf("Duplex returned before the network ran: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nw.Run(ctx, b) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("Duplex once the network runs: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Duplex still waiting after the network started")
	}
	if st := nw.Status(); len(st) != 1 || st[0].Connector != "duplex-net" {
		t.Errorf("status %+v, want the duplex bridge", st)
	}
}
