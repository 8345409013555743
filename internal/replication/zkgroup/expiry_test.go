package zkgroup

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/zktest"
)

// cutProxy forwards TCP connections to a server; cut closes them all and
// stops listening (connections are refused, as across a cut network), heal
// listens again on the same address.
type cutProxy struct {
	addr, target string
	mu           struct {
		sync.Mutex
		ln    net.Listener
		conns []net.Conn
	}
	wg sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	p := &cutProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() { p.cut(); p.wg.Wait() })
	return p
}

func (p *cutProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.mu.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.mu.conns = append(p.mu.conns, c, s)
			p.mu.Unlock()
			p.wg.Go(func() { io.Copy(s, c); s.Close() })
			p.wg.Go(func() { io.Copy(c, s); c.Close() })
		}
	})
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.ln != nil {
		p.mu.ln.Close()
		p.mu.ln = nil
	}
	for _, c := range p.mu.conns {
		c.Close()
	}
	p.mu.conns = nil
}

func (p *cutProxy) heal(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

// TestReregisterAfterSessionExpiry: a member cut off from a running
// ZooKeeper for longer than its session timeout loses its session (and
// its znode); when it can reach ZooKeeper again it says once that the
// session expired and registers in a new one.
func TestReregisterAfterSessionExpiry(t *testing.T) {
	srv := zktest.Start(t)
	px := newCutProxy(t, srv.Addr)
	o := member(srv, t.TempDir(), "a", 1)
	o.Servers = []string{px.addr}
	l := &logs{}
	if _, errs := discover(t, slog.New(l), o); errs[0] != nil {
		t.Fatal(errs[0])
	}
	c := observer(t, srv)
	awaitIDs := func(what string, want ...string) {
		t.Helper()
		eventually(t, what, func() error {
			ids, err := registered(c)
			if err == nil && !slices.Equal(ids, want) {
				err = fmt.Errorf("registered %v, want %v", ids, want)
			}
			return err
		})
	}
	awaitIDs("registration", "a")
	px.cut()
	awaitIDs("the cut member's znode gone with its session") // 1 s session timeout
	time.Sleep(time.Second)
	px.heal(t)
	awaitIDs("registration in a new session", "a")
	for msg, want := range map[string]int{
		"zookeeper lost; the replicated group goes on without it": 1,
		"zookeeper session expired; registering again":            1,
		"zookeeper back":          1,
		"registered in zookeeper": 2,
	} {
		if n := l.count(msg); n != want {
			t.Errorf("%q logged %d times, want %d", msg, n, want)
		}
	}
}
