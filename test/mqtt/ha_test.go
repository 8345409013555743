//go:build crossprocess

package mqtt

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// TestFailover is a replicated group of three under MQTT: a QoS 1
// publisher (MQTT 3.1.1) sends numbered messages one at a time, a
// persistent-session subscriber (clean session 0, QoS 1, a fixed client
// id) takes them, a retained message is set; the master is killed (-9)
// mid-stream, with deliveries the subscriber has not acknowledged yet, and
// both clients reconnect to the next member. Every publish
// the old or new master acknowledged (PUBACK) must reach the subscriber;
// a message delivered again must carry DUP (MQTT 3.1.1 section 3.3.1.1);
// the subscriber's session must be present on the new master (CONNACK
// session present) with its subscription still delivering, without
// subscribing again; a new subscriber on the new master must get the
// retained message with RETAIN set.
func TestFailover(t *testing.T) {
	runFailover(t, failoverCase{qos: 1, version: packet.Version311})
}

// TestFailoverQoS2 is TestFailover at QoS 2 with MQTT 5 sessions (session
// expiry 600 s) on both sides: the publisher resends an unfinished
// exchange to the next master (PUBLISH with DUP before PUBREC, PUBREL
// after), and the subscriber keeps its side of the exchanges across
// connections. Every message is delivered exactly once (MQTT 5.0 section
// 4.3.3): never twice, not even with DUP, and none lost.
func TestFailoverQoS2(t *testing.T) {
	runFailover(t, failoverCase{qos: 2, version: packet.Version5})
}

type failoverCase struct {
	qos     byte
	version byte
}

// Stream figures: acknowledged publishes before the kill, and after the
// publisher's first acknowledged publish on the new master.
const (
	haBefore = 300
	haAfter  = 300
	// haHeld is how many deliveries the subscriber leaves unacknowledged
	// when the master dies.
	haHeld = 20
)

func runFailover(t *testing.T, fc failoverCase) {
	g := startGroup(t, fmt.Sprintf("mqtt-ha-%d", fc.qos))
	topic := fmt.Sprintf("ha/seq/qos%d", fc.qos)
	retainedTopic := fmt.Sprintf("ha/retained/qos%d", fc.qos)
	session := func(id string, clean bool) func() *packet.Connect {
		return func() *packet.Connect {
			c := &packet.Connect{Version: fc.version, ClientID: id, CleanStart: clean}
			if fc.version == packet.Version5 {
				e := uint32(600)
				c.Properties.SessionExpiry = &e
			}
			return c
		}
	}

	// The retained message, before anything else.
	// (Again on another connection if this one is lost: a master may
	// step down on a loaded machine.)
	if err := g.retry(func() (bool, error) {
		rc, _, _, err := g.connect(0, session("ha-retainer", true), nil)
		if err != nil {
			return false, err
		}
		defer rc.disconnect()
		ack, err := rc.publish1(&packet.Publish{Topic: retainedTopic, Retain: true, PacketID: 1, Payload: []byte("set before the kill")})
		if err != nil {
			return true, err
		}
		if ack.Reason.Failed() {
			return false, fmt.Errorf("retained publish: PUBACK %s", ack.Reason)
		}
		return false, nil
	}); err != nil {
		t.Fatal(err)
	}

	sub := &haSubscriber{g: g, box: newInbox(), connect: session("ha-sub", false)}
	if err := g.retry(func() (bool, error) { return sub.start(topic, fc.qos) }); err != nil {
		t.Fatal(err)
	}
	pub := &haPublisher{g: g, qos: fc.qos, topic: topic, connect: session("ha-pub", fc.version == packet.Version311)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { pub.run(stop) })
	wg.Go(func() { sub.run(stop) })
	defer func() {
		close(stop)
		wg.Wait()
		sub.close()
	}()

	if err := eventuallyWithin(2*failoverWait, func() bool {
		return pub.ackedCount() >= haBefore && countDelivered(sub.box.all()) >= haBefore/2
	}); err != nil {
		t.Fatalf("before the kill: %d publishes acknowledged, %d delivered: %v", pub.ackedCount(), countDelivered(sub.box.all()), err)
	}
	master, err := g.Master(failoverWait)
	if err != nil {
		t.Fatal(err)
	}
	// Some deliveries unacknowledged when the master dies: the next must
	// send them again.
	sub.box.setHold(true)
	held := len(sub.box.all())
	if err := sub.box.await(failoverWait, func(rs []received) bool { return len(rs) >= held+haHeld }); err != nil {
		t.Fatalf("deliveries to hold: %v", err)
	}
	killed := time.Now()
	master.Kill()
	sub.box.setHold(false)
	t.Logf("killed master %s at %s with %d publishes acknowledged, %d delivered", master.ID, killed.Format("15:04:05.000"),
		pub.ackedCount(), countDelivered(sub.box.all()))
	next, err := g.Master(failoverWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new master %s after %s", next.ID, time.Since(killed).Round(time.Millisecond))
	if err := eventuallyWithin(2*failoverWait, func() bool { return pub.ackedAfter(killed) >= haAfter }); err != nil {
		t.Fatalf("after the kill: %d publishes acknowledged by the new master: %v", pub.ackedAfter(killed), err)
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{}) // for the deferred close

	acked, sent := pub.ledger()
	want := 0
	for _, a := range acked {
		if a {
			want++
		}
	}
	// Everything acknowledged must come; wait for the last of it.
	if err := sub.box.await(failoverWait, func(rs []received) bool { return missing(acked, rs) == 0 }); err != nil {
		t.Errorf("waiting for every acknowledged publish: %v", err)
	}
	got := sub.box.all()
	t.Logf("publisher: %d sent, %d acknowledged, connections %v", sent, want, pub.connections())
	t.Logf("subscriber: %d PUBLISH received (%d delivered), connections %v", len(got), countDelivered(got), sub.connections())
	for _, p := range append(pub.seen(), sub.seen()...) {
		t.Error(p)
	}
	again, newID := redelivered(got)
	t.Logf("subscriber: %d messages delivered more than once, %d of them again with another packet id", again, newID)
	for _, p := range checkLedger(acked, sent, got, fc.qos) {
		t.Error(p)
	}
	checkSessionResumed(t, sub.connections(), killed, next.ID)

	// The retained message, on the new master, to a new subscriber.
	var box *inbox
	if err := g.retry(func() (bool, error) {
		box = newInbox()
		nc, _, _, err := g.connect(0, session("ha-late", true), box)
		if err != nil {
			return false, err
		}
		defer nc.disconnect()
		ack, err := nc.subscribe(1, packet.Properties{}, packet.Subscription{Filter: retainedTopic, QoS: 1})
		if err != nil {
			return true, err
		}
		if ack.Reasons[0].Failed() {
			return false, fmt.Errorf("subscribe %s: SUBACK %v", retainedTopic, ack.Reasons)
		}
		if err := box.awaitCount(1); err != nil {
			return false, fmt.Errorf("the retained message after the failover: %w", err)
		}
		return false, nil
	}); err != nil {
		t.Fatal(err)
	}
	if r := box.all()[0]; r.Payload != "set before the kill" || !r.Retain {
		t.Errorf("retained message after the failover: %+v, want %q with RETAIN", r, "set before the kill")
	}
}

// checkSessionResumed checks that the subscriber's first connection after
// the kill was to the new master and found its session there.
func checkSessionResumed(t *testing.T, conns []connection, killed time.Time, master string) {
	t.Helper()
	for _, c := range conns {
		if c.at.Before(killed) {
			continue
		}
		if c.node != master {
			t.Errorf("the subscriber reconnected to %s, not the new master %s", c.node, master)
		}
		if !c.sessionPresent {
			t.Errorf("the subscriber's session was not present on the new master %s (CONNACK session present 0; MQTT 3.1.1 section 3.2.2.2, 5.0 section 3.2.2.1.1)", c.node)
		}
		return
	}
	t.Errorf("the subscriber did not reconnect after the kill (connections: %v)", conns)
}

// missing counts the acknowledged publishes not delivered.
func missing(acked []bool, rs []received) int {
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.Payload] = true
	}
	n := 0
	for i, a := range acked {
		if a && !seen[strconv.Itoa(i)] {
			n++
		}
	}
	return n
}

