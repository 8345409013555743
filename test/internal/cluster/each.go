package cluster

import (
	"net"
	"os"
	"strconv"
)

// This file is for groups whose nodes' configurations differ beyond
// Options, such as a listener Launch does not write (transports.mqtt on a
// port of each node's own).

// FreePort draws one more port free on n's host, below the ephemeral range
// as the nodes' own ports are, and none of the group's nodes has.
func (c *Cluster) FreePort(n *Node) (string, error) {
	taken := map[int]bool{}
	for _, o := range c.Nodes {
		for _, hp := range []string{o.OpenWire, o.STOMP, o.Console, o.Replication} {
			if _, p, err := net.SplitHostPort(hp); err == nil {
				port, _ := strconv.Atoi(p)
				taken[port] = true
			}
		}
	}
	ports, err := freePorts(n.Host, 1, taken)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(n.Host, strconv.Itoa(ports[0])), nil
}

// LaunchEach is Launch for a group planned with Plan whose nodes'
// configurations differ: edit gets each node and the configuration Launch
// would write for it (extra appended) and returns the one to write. The
// nodes start one after another, so a ZooKeeper group (whose nodes must
// start together) is refused.
func (c *Cluster) LaunchEach(extra string, edit func(n *Node, config string) string) {
	t := c.t
	t.Helper()
	if c.opts.ZooKeeper != nil {
		t.Fatal("cluster: LaunchEach cannot start a ZooKeeper group")
	}
	opts := c.opts
	opts.Extra += "\n" + extra
	for _, n := range c.Nodes {
		if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(n.Config, []byte(edit(n, c.config(n, opts))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(c.cleanup)
	for _, n := range c.Nodes {
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
	}
	c.wg.Add(1)
	go c.watch()
}
