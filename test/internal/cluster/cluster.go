// Package cluster runs a replicated Pier group (store.kind: replicated) as
// real processes for the cross-process suites under test/: N `pier serve`
// children, each with its own configuration file, data directory and
// ports, which a test kills, stops, pauses, wipes and restarts while it
// asks the consoles which node is master.
//
// While the group exists a watcher polls every running node's /readyz;
// two nodes answering 200 in the same poll is a problem, and so is a node
// exiting without being told to. Problems are reported by Err and, at the
// end of the test, as test errors; when the test failed, each node's log
// is written to a file and its failure lines printed.
//
// Each node can be given its own host IP and a command prefix (such as
// `ip netns exec ns1`), so that a test can place nodes in network
// namespaces; by default every node runs on 127.0.0.1. The binary comes
// from $PIER_BIN; without it the test is skipped.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options describe the group.
type Options struct {
	// Nodes is the number of replicas; default 3.
	Nodes int
	// Name is broker.name; default "cluster".
	Name string
	// Extra is YAML appended to every node's configuration (top-level
	// sections such as limits: or policies:).
	Extra string
	// Replicated is YAML keys added to every node's store.replicated
	// section, one per line without indentation (e.g. "snapshot_threshold: 64").
	Replicated string
	// Placement places node i (IDs "a", "b", ... in order); missing
	// entries and empty fields take the defaults.
	Placement []Placement
	// Journal makes each node a single broker with its own journal
	// (store.kind: journal) instead of a replica: with Nodes 1, a single
	// broker for network tests.
	Journal bool
	// SharedDir, with Journal, is the journal directory every node names:
	// a shared-directory master/slave group.
	SharedDir string
	// SQL, when Driver is set, makes every node use that shared database
	// (store.kind: sql): a shared-database master/slave group.
	SQL SQL
	// TLS, when set, gives the replication port mutual TLS (MakeCerts).
	TLS *TLS
	// ZooKeeper, when set, makes the replicas find each other through
	// that ensemble (store.replicated.zookeeper) instead of a peers map,
	// with node_id left to its default (host:port of the replication
	// port): the nodes start together, since none serves before the group
	// has formed.
	ZooKeeper *ZooKeeper
}

// ZooKeeper is where the replicas register (store.replicated.zookeeper).
type ZooKeeper struct {
	// Address is the ensemble, host:port,host:port.
	Address string
	// Path is the znode they register under; default /pier/<Name>.
	Path string
	// SessionTimeout is the session's timeout; 0: the store's default.
	SessionTimeout time.Duration
}

func (z *ZooKeeper) yaml(name string, replicas int) string {
	path := z.Path
	if path == "" {
		path = "/pier/" + name
	}
	out := fmt.Sprintf("    replicas: %d\n    zookeeper:\n      address: %q\n      path: %s\n", replicas, z.Address, path)
	if z.SessionTimeout > 0 {
		out += fmt.Sprintf("      session_timeout: %s\n", z.SessionTimeout)
	}
	return out
}

// SQL is a shared database's settings (store.sql).
type SQL struct {
	Driver, DSN string
	Lease       time.Duration // default: the store's own
}

// single reports whether the nodes are brokers of their own (a journal or
// a shared database), not replicas: they have no replication port.
func (o Options) single() bool { return o.Journal || o.SQL.Driver != "" }

// Placement says where a node runs.
type Placement struct {
	// Host is the IP every listener of the node binds to and its peers
	// dial; default 127.0.0.1.
	Host string
	// Prefix is run in front of `pier serve`, e.g. {"ip", "netns",
	// "exec", "ns1"}. It must exec pier in its own process (as ip netns
	// exec and nsenter do): signals are sent to the process started.
	Prefix []string
	// DataDir is the node's broker.data_dir (created if missing), e.g. on
	// a filesystem of the test's own; default a new directory under the
	// test's TempDir.
	DataDir string
}

// Cluster is a running group.
type Cluster struct {
	Nodes []*Node // in ID order: a, b, c, ...

	t    testing.TB
	opts Options
	bin  string
	http *http.Client
	stop chan struct{}
	wg   sync.WaitGroup

	mu struct {
		sync.Mutex
		problems []string
		dropped  int // problems beyond maxProblems
	}
}

// maxProblems bounds the problems kept (a stuck state repeats one).
const maxProblems = 20

// pollTimeout bounds one /readyz request; a node that does not answer in
// time counts as not ready.
const pollTimeout = 500 * time.Millisecond

// Start writes the nodes' configurations, starts every node and waits
// until each replication port answers; it does not wait for a master (see
// Master). Every process is killed when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c := Plan(t, opts)
	c.Launch("")
	return c
}

