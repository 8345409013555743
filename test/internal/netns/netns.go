// Package netns builds a private network of Linux network namespaces for
// the cross-process tests under test/: one namespace per node, each pair of
// nodes joined by a veth pair of its own (a full mesh), and every node
// joined to the test's own (root) namespace by one more veth pair, so that
// the test reaches every node's ports whatever happens between the nodes.
//
// A node has one IPv4 address, 10.77.K.(i+1)/32 on its loopback (K is
// picked per network, so that concurrent runs do not collide); host routes
// send traffic for each peer over the link to that peer, and traffic for
// the test (10.77.K.254) over the link to the root namespace. Nothing is
// routed anywhere else: the namespaces have no default route and do not
// forward.
//
// Cut and Isolate break links between nodes by giving both ends a queue
// that holds no packet (pfifo limit 0): every packet is dropped silently,
// as in a real partition (no reset, no unreachable error), while routes and
// addresses stay as they are. Heal removes those queues. The links to the
// root namespace are never cut.
//
// It needs root and iproute2 (ip, tc). Names carry the test process's pid;
// New removes the namespaces of earlier runs whose process is gone, and
// the test's cleanup removes its own, also when the test fails.
package netns

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// prefix starts the name of every namespace this package creates:
// pn-<pid>-<run>-<node>.
const prefix = "pn-"

// rootHost is the last octet of the test's address in every network.
const rootHost = 254

// Network is a running set of namespaces.
type Network struct {
	t    testing.TB
	n    int
	run  string // unique per network: <pid>-<random>
	tag  string // the same, short, for root-side interface names
	base string // "10.77.K."

	mu struct {
		sync.Mutex
		cut map[[2]int]bool // links whose queues drop everything, i < j
	}
}

// New creates a network of n nodes and removes it when the test ends. It
// skips the test when not run as root or when `ip netns add` fails (e.g.
// without iproute2 or the privilege to create namespaces).
func New(t testing.TB, n int) *Network {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netns: network namespaces need root")
	}
	if n < 1 || n > 26 {
		t.Fatalf("netns: %d nodes: want 1 to 26", n)
	}
	removeStale(t)
	pid := os.Getpid()
	// Three base-36 digits, so that tag has a fixed length of at most 8
	// (a pid is below 2^22) and every interface name at most 12 bytes
	// (Linux allows 15).
	r := strconv.FormatInt(int64(36*36+rand.IntN(36*36*35)), 36)
	nw := &Network{t: t, n: n, run: fmt.Sprintf("%d-%s", pid, r), tag: strconv.FormatInt(int64(pid), 36) + r}
	nw.mu.cut = map[[2]int]bool{}
	if err := ip("netns", "add", nw.Namespace(0)); err != nil {
		t.Skipf("netns: cannot create a network namespace: %v", err)
	}
	t.Cleanup(nw.remove)
	k, err := freeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	nw.base = fmt.Sprintf("10.77.%d.", k)
	if err := nw.build(); err != nil {
		t.Fatalf("netns: %v", err)
	}
	return nw
}

// Namespace is the name of node i's namespace.
func (nw *Network) Namespace(i int) string {
	return fmt.Sprintf("%s%s-%d", prefix, nw.run, i)
}

// IP is node i's address.
func (nw *Network) IP(i int) string { return nw.base + strconv.Itoa(i+1) }

// RootIP is the test's address, from which it reaches every node.
func (nw *Network) RootIP() string { return nw.base + strconv.Itoa(rootHost) }

// Exec is the command prefix that runs a program in node i's namespace
// (ip netns exec execs the program in its own process).
func (nw *Network) Exec(i int) []string {
	return []string{"ip", "netns", "exec", nw.Namespace(i)}
}

// peerDev is the name, in node i's namespace, of its link to node j.
func peerDev(j int) string { return "peer" + strconv.Itoa(j) }

// rootDev is the name, in the root namespace, of the link to node i.
func (nw *Network) rootDev(i int) string { return "pn" + nw.tag + strconv.Itoa(i) }

