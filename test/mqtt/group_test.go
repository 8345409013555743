//go:build crossprocess

package mqtt

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
	"github.com/piermq/pier/test/internal/cluster"
)

// failoverWait bounds how long a client may take to find the next master
// after a kill (an election and the new master's start, on a loaded
// machine).
const failoverWait = 90 * time.Second

// group is a replicated group of three, each member with transports.mqtt
// on a port of its own. MQTT clients have no failover URL: they try the
// members' addresses in turn (only the master listens).
type group struct {
	*cluster.Cluster
	addrs []string // MQTT host:port by node, in the order of Nodes
}

// startGroup starts the group and waits for its master.
func startGroup(t *testing.T, name string) *group {
	t.Helper()
	c := cluster.Plan(t, cluster.Options{Name: name})
	g := &group{Cluster: c}
	for _, n := range c.Nodes {
		addr, err := c.FreePort(n)
		if err != nil {
			t.Fatal(err)
		}
		g.addrs = append(g.addrs, addr)
	}
	c.LaunchEach("", func(n *cluster.Node, cfg string) string {
		const off = "\n  mqtt: \"\"\n"
		if !strings.Contains(cfg, off) {
			t.Fatalf("node %s's configuration has no %q to replace:\n%s", n.ID, off, cfg)
		}
		return strings.Replace(cfg, off, "\n  mqtt: mqtt://"+g.addr(n)+"\n", 1)
	})
	if _, err := c.Master(failoverWait); err != nil {
		t.Fatal(err)
	}
	return g
}

// addr is n's MQTT address.
func (g *group) addr(n *cluster.Node) string {
	for i, o := range g.Nodes {
		if o == n {
			return g.addrs[i]
		}
	}
	panic("not a node of the group: " + n.ID)
}

// connect dials the members in turn, starting with member from, until one
// accepts c (CONNACK success), for at most failoverWait. It returns the
// connection, its CONNACK and the member's index.
func (g *group) connect(from int, c func() *packet.Connect, box *inbox) (*conn, *packet.Connack, int, error) {
	deadline := time.Now().Add(failoverWait)
	var last error
	for k := from; time.Now().Before(deadline); k++ {
		i := k % len(g.addrs)
		cn, ack, err := dial(g.addrs[i], nil, c(), box)
		switch {
		case err != nil:
			last = err
		case ack.Reason != packet.Success:
			last = fmt.Errorf("CONNACK %s from %s", ack.Reason, g.Nodes[i].ID)
			cn.close()
		default:
			return cn, ack, i, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, nil, 0, fmt.Errorf("no member accepted a connection within %s: %w", failoverWait, last)
}

// retry runs step until it succeeds or fails for good (again false), at
// most failoverWait: a step whose connection was lost (a master may step
// down on a loaded machine) is run again.
func (g *group) retry(step func() (again bool, err error)) error {
	deadline := time.Now().Add(failoverWait)
	for {
		again, err := step()
		if !again || time.Now().After(deadline) {
			return err
		}
	}
}

// connection is one connection of a failover client: the member and what
// its CONNACK said.
type connection struct {
	node           string
	sessionPresent bool
	at             time.Time
}

func (c connection) String() string {
	return fmt.Sprintf("%s (session present %v) at %s", c.node, c.sessionPresent, c.at.Format("15:04:05.000"))
}

// errStopped ends a failover client's loop.
var errStopped = errors.New("stopped")