// Plan chooses the nodes' ports and directories without starting them, so
// that two groups can name each other in their configurations (network
// connectors); Launch starts them.
func Plan(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bin := os.Getenv("PIER_BIN")
	if bin == "" {
		t.Skip("PIER_BIN is not set: go build -o /tmp/pier ./cmd/pier && PIER_BIN=/tmp/pier go test -tags crossprocess ./test/cluster/")
	}
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Name == "" {
		opts.Name = "cluster"
	}
	c := &Cluster{t: t, bin: bin, stop: make(chan struct{}), opts: opts,
		http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	dir := t.TempDir()
	taken := map[int]bool{} // each call releases its ports: no two nodes may draw one
	for i := range opts.Nodes {
		var pl Placement
		if i < len(opts.Placement) {
			pl = opts.Placement[i]
		}
		if pl.Host == "" {
			pl.Host = "127.0.0.1"
		}
		ports, err := freePorts(pl.Host, 4, taken)
		if err != nil {
			t.Fatal(err)
		}
		hp := func(k int) string { return net.JoinHostPort(pl.Host, strconv.Itoa(ports[k])) }
		id := string(rune('a' + i))
		if pl.DataDir == "" {
			pl.DataDir = filepath.Join(dir, id)
		}
		c.Nodes = append(c.Nodes, &Node{ID: id, Host: pl.Host, OpenWire: hp(0), STOMP: hp(1), Console: hp(2),
			Replication: hp(3), DataDir: pl.DataDir, Config: filepath.Join(dir, id+".yaml"),
			c: c, prefix: pl.Prefix, log: &logBuffer{}})
	}
	return c
}

// Launch writes the configurations (with extra YAML appended to each, after
// Options.Extra), starts every node and waits until each replication port
// answers.
func (c *Cluster) Launch(extra string) {
	t := c.t
	t.Helper()
	opts := c.opts
	opts.Extra += "\n" + extra
	for _, n := range c.Nodes {
		if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(n.Config, []byte(c.config(n, opts)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(c.cleanup)
	if opts.ZooKeeper != nil {
		// Together: each waits in ZooKeeper for the others.
		procs := make([]*proc, len(c.Nodes))
		for i, n := range c.Nodes {
			var err error
			if procs[i], err = n.launch(); err != nil {
				t.Fatal(err)
			}
		}
		for i, n := range c.Nodes {
			if err := n.awaitUp(procs[i]); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		for _, n := range c.Nodes {
			if err := n.Start(); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.wg.Add(1)
	go c.watch()
}

// OpenWireURLs returns the nodes' client URLs, tcp://host:port each.
func (c *Cluster) OpenWireURLs() []string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = "tcp://" + n.OpenWire
	}
	return urls
}

// indent puts prefix before every non-empty line of s.
func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			b.WriteString(prefix + strings.TrimSpace(l) + "\n")
		}
	}
	return b.String()
}

func (c *Cluster) config(n *Node, opts Options) string {
	store := "  kind: journal\n"
	if opts.SQL.Driver != "" {
		store = fmt.Sprintf("  kind: sql\n  sql:\n    driver: %s\n    dsn: %q\n", opts.SQL.Driver, opts.SQL.DSN)
		if opts.SQL.Lease > 0 {
			store += fmt.Sprintf("    lease_duration: %s\n", opts.SQL.Lease)
		}
	} else if opts.SharedDir != "" {
		store += "  journal:\n    dir: " + opts.SharedDir + "\n"
	}
	if !opts.single() {
		var peers strings.Builder
		for _, p := range c.Nodes {
			fmt.Fprintf(&peers, "      %s: tcp://%s\n", p.ID, p.Replication)
		}
		store = fmt.Sprintf("  kind: replicated\n  replicated:\n    node_id: %s\n    bind: tcp://%s\n%s    peers:\n%s",
			n.ID, n.Replication, indent(opts.Replicated, "    "), peers.String())
		if opts.ZooKeeper != nil {
			store = fmt.Sprintf("  kind: replicated\n  replicated:\n    bind: tcp://%s\n%s%s",
				n.Replication, indent(opts.Replicated, "    "), opts.ZooKeeper.yaml(opts.Name, len(c.Nodes)))
		}
		if opts.TLS != nil {
			store += opts.TLS.yaml(n.ID)
		} else if beyondLoopback(n.Replication) {
			// Members in network namespaces of their own: the test's
			// private network, not a real one.
			store += "    insecure: true\n"
		}
	}
	extra := opts.Extra
	if beyondLoopback(n.OpenWire) && !strings.Contains(extra, "security:") {
		extra = "security:\n  allow_anonymous: true\n" + extra
	}
	return fmt.Sprintf(`broker:
  name: %s
  data_dir: %s
transports:
  openwire: tcp://%s
  stomp: stomp://%s
  mqtt: ""
  ws: ""
  amqp: ""
console:
  listen: %s
store:
%s%s
`, opts.Name, n.DataDir, n.OpenWire, n.STOMP, n.Console, store, extra)
}

// beyondLoopback reports whether a host:port is not on a loopback address
// (a node in a network namespace of its own): Pier refuses such listeners
// unless security says who may use them.
func beyondLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && !ip.IsLoopback()
}

// freePorts returns k distinct ports free on host (on 127.0.0.1 when host
// is not an address of this namespace, e.g. inside another network
// namespace), below the kernel's ephemeral range so that no outgoing
// connection takes one while its node is down, and none of taken (the
// ports other nodes drew: a call's own listeners close when it returns).
func freePorts(host string, k int, taken map[int]bool) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < k; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("cluster: no free ports on %s", host)
		}
		port := 20000 + rand.IntN(12000)
		if taken[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil && !errors.Is(err, syscall.EADDRINUSE) {
			ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		}
		if err != nil {
			continue
		}
		lns = append(lns, ln)
		ports = append(ports, port)
		taken[port] = true
	}
	return ports, nil
}

