//go:build crossprocess

package openwire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	piercore "github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/netserve"
	owserver "github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/store/storetest"
	"github.com/piermq/pier/test/internal/piertest"
)

// TestClusterFailover: the ActiveMQ 5.17 client, given only broker A's URL
// (failover:(tcp://A)), moves to broker B when A stops, because A
// advertised [A, B] in ConnectionControl.connectedBrokers
// (updateClusterClients). The brokers run in this process: `pier serve`
// has no setting for the group's URLs yet.
func TestClusterFailover(t *testing.T) {
	if target(t) != "pier" {
		t.Skip("needs two brokers that advertise each other; run against pier only")
	}
	classpath(t)
	bAddr, _ := startInProcess(t, "127.0.0.1:0", owserver.Config{})
	aAddr := piertest.FreeAddr(t)
	group := []string{"tcp://" + aAddr, "tcp://" + bAddr}
	_, stopA := startInProcess(t, aAddr, owserver.Config{ClusterURLs: func() []string { return group }})

	url := "failover:(tcp://" + aAddr + ")?randomize=false&initialReconnectDelay=100&maxReconnectDelay=1000" +
		"&startupMaxReconnectAttempts=5"
	queue := fmt.Sprintf("ow.cluster.%d", time.Now().UnixNano())
	goFile := filepath.Join(t.TempDir(), "go")
	ready := make(chan struct{}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startJava(t, ctx, func(line string) {
		if line == "READY" {
			ready <- struct{}{}
		}
	}, "ClusterFailover", url, queue, goFile)
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("client not ready after 60 s:\n%s", p.Output())
	}
	stopA()
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(90 * time.Second); err != nil {
		t.Fatalf("ClusterFailover: %v\n%s", err, p.Output())
	}
	out := p.Output()
	if !strings.Contains(out, "FIRST tcp://"+aAddr+"\n") {
		t.Errorf("first connection not on A %s:\n%s", aAddr, out)
	}
	if !strings.Contains(out, "SECOND tcp://"+bAddr+"\n") {
		t.Errorf("did not move to B %s after A stopped:\n%s", bAddr, out)
	}
}

// startInProcess serves OpenWire with cfg on addr from a broker in this
// process over a memory store, until stop (idempotent) or the end of the
// test; it returns the address served.
func startInProcess(t *testing.T, addr string, cfg owserver.Config) (string, func()) {
	t.Helper()
	b, err := piercore.New(piercore.Config{MaxRedeliveries: piercore.DefaultMaxRedeliveries}, storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	srv := owserver.NewServer(cfg, b, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, netserve.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		b.Close()
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}
