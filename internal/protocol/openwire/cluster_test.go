package openwire

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// group stands for the high-availability group: the URLs ClusterURLs
// returns, changed by the test.
type group struct{ urls atomic.Pointer[[]string] }

func newGroup(urls ...string) *group {
	g := &group{}
	g.set(urls...)
	return g
}

func (g *group) set(urls ...string) { g.urls.Store(&urls) }
func (g *group) get() []string      { return *g.urls.Load() }

// connect sends a ConnectionInfo as a failover (fault-tolerant) or plain
// Java client would, and waits for its answer.
func (c *client) connect(id string, faultTolerant bool) {
	c.t.Helper()
	c.ok(&wire.ConnectionInfo{ConnectionID: &wire.ConnectionID{Value: id}, Manageable: true,
		ClientMaster: true, FaultTolerant: faultTolerant})
}

// expectControl reads the next command, which must be the ConnectionControl
// announcing list and nothing else.
func (c *client) expectControl(list string) {
	c.t.Helper()
	got := c.read()
	if want := (&wire.ConnectionControl{ConnectedBrokers: list}); !reflect.DeepEqual(got, want) {
		c.t.Fatalf("got %#v, want %#v", got, want)
	}
}

// expectNothing checks that the broker queued nothing for this client: the
// next command is the answer to a request made now (the broker queues
// everything for a connection in order).
func (c *client) expectNothing() {
	c.t.Helper()
	c.id++
	si := &wire.SessionInfo{SessionID: &wire.SessionID{ConnectionID: "x", Value: int64(c.id)}}
	si.SetCommandID(c.id)
	si.SetResponseRequired(true)
	c.write(si)
	if got, ok := c.read().(*wire.Response); !ok || got.CorrelationID != c.id {
		c.t.Fatalf("got %#v, want only the Response", got)
	}
}

func TestClusterURLsOnConnect(t *testing.T) {
	g := newGroup("tcp://10.0.0.1:61616", " tcp://10.0.0.2:61616 ", "")
	r := newRigWith(t, Config{ClusterURLs: g.get})
	for _, ft := range []bool{true, false} {
		t.Run(fmt.Sprintf("faultTolerant=%v", ft), func(t *testing.T) {
			c := r.dial()
			c.t = t
			c.connect(fmt.Sprint("ID:greet-", ft), ft)
			c.expectControl("tcp://10.0.0.1:61616,tcp://10.0.0.2:61616")
			c.expectNothing()
		})
	}
}

func TestClusterNotManageableGetsNoGreeting(t *testing.T) {
	r := newRigWith(t, Config{ClusterURLs: newGroup("tcp://a:1").get})
	c := r.dial()
	c.ok(&wire.ConnectionInfo{ConnectionID: &wire.ConnectionID{Value: "ID:unmanaged"}})
	c.expectNothing()
}

func TestUpdateClusterSendsChangedLists(t *testing.T) {
	g := newGroup("tcp://a:1", "tcp://b:1")
	r := newRigWith(t, Config{ClusterURLs: g.get})
	ft := r.dial()
	ft.connect("ID:ft", true)
	ft.expectControl("tcp://a:1,tcp://b:1")
	plain := r.dial()
	plain.connect("ID:plain", false)
	plain.expectControl("tcp://a:1,tcp://b:1")

	r.srv.UpdateCluster() // unchanged
	ft.expectNothing()

	g.set("tcp://a:1", "tcp://b:1", "tcp://c:1")
	r.srv.UpdateCluster()
	ft.expectControl("tcp://a:1,tcp://b:1,tcp://c:1")
	r.srv.UpdateCluster()
	ft.expectNothing()
	plain.expectNothing() // as ActiveMQ: updates go to failover clients only

	// A client that says it fails over (FailoverTransport.restoreTransport
	// does, first thing on a new socket) gets later updates.
	plain.write(&wire.ConnectionControl{FaultTolerant: true})
	plain.expectNothing() // a round trip: the broker has read it
	g.set("tcp://b:1")
	r.srv.UpdateCluster()
	ft.expectControl("tcp://b:1")
	plain.expectControl("tcp://b:1")

	// An empty list is not sent; the last one stands.
	g.set()
	r.srv.UpdateCluster()
	ft.expectNothing()
	g.set("tcp://b:1")
	r.srv.UpdateCluster()
	ft.expectNothing()

	// A new connection gets the current list.
	late := r.dial()
	late.connect("ID:late", true)
	late.expectControl("tcp://b:1")
}

func TestClusterOff(t *testing.T) {
	r := newRig(t)
	c := r.dial()
	c.connect("ID:off", true)
	c.expectNothing()
	r.srv.UpdateCluster()
	c.expectNothing()
}

func TestClusterEmptyListSendsNothing(t *testing.T) {
	g := newGroup()
	r := newRigWith(t, Config{ClusterURLs: g.get})
	c := r.dial()
	c.connect("ID:empty", true)
	c.expectNothing()
	g.set("tcp://a:1")
	r.srv.UpdateCluster()
	c.expectControl("tcp://a:1")
}

func TestClusterVersion1GetsNothing(t *testing.T) {
	g := newGroup("tcp://a:1")
	r := newRigWith(t, Config{ClusterURLs: g.get})
	c := r.dialVersion(1)
	c.connect("ID:v1", true)
	g.set("tcp://b:1")
	r.srv.UpdateCluster()
	c.expectNothing() // version 1's ConnectionControl has no connectedBrokers
}

// TestUpdateClusterConcurrently races UpdateCluster with connections
// opening and closing and with Shutdown (run with -race); a connection
// that stays ends up with the last list.
func TestUpdateClusterConcurrently(t *testing.T) {
	g := newGroup("tcp://a:0")
	r := newRigWith(t, Config{ClusterURLs: g.get})
	stay := r.dial()
	stay.connect("ID:stay", true)
	stay.expectControl("tcp://a:0")

	// updaters change the list and call UpdateCluster until stop closes.
	updaters := func(stop <-chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		for u := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					g.set(fmt.Sprintf("tcp://u%d:%d", u, i%5))
					r.srv.UpdateCluster()
					time.Sleep(100 * time.Microsecond)
				}
			}()
		}
		return &wg
	}

	stop := make(chan struct{})
	wg := updaters(stop)
	for i := range 30 {
		c := r.dial()
		if i%2 == 0 {
			c.connect(fmt.Sprint("ID:churn-", i), true)
		}
		c.nc.Close()
	}
	close(stop)
	wg.Wait()
	g.set("tcp://final:1")
	r.srv.UpdateCluster()
	for {
		cc, ok := stay.read().(*wire.ConnectionControl)
		if !ok {
			t.Fatalf("want ConnectionControl, got %#v", cc)
		}
		if cc.ConnectedBrokers == "tcp://final:1" {
			break
		}
	}
	stay.expectNothing()

	stop = make(chan struct{})
	wg = updaters(stop)
	r.srv.Shutdown(context.Background())
	close(stop)
	wg.Wait()
	r.srv.UpdateCluster() // after Shutdown: harmless
}
