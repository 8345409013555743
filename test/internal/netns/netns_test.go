package netns

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the helper that runs inside a namespace:
// with NETNS_TEST_HELPER=listen it accepts TCP connections on
// NETNS_TEST_ADDR until killed; with dial it exits 0 if a connection to
// NETNS_TEST_ADDR succeeds within dialTimeout, 1 if not.
func TestMain(m *testing.M) {
	addr := os.Getenv("NETNS_TEST_ADDR")
	switch os.Getenv("NETNS_TEST_HELPER") {
	case "listen":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(2)
			}
			c.Close()
		}
	case "dial":
		c, err := net.DialTimeout("tcp", addr, dialTimeout)
		if err != nil {
			os.Exit(1)
		}
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dialTimeout bounds one connection attempt: a cut link drops the SYN, so
// the attempt runs into it.
const dialTimeout = 300 * time.Millisecond

// port is where every node's helper listens (each namespace has its own).
const port = "7777"

func helper(nw *Network, i int, mode, addr string) *exec.Cmd {
	args := append(nw.Exec(i), os.Args[0])
	cmd := exec.Command(args[0], args[1:]...)
	// Under -race, a process sleeps a second at exit unless told not to.
	cmd.Env = append(os.Environ(), "NETNS_TEST_HELPER="+mode, "NETNS_TEST_ADDR="+addr, "GORACE=atexit_sleep_ms=0")
	return cmd
}

// listen starts a listener in every node's namespace and waits until the
// test reaches each.
func listen(t *testing.T, nw *Network) {
	for i := range nw.n {
		addr := net.JoinHostPort(nw.IP(i), port)
		cmd := helper(nw, i, "listen", addr)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		deadline := time.Now().Add(10 * time.Second)
		for !reach(t, nw, -1, i) {
			if time.Now().After(deadline) {
				t.Fatalf("the test does not reach node %d's listener at %s", i, addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// reach reports whether node from (-1: the test) connects to node to.
func reach(t *testing.T, nw *Network, from, to int) bool {
	addr := net.JoinHostPort(nw.IP(to), port)
	if from < 0 {
		c, err := net.DialTimeout("tcp", addr, dialTimeout)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	err := helper(nw, from, "dial", addr).Run()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatal(err)
	}
	return err == nil
}

// expect checks every pair of nodes, and the test to every node: the
// pairs in cut are unreachable (both ways), all others reachable.
func expect(t *testing.T, nw *Network, cut ...[2]int) {
	t.Helper()
	for to := range nw.n {
		if !reach(t, nw, -1, to) {
			t.Errorf("the test does not reach node %d", to)
		}
		for from := range nw.n {
			if from == to {
				continue
			}
			want := !slices.Contains(cut, [2]int{min(from, to), max(from, to)})
			if got := reach(t, nw, from, to); got != want {
				t.Errorf("node %d reaches node %d: %t, want %t", from, to, got, want)
			}
		}
	}
}

func TestCutIsolateHeal(t *testing.T) {
	nw := New(t, 3)
	listen(t, nw)
	expect(t, nw)

	if err := nw.Cut(0, 1); err != nil {
		t.Fatal(err)
	}
	expect(t, nw, [2]int{0, 1})
	if err := nw.Heal(); err != nil {
		t.Fatal(err)
	}
	expect(t, nw)

	if err := nw.Isolate(2); err != nil {
		t.Fatal(err)
	}
	expect(t, nw, [2]int{0, 2}, [2]int{1, 2})
	if err := nw.Heal(); err != nil {
		t.Fatal(err)
	}
	expect(t, nw)
}

func TestRemovedAtCleanup(t *testing.T) {
	var names, devs []string
	t.Run("network", func(t *testing.T) {
		nw := New(t, 2)
		listen(t, nw) // a process inside must not keep a namespace alive
		for i := range nw.n {
			names = append(names, nw.Namespace(i))
			devs = append(devs, nw.rootDev(i))
		}
		nw.Isolate(0)
	})
	if len(names) == 0 {
		t.Skip("no network was built")
	}
	list, err := namespaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range names {
		if slices.Contains(list, ns) {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	for _, dev := range devs {
		if ip("link", "show", "dev", dev) == nil {
			t.Errorf("interface %s left behind", dev)
		}
	}
}

func TestRemovesStale(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("netns: network namespaces need root")
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-zzz-0", prefix, gone.Process.Pid)
	if err := ip("netns", "add", stale); err != nil {
		t.Skipf("netns: cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() { destroy(stale) })
	New(t, 1)
	list, err := namespaces()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(list, stale) {
		t.Errorf("stale namespace %s (process %d gone) not removed: %s", stale, gone.Process.Pid, strings.Join(list, " "))
	}
}