// build creates the namespaces, the links and the routes.
func (nw *Network) build() error {
	for i := range nw.n {
		ns := nw.Namespace(i)
		if i > 0 {
			if err := ip("netns", "add", ns); err != nil {
				return err
			}
		}
		if err := ip("-n", ns, "link", "set", "lo", "up"); err != nil {
			return err
		}
		if err := ip("-n", ns, "addr", "add", nw.IP(i)+"/32", "dev", "lo"); err != nil {
			return err
		}
	}
	for i := range nw.n {
		if err := nw.linkRoot(i); err != nil {
			return err
		}
		for j := i + 1; j < nw.n; j++ {
			if err := nw.linkPeers(i, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// linkRoot joins node i to the root namespace.
func (nw *Network) linkRoot(i int) error {
	dev, ns := nw.rootDev(i), nw.Namespace(i)
	steps := [][]string{
		{"link", "add", dev, "type", "veth", "peer", "name", "root", "netns", ns},
		{"addr", "add", nw.RootIP() + "/32", "dev", dev},
		{"link", "set", dev, "up"},
		{"route", "add", nw.IP(i) + "/32", "dev", dev, "src", nw.RootIP()},
		{"-n", ns, "link", "set", "root", "up"},
		{"-n", ns, "route", "add", nw.RootIP() + "/32", "dev", "root", "src", nw.IP(i)},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// linkPeers joins nodes i and j.
func (nw *Network) linkPeers(i, j int) error {
	nsi, nsj := nw.Namespace(i), nw.Namespace(j)
	steps := [][]string{
		{"link", "add", peerDev(j), "netns", nsi, "type", "veth", "peer", "name", peerDev(i), "netns", nsj},
		{"-n", nsi, "link", "set", peerDev(j), "up"},
		{"-n", nsj, "link", "set", peerDev(i), "up"},
		{"-n", nsi, "route", "add", nw.IP(j) + "/32", "dev", peerDev(j), "src", nw.IP(i)},
		{"-n", nsj, "route", "add", nw.IP(i) + "/32", "dev", peerDev(i), "src", nw.IP(j)},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// Cut drops every packet between nodes i and j, both ways, until Heal.
func (nw *Network) Cut(i, j int) error {
	if i == j || i < 0 || j < 0 || i >= nw.n || j >= nw.n {
		return fmt.Errorf("netns: no link between %d and %d", i, j)
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	key := [2]int{min(i, j), max(i, j)}
	if nw.mu.cut[key] {
		return nil
	}
	for _, e := range [][2]int{{i, j}, {j, i}} {
		err := run("tc", "-n", nw.Namespace(e[0]), "qdisc", "replace", "dev", peerDev(e[1]), "root", "pfifo", "limit", "0")
		if err != nil {
			return err
		}
	}
	nw.mu.cut[key] = true
	return nil
}

// Isolate cuts node i off from every other node; the test still reaches
// it.
func (nw *Network) Isolate(i int) error {
	var errs []error
	for j := range nw.n {
		if j != i {
			errs = append(errs, nw.Cut(i, j))
		}
	}
	return errors.Join(errs...)
}

// Heal restores every cut link.
func (nw *Network) Heal() error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	var errs []error
	for key := range nw.mu.cut {
		ok := true
		for _, e := range [][2]int{{key[0], key[1]}, {key[1], key[0]}} {
			err := run("tc", "-n", nw.Namespace(e[0]), "qdisc", "del", "dev", peerDev(e[1]), "root")
			if err != nil {
				errs, ok = append(errs, err), false
			}
		}
		if ok {
			delete(nw.mu.cut, key)
		}
	}
	return errors.Join(errs...)
}

// remove kills whatever still runs in the namespaces and deletes them
// (with them go their links and the routes through them).
func (nw *Network) remove() {
	for i := range nw.n {
		if err := destroy(nw.Namespace(i)); err != nil {
			nw.t.Errorf("netns: %v", err)
		}
		// Gone with the namespace, unless a process kept it alive.
		ip("link", "del", nw.rootDev(i))
	}
}

// destroy kills the processes in namespace ns and deletes it. It does
// nothing if ns does not exist.
func destroy(ns string) error {
	list, err := namespaces()
	if err != nil {
		return err
	}
	if !slices.Contains(list, ns) {
		return nil
	}
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return fmt.Errorf("ip netns pids %s: %w", ns, err)
	}
	for f := range strings.FieldsSeq(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return ip("netns", "del", ns)
}

// removeStale deletes the namespaces of earlier runs (this package's
// prefix) whose test process no longer exists.
func removeStale(t testing.TB) {
	list, err := namespaces()
	if err != nil {
		return // ip netns add will tell
	}
	for _, ns := range list {
		rest, ok := strings.CutPrefix(ns, prefix)
		if !ok {
			continue
		}
		owner, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(owner)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		if err := destroy(ns); err != nil {
			t.Logf("netns: stale namespace %s not removed: %v", ns, err)
			continue
		}
		t.Logf("netns: removed stale namespace %s (process %d is gone)", ns, pid)
	}
}

// namespaces lists the named network namespaces.
func namespaces() ([]string, error) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// freeSubnet picks K such that no route or address of the root namespace
// lies in 10.77.K.0/24.
func freeSubnet() (int, error) {
	for range 50 {
		k := 1 + rand.IntN(250)
		prefix := fmt.Sprintf("10.77.%d.0/24", k)
		routes, err := exec.Command("ip", "-4", "-o", "route", "show", "table", "all", "root", prefix).Output()
		if err != nil {
			return 0, fmt.Errorf("netns: ip route show: %w", err)
		}
		addrs, err := exec.Command("ip", "-4", "-o", "addr", "show", "to", prefix).Output()
		if err != nil {
			return 0, fmt.Errorf("netns: ip addr show: %w", err)
		}
		if len(strings.TrimSpace(string(routes))) == 0 && len(strings.TrimSpace(string(addrs))) == 0 {
			return k, nil
		}
	}
	return 0, errors.New("netns: no free subnet in 10.77.0.0/16")
}

func ip(args ...string) error { return run("ip", args...) }

// run runs a command; its error carries the command's output.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