// FailoverURL returns the client URL of the whole group:
// failover:(tcp://a,tcp://b,...)?randomize=false&initialReconnectDelay=100&maxReconnectDelay=1000.
// Append more options with "&".
func (c *Cluster) FailoverURL() string {
	return "failover:(" + strings.Join(c.OpenWireURLs(), ",") + ")?randomize=false&initialReconnectDelay=100&maxReconnectDelay=1000"
}

// Master waits up to timeout until exactly one node answers /readyz with
// 200 and returns it. Two nodes answering 200 in one poll is an error (and
// a problem, see Err).
func (c *Cluster) Master(timeout time.Duration) (*Node, error) {
	deadline := time.Now().Add(timeout)
	for {
		ready := c.Masters()
		switch len(ready) {
		case 1:
			return ready[0], nil
		case 0:
		default:
			return nil, fmt.Errorf("cluster: %d masters at once: %s", len(ready), ids(ready))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cluster: no master after %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Masters asks every running node that is not paused for /readyz, all at
// once, and returns those answering 200, in ID order. More than one is
// recorded as a problem.
func (c *Cluster) Masters() []*Node {
	type answer struct {
		ready       bool
		asked, took time.Duration
	}
	answers := make([]answer, len(c.Nodes))
	start := time.Now()
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		if !n.Running() || n.Paused() {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
			defer cancel()
			asked := time.Since(start)
			ok, err := n.Ready(ctx)
			answers[i] = answer{ready: ok && err == nil, asked: asked, took: time.Since(start) - asked}
		})
	}
	wg.Wait()
	var ready []*Node
	var detail []string
	for i, a := range answers {
		if a.ready {
			ready = append(ready, c.Nodes[i])
			detail = append(detail, fmt.Sprintf("%s asked at +%s, answered in %s", c.Nodes[i].ID, a.asked, a.took))
		}
	}
	if len(ready) > 1 {
		c.problem("%s: %d nodes answered /readyz 200 in one poll (%s)", start.Format("15:04:05.000"), len(ready), strings.Join(detail, "; "))
	}
	return ready
}

// watch polls the masters until the test ends, so that two at once are
// noticed even between a test's own calls.
func (c *Cluster) watch() {
	defer c.wg.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.Masters()
		}
	}
}

func (c *Cluster) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mu.problems) >= maxProblems {
		c.mu.dropped++
		return
	}
	c.mu.problems = append(c.mu.problems, fmt.Sprintf(format, args...))
}

// Err returns the problems seen so far (two masters in one poll, a node
// that exited on its own), or nil.
func (c *Cluster) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, p := range c.mu.problems {
		errs = append(errs, errors.New(p))
	}
	if c.mu.dropped > 0 {
		errs = append(errs, fmt.Errorf("and %d more problems", c.mu.dropped))
	}
	return errors.Join(errs...)
}

func (c *Cluster) cleanup() {
	close(c.stop)
	c.wg.Wait()
	for _, n := range c.Nodes {
		n.Kill()
	}
	if err := c.Err(); err != nil {
		c.t.Errorf("cluster problems:\n%v", err)
	}
	if c.t.Failed() {
		c.dumpLogs()
	}
}

// dumpLogs writes each node's log to $PIER_CLUSTER_LOGS (or a new
// temporary directory, kept) and prints its failure lines.
func (c *Cluster) dumpLogs() {
	dir := os.Getenv("PIER_CLUSTER_LOGS")
	name := strings.NewReplacer("/", "_", " ", "_").Replace(c.t.Name())
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "pier-cluster-"+name+"-")
	} else {
		dir = filepath.Join(dir, name)
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		c.t.Logf("cluster: logs not written: %v", err)
		dir = ""
	}
	for _, n := range c.Nodes {
		if dir != "" {
			path := filepath.Join(dir, n.ID+".log")
			if err := os.WriteFile(path, []byte(n.Log()), 0o644); err != nil {
				c.t.Logf("cluster: %v", err)
			} else {
				c.t.Logf("cluster: node %s log: %s", n.ID, path)
			}
		}
		f := n.Failures()
		if len(f) > 15 {
			f = f[len(f)-15:]
		}
		c.t.Logf("cluster: node %s, last warnings and errors:\n%s\nlast lines:\n%s", n.ID, strings.Join(f, "\n"), n.log.Tail(10))
	}
}

func ids(ns []*Node) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.ID
	}
	return strings.Join(s, ",")
}
