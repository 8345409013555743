package network

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/piermq/pier/internal/protocol/openwire"
)

// TestStaticListOfAGroupStandsBy: a static: list of a group's members
// bridges to the master; the bridges to the members that do not accept
// connections (slaves) stand by rather than fail, while a broker outside
// the group that is down is a failing bridge.
func TestStaticListOfAGroupStandsBy(t *testing.T) {
	a := nodes(t, "a")[0]
	master := startBroker(t, "group")
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	slave, stranger := free(), free()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	masterAddr := ln.Addr().String()
	serveOn(t, master, ln, openwire.Config{ClusterURLs: func() []string {
		return []string{"tcp://" + masterAddr, "tcp://" + slave}
	}})
	c := Connector{Name: "group", Members: [][]string{{slave}, {masterAddr}, {stranger}}}
	nw, err := New(Config{Connectors: []Connector{c}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { nw.Run(ctx, a.b) })
	defer func() { cancel(); wg.Wait() }()
	waitFor(t, "the slave's bridge standing by", func() bool {
		st := nw.Status()
		return len(st) == 3 && st[0].State == StateStandby && st[1].State == StateConnected
	})
	st := nw.Status()
	if st[0].LastError != "" {
		t.Errorf("a standby bridge with an error: %+v", st[0])
	}
	if st[2].State == StateStandby || st[2].State == StateConnected {
		t.Errorf("a bridge to a broker outside the group: %+v", st[2])
	}
}
