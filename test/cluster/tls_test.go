//go:build crossprocess

package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/replication"
	"github.com/piermq/pier/test/internal/cluster"
)

// TestReplicationMutualTLS: a group of three whose replication port uses
// mutual TLS, with certificates made by `pier certs`, while a failover
// producer and consumer keep a ledger. A process without a certificate of
// the group cannot get the status of any member (plain TCP, TLS without a
// certificate, a certificate of another CA; `pier cluster status` without
// --cert exits non-zero) and cannot disturb the group: a flood of
// connections to every member's replication port (garbage, R and junk, S,
// nothing at all, TLS handshakes without or with a foreign certificate)
// leaves the master, its term and the traffic as they were, every such
// connection is closed by the member, and each member logs its refusals a
// few times, not once per connection. Then the master is killed with
// SIGKILL: a new master serves and nothing acknowledged is lost.
func TestReplicationMutualTLS(t *testing.T) {
	certs := cluster.MakeCerts(t, 3)
	c, _ := startGroupWith(t, cluster.Options{TLS: certs})
	l := newLedger(queueName(t))
	url := c.FailoverURL()
	k := l.startConsumer(t, url, 10)
	p := l.startProducer(t, url, 2*time.Millisecond)
	waitProgress(t, l, 200)

	stranger := strangerCerts(t)
	strangersGetNoStatus(t, c, certs, stranger)

	m, before := leader(t, c)
	n := floodReplicationPorts(t, c, stranger)
	waitProgress(t, l, 200)
	after := status(t, m)
	if after.State != "Leader" || after.Term != before.Term {
		t.Fatalf("after %d strangers' connections: master %s is %s in term %d, was Leader in term %d",
			n, m.ID, after.State, after.Term, before.Term)
	}
	for _, node := range c.Nodes {
		st := status(t, node)
		if st.Term != before.Term || st.Leader != m.ID {
			t.Errorf("after the flood: %s is in term %d with leader %q, want term %d and leader %s",
				node.ID, st.Term, st.Leader, before.Term, m.ID)
		}
		lines := strings.Count(node.Log(), "replication port refused a connection")
		if lines < 1 || lines > 3 {
			t.Errorf("%s logged %d refusals for %d strangers' connections from one host, want 1 to 3", node.ID, lines, n)
		}
	}
	t.Logf("after %d strangers' connections: master %s still in term %d, %d sends acknowledged",
		n, m.ID, after.Term, l.ackedCount())

	start := time.Now()
	m.Kill()
	next, took := newMaster(t, c, m)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	caught := caughtUp(t, m, next)
	waitProgress(t, l, 100)
	t.Logf("master %s killed; %s master %s later; %s caught up in %s (%s in all)", m.ID, next.ID,
		took.Round(time.Millisecond), m.ID, caught.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	p.stop()
	k.drain(t, drainTimeout)
	l.check(t, false)
}

// stranger is a certificate of another CA (made by `pier certs` too).
type stranger struct {
	cert      tls.Certificate
	ownCA     *replication.TLS // the stranger's certificate, trusting its own CA
	crt, key  string           // its files
	ownCAFile string
}

func strangerCerts(t *testing.T) *stranger {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "stranger")
	cluster.RunPier(t, "certs", "--dir", dir, "--ca", "other-ca", "intruder")
	s := &stranger{crt: filepath.Join(dir, "intruder.crt"), key: filepath.Join(dir, "intruder.key"),
		ownCAFile: filepath.Join(dir, "other-ca.crt")}
	var err error
	if s.ownCA, err = cluster.LoadTLS(s.crt, s.key, s.ownCAFile); err != nil {
		t.Fatal(err)
	}
	s.cert = *s.ownCA.Certificate
	return s
}

// strangersGetNoStatus: every member refuses status queries from anyone
// without a certificate of the group, promptly, and so does pier cluster
// status; with the group's certificates both answer.
func strangersGetNoStatus(t *testing.T, c *cluster.Cluster, certs *cluster.TLS, s *stranger) {
	t.Helper()
	groupCA := certs.Client.CA
	for _, q := range []struct {
		name string
		tls  *replication.TLS
	}{
		{"plain TCP", nil},
		{"TLS without a certificate", &replication.TLS{CA: groupCA}},
		{"another CA's certificate", s.ownCA},
		{"another CA's certificate, trusting the group's CA", &replication.TLS{Certificate: &s.cert, CA: groupCA}},
	} {
		for _, n := range c.Nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			start := time.Now()
			st, err := replication.QueryStatus(ctx, n.Replication, q.tls)
			cancel()
			switch {
			case err == nil:
				t.Fatalf("%s: %s answered: %+v", q.name, n.ID, st)
			case errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second:
				t.Fatalf("%s: %s refused only after %s: %v", q.name, n.ID, time.Since(start), err)
			}
			if n == c.Nodes[0] {
				t.Logf("%s: %v", q.name, err)
			}
		}
	}

	var peers []string
	for _, n := range c.Nodes {
		peers = append(peers, n.ID+"="+n.Replication)
	}
	list := strings.Join(peers, ",")
	ca := filepath.Join(certs.Dir, certs.CAName+".crt")
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"without --cert", []string{"--peers", list}, false},
		{"with only --ca", []string{"--peers", list, "--ca", ca}, false},
		{"with another CA's certificate", []string{"--peers", list, "--cert", s.crt, "--key", s.key, "--ca", s.ownCAFile}, false},
		{"with another CA's certificate, trusting the group's CA", []string{"--peers", list, "--cert", s.crt, "--key", s.key, "--ca", ca}, false},
		{"with the admin certificate", []string{"--peers", list, "--cert", filepath.Join(certs.Dir, "admin.crt"),
			"--key", filepath.Join(certs.Dir, "admin.key"), "--ca", ca}, true},
		{"with a member's configuration", []string{"--config", c.Nodes[0].Config}, true},
	} {
		start := time.Now()
		out, err := exec.Command(os.Getenv("PIER_BIN"), append([]string{"cluster", "status"}, tc.args...)...).CombinedOutput()
		took := time.Since(start)
		switch {
		case tc.ok && (err != nil || !strings.Contains(string(out), "Leader")):
			t.Fatalf("pier cluster status %s: %v\n%s", tc.name, err, out)
		case !tc.ok && err == nil:
			t.Fatalf("pier cluster status %s: exit 0\n%s", tc.name, out)
		case !tc.ok && !strings.Contains(string(out), "no member answered"):
			t.Fatalf("pier cluster status %s: %v, without saying why\n%s", tc.name, err, out)
		case took > 5*time.Second:
			t.Errorf("pier cluster status %s took %s", tc.name, took)
		}
		if tc.name == "without --cert" {
			t.Logf("pier cluster status %s: %v\n%s", tc.name, err, out)
		}
	}
}