// checkLedger compares the publisher's account (acked by number, sent
// numbers 0 .. sent-1) with what the subscriber received.
func checkLedger(acked []bool, sent int, got []received, qos byte) []string {
	var problems []string
	add := func(format string, args ...any) {
		if len(problems) < 30 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	copies := map[int][]received{}
	last := -1
	for _, r := range got {
		if r.Repeat {
			continue // a QoS 2 PUBLISH resent before its PUBREL: not a delivery
		}
		n, err := strconv.Atoi(r.Payload)
		if err != nil || n < 0 || n >= sent {
			add("received %q, which was never sent", r.Payload)
			continue
		}
		if len(copies[n]) == 0 {
			if n < last {
				add("message %d first delivered after %d (MQTT 5.0 section 4.6: in order)", n, last)
			}
			last = max(last, n)
		}
		copies[n] = append(copies[n], r)
	}
	for i, a := range acked {
		if a && len(copies[i]) == 0 {
			add("message %d was acknowledged to the publisher and never delivered", i)
		}
	}
	for n, rs := range copies {
		if len(rs) < 2 {
			continue
		}
		if qos == 2 {
			add("message %d delivered %d times at QoS 2 (packet ids %v): exactly once is broken", n, len(rs), ids(rs))
			if rs[1].ID != rs[0].ID {
				add("message %d sent again with packet id %d, first sent as %d, so the client could not know it (MQTT 5.0 section 4.4, [MQTT-4.4.0-1]: resent with the original packet identifier)", n, rs[1].ID, rs[0].ID)
			}
			continue
		}
		for _, r := range rs[1:] {
			if !r.Dup {
				add("message %d delivered again without DUP (packet ids %v; MQTT 3.1.1 section 3.3.1.1)", n, ids(rs))
			}
		}
	}
	return problems
}

// redelivered counts the messages delivered more than once, and those of
// them whose later copy had another packet id than the first.
func redelivered(got []received) (again, newID int) {
	first := map[string]uint16{}
	counted := map[string]bool{}
	for _, r := range got {
		id, seen := first[r.Payload]
		switch {
		case r.Repeat:
		case !seen:
			first[r.Payload] = r.ID
		case !counted[r.Payload]:
			counted[r.Payload] = true
			again++
			if r.ID != id {
				newID++
			}
		}
	}
	return again, newID
}

func ids(rs []received) []uint16 {
	out := make([]uint16, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// eventuallyWithin waits at most within until cond holds.
func eventuallyWithin(within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
