//go:build crossprocess

package cluster

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/store/sqlstore/sqltest"
	"github.com/piermq/pier/test/internal/cluster"
)

// sqlServers are private PostgreSQL and MariaDB servers for this suite,
// started on first use (and killed with the test binary's process group).
var sqlServers = sqltest.New()

// TestMain stops the database servers after the suite.
func TestMain(m *testing.M) {
	code := m.Run()
	sqlServers.Close()
	os.Exit(code)
}

// sqlLease is the groups' lease_duration: short, so that a takeover after
// a kill (which waits for the lease to expire) is quick.
const sqlLease = 2 * time.Second

// sqlDatabases are the kinds of shared database.
var sqlDatabases = []struct {
	name, driver string
	dsn          func(testing.TB) string
	// restart stops the server (SIGKILL with crash) for down and starts
	// it again on the same data.
	restart func(t testing.TB, down time.Duration, crash bool)
}{
	{"postgres", "postgres", func(t testing.TB) string { return sqlServers.Postgres(t) }, sqlServers.RestartPostgres},
	{"mariadb", "mysql", func(t testing.TB) string { return sqlServers.MariaDB(t) }, sqlServers.RestartMariaDB},
}

// startSQL starts a shared-database group of two on dsn and waits for its
// master.
func startSQL(t *testing.T, driver, dsn string) (*cluster.Cluster, *cluster.Node) {
	t.Helper()
	c := cluster.Start(t, cluster.Options{Name: strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), Nodes: 2,
		SQL: cluster.SQL{Driver: driver, DSN: dsn, Lease: sqlLease}})
	m, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

// TestSQLKillMaster: the master of a shared-database group is killed with
// SIGKILL twice under a failover producer and consumer; the other takes
// the lease once it expired, recovers the store and serves. Every
// acknowledged send is consumed (a duplicate only if marked redelivered).
func TestSQLKillMaster(t *testing.T) {
	for _, db := range sqlDatabases {
		t.Run(db.name, func(t *testing.T) {
			c, _ := startSQL(t, db.driver, db.dsn(t))
			killMasters(t, c, 2, nil) // each waits for the lease (sqlLease) to expire
		})
	}
}

// TestSQLConnectionCut: the group reaches its database through a proxy;
// cutting it (every connection closed, new ones refused) makes the master
// stop serving before its lease could expire for the other, and nobody
// serves until the database is reachable again; then one takes over and
// every acknowledged send is consumed.
func TestSQLConnectionCut(t *testing.T) {
	for _, db := range sqlDatabases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.dsn(t)
			px := newProxy(t, dsnAddr(t, db.driver, dsn))
			c, _ := startSQL(t, db.driver, strings.Replace(dsn, dsnAddr(t, db.driver, dsn), px.addr(), 1))
			// It must stop within its lease: before the lease could
			// expire for the other member.
			storageOutage(t, c, "its database", sqlLease, 2*sqlLease,
				func() error { px.cut(); return nil }, func() error { px.heal(); return nil })
		})
	}
}

// TestSQLDatabaseRestart: the database server of a running group is
// killed (SIGKILL) and started again under a failover producer and
// consumer: the master cannot renew its lease and stops serving, and when
// the database is back a master serves again; every acknowledged send is
// consumed.
func TestSQLDatabaseRestart(t *testing.T) {
	for _, db := range sqlDatabases {
		t.Run(db.name, func(t *testing.T) {
			c, _ := startSQL(t, db.driver, db.dsn(t))
			l := newLedger(queueName(t))
			url := c.FailoverURL()
			k := l.startConsumer(t, url, 10)
			p := l.startProducer(t, url, 2*time.Millisecond)
			waitProgress(t, l, 200)
			before := l.ackedCount()
			start := time.Now()
			db.restart(t, 3*time.Second, true)
			next, err := c.Master(electTimeout)
			if err != nil {
				t.Fatal(err)
			}
			waitProgress(t, l, 100)
			t.Logf("database killed after %d acknowledged sends and back after 3 s; %s serving %s after the kill",
				before, next.ID, time.Since(start).Round(time.Millisecond))
			p.stop()
			k.drain(t, drainTimeout)
			l.check(t, false)
		})
	}
}

// dsnAddr returns the host:port a DSN connects to.
func dsnAddr(t *testing.T, driver, dsn string) string {
	t.Helper()
	var hp string
	switch driver {
	case "postgres": // postgres://user@host:port/db?...
		rest := dsn[strings.Index(dsn, "@")+1:]
		hp, _, _ = strings.Cut(rest, "/")
	case "mysql": // user@tcp(host:port)/db?...
		_, rest, _ := strings.Cut(dsn, "tcp(")
		hp, _, _ = strings.Cut(rest, ")")
	}
	if _, _, err := net.SplitHostPort(hp); err != nil {
		t.Fatalf("no host:port in DSN %q: %v", dsn, err)
	}
	return hp
}

// proxy forwards TCP connections to a database; cut closes every
// connection and refuses new ones until heal.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		if !down {
			p.conns[c] = true
		}
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		u.Close()
		return
	}
	p.conns[u] = true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		if _, err := io.Copy(dst, src); err != nil && !errors.Is(err, net.ErrClosed) {
			_ = err // the other side went away
		}
		done <- struct{}{}
	}
	go cp(u, c)
	go cp(c, u)
	<-done
	c.Close()
	u.Close()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) heal() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