// floodReplicationPorts opens many connections to every member's
// replication port, as strangers would, 64 at a time, and checks that
// every one is closed by the member within its opening timeout (5 s) and
// none gets an answer. It returns how many it opened.
func floodReplicationPorts(t *testing.T, c *cluster.Cluster, s *stranger) int {
	t.Helper()
	kinds := []struct {
		name string
		talk func(conn net.Conn) (net.Conn, error)
	}{
		{"garbage", func(conn net.Conn) (net.Conn, error) { return conn, writeJunk(conn, 0) }},
		{"R and junk", func(conn net.Conn) (net.Conn, error) { return conn, writeJunk(conn, 'R') }},
		{"S", func(conn net.Conn) (net.Conn, error) { _, err := conn.Write([]byte{'S'}); return conn, err }},
		{"TLS record header and junk", func(conn net.Conn) (net.Conn, error) { return conn, writeJunk(conn, 0x16) }},
		{"nothing", func(conn net.Conn) (net.Conn, error) { return conn, nil }},
		{"TLS without a certificate, then R and junk", func(conn net.Conn) (net.Conn, error) {
			return tlsJunk(conn, &tls.Config{InsecureSkipVerify: true})
		}},
		{"TLS with another CA's certificate, then R and junk", func(conn net.Conn) (net.Conn, error) {
			return tlsJunk(conn, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{s.cert}})
		}},
	}
	const perKind, parallel = 40, 64
	var opened, answered, leftOpen atomic.Int32
	var mu sync.Mutex
	var problems []string
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	start := time.Now()
	for _, n := range c.Nodes {
		for _, kind := range kinds {
			for range perKind {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					conn, err := net.DialTimeout("tcp", n.Replication, 5*time.Second)
					if err != nil {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("%s: dial: %v", n.ID, err))
						mu.Unlock()
						return
					}
					opened.Add(1)
					defer conn.Close()
					conn.SetDeadline(time.Now().Add(15 * time.Second))
					talker, err := kind.talk(conn)
					if err != nil {
						return // refused during the handshake or the write: fine
					}
					b, err := io.ReadAll(talker)
					var ne net.Error
					switch {
					case errors.As(err, &ne) && ne.Timeout():
						leftOpen.Add(1)
					case len(b) > 0 && talker == conn && !isTLSAlert(b):
						answered.Add(1)
						mu.Lock()
						problems = append(problems, fmt.Sprintf("%s: %s: answered %q", n.ID, kind.name, b[:min(len(b), 40)]))
						mu.Unlock()
					}
				})
			}
		}
	}
	wg.Wait()
	t.Logf("%d strangers' connections to the replication ports in %s; %d answered, %d left open",
		opened.Load(), time.Since(start).Round(time.Millisecond), answered.Load(), leftOpen.Load())
	if len(problems) > 0 {
		t.Errorf("%d problems, e.g.:\n%s", len(problems), strings.Join(problems[:min(len(problems), 10)], "\n"))
	}
	if leftOpen.Load() > 0 {
		t.Errorf("%d strangers' connections were left open for 15 s", leftOpen.Load())
	}
	return int(opened.Load())
}

// writeJunk writes first (unless 0) and a few hundred random bytes.
func writeJunk(conn net.Conn, first byte) error {
	b := make([]byte, 512)
	rand.Read(b)
	if first != 0 {
		b[0] = first
	}
	_, err := conn.Write(b)
	return err
}

// tlsJunk does a TLS handshake over conn with cfg, then sends R and junk
// inside it.
func tlsJunk(conn net.Conn, cfg *tls.Config) (net.Conn, error) {
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, writeJunk(tc, 'R')
}

// isTLSAlert reports whether b is a TLS alert record (what a TLS server
// may send a client it refuses).
func isTLSAlert(b []byte) bool { return len(b) >= 5 && b[0] == 0x15 }
