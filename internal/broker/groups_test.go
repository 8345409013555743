package broker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store/storetest"
)

func sendGroup(t *testing.T, c *Conn, d message.Destination, group string, seq int32, body string) {
	t.Helper()
	m := &message.Message{Dest: d, Body: []byte(body), BodyKind: message.Text, Priority: 4, GroupID: group, GroupSeq: seq}
	if err := c.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
}

// Each group sticks to one consumer; the first message of a group to a
// consumer is marked; when the consumer leaves, its groups move.
func TestMessageGroups(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c1, k1 := connect(t, b, "")
	c2, k2 := connect(t, b, "")
	subscribe(t, c1, SubOptions{ID: "a", Dest: q("g"), Prefetch: 100})
	subscribe(t, c2, SubOptions{ID: "b", Dest: q("g"), Prefetch: 100})
	for i := range 20 {
		sendGroup(t, p, q("g"), fmt.Sprint("G", i%4), int32(i/4+1), fmt.Sprint(i))
	}
	owner := map[string]string{}
	firsts := 0
	for _, k := range []*sink{k1, k2} {
	drain:
		for {
			select {
			case d := <-k.ch:
				if o, ok := owner[d.Msg.GroupID]; ok && o != d.Sub.ID() {
					t.Fatalf("group %s went to %s and %s", d.Msg.GroupID, o, d.Sub.ID())
				}
				if d.Msg.Properties[PropGroupFirstForConsumer] == true {
					firsts++
				}
				owner[d.Msg.GroupID] = d.Sub.ID()
				ack(t, d.Sub.conn, d)
			default:
				break drain
			}
		}
	}
	if len(owner) != 4 || firsts != 4 {
		t.Fatalf("groups %v, first-for-consumer marks %d (want 4 and 4)", owner, firsts)
	}
	// c1 leaves: its groups go to c2 with their next message.
	var moved []string
	for g, o := range owner {
		if o == "a" {
			moved = append(moved, g)
		}
	}
	c1.Close()
	for _, g := range moved {
		sendGroup(t, p, q("g"), g, 9, "after")
		d := k2.next(t)
		if d.Msg.GroupID != g || d.Msg.Properties[PropGroupFirstForConsumer] != true {
			t.Errorf("group %s after its consumer left: got %s, first %v", g, d.Msg.GroupID, d.Msg.Properties[PropGroupFirstForConsumer])
		}
		ack(t, c2, d)
	}
	// JMSXGroupSeq -1 closes a group.
	before := b.Groups("g")
	sendGroup(t, p, q("g"), "G0", -1, "close")
	ack(t, c2, k2.next(t))
	if after := b.Groups("g"); after != before-1 {
		t.Errorf("groups %d after closing one, want %d", after, before-1)
	}
}

// A group waits for its consumer's window instead of going elsewhere.
func TestGroupWaitsForItsConsumer(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c1, k1 := connect(t, b, "")
	c2, k2 := connect(t, b, "")
	subscribe(t, c1, SubOptions{ID: "a", Dest: q("w"), Prefetch: 1})
	sendGroup(t, p, q("w"), "G", 1, "1")
	d1 := k1.next(t)
	subscribe(t, c2, SubOptions{ID: "b", Dest: q("w"), Prefetch: 10})
	sendGroup(t, p, q("w"), "G", 2, "2")
	sendGroup(t, p, q("w"), "", 0, "free")
	if d := k2.next(t); string(d.Msg.Body) != "free" {
		t.Fatalf("c2 got %q, want only the ungrouped message", d.Msg.Body)
	}
	k2.none(t)
	ack(t, c1, d1)
	if d := k1.next(t); string(d.Msg.Body) != "2" {
		t.Fatalf("c1 got %q", d.Msg.Body)
	}
}

func TestExclusiveConsumer(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c1, k1 := connect(t, b, "")
	c2, k2 := connect(t, b, "")
	c3, k3 := connect(t, b, "")
	subscribe(t, c3, SubOptions{ID: "plain", Dest: q("x"), Prefetch: 100})
	subscribe(t, c1, SubOptions{ID: "ex1", Dest: q("x"), Prefetch: 100, Exclusive: true})
	subscribe(t, c2, SubOptions{ID: "ex2", Dest: q("x"), Prefetch: 100, Exclusive: true})
	for i := range 10 {
		send(t, p, q("x"), fmt.Sprint(i), false)
	}
	for range 10 {
		ack(t, c1, k1.next(t))
	}
	k2.none(t)
	k3.none(t)
	c1.Close()
	send(t, p, q("x"), "after", false)
	if d := k2.next(t); string(d.Msg.Body) != "after" {
		t.Fatalf("the next exclusive consumer got %q", d.Msg.Body)
	}
	k3.none(t)
}

// A new master over the same store keeps each group for the consumer that
// held it (same client and consumer ids, as a failover client comes back),
// however the consumers come back; a group whose consumer does not come
// back waits GroupHold, then goes to another consumer as a new group.
func TestGroupsKeptAcrossRestart(t *testing.T) {
	st := newMemStore()
	b1, err := New(Config{MaxRedeliveries: DefaultMaxRedeliveries}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p1, _ := connect(t, b1, "")
	c1, k1 := connect(t, b1, "app")
	for _, id := range []string{"a", "b", "gone"} {
		subscribe(t, c1, SubOptions{ID: id, Dest: q("kept"), Prefetch: 100})
	}
	for i := range 12 {
		sendGroup(t, p1, q("kept"), fmt.Sprint("G", i%6), int32(i/6+1), fmt.Sprint(i))
	}
	owner := map[string]string{}
	for range 12 {
		d := k1.next(t)
		owner[d.Msg.GroupID] = d.Sub.ID()
		ack(t, c1, d)
	}
	waitFor(t, "the group owners to be recorded", func() bool { return groupRecords(t, st) == 6 })
	b1.Close() // as a crash would leave it: the owners stay recorded

	b2 := startBroker(t, st, Config{GroupHold: 2 * time.Second})
	p2, _ := connect(t, b2, "")
	c2, k2 := connect(t, b2, "app")
	for _, id := range []string{"b", "a"} { // back in another order; "gone" never comes back
		subscribe(t, c2, SubOptions{ID: id, Dest: q("kept"), Prefetch: 100})
	}
	for g := range 6 {
		sendGroup(t, p2, q("kept"), fmt.Sprint("G", g), 3, "after")
	}
	sendGroup(t, p2, q("kept"), "", 0, "free")
	waiting := 0
	for _, o := range owner {
		if o == "gone" {
			waiting++
		}
	}
	for range 7 - waiting {
		d := k2.next(t)
		if d.Msg.GroupID != "" {
			if want := owner[d.Msg.GroupID]; d.Sub.ID() != want {
				t.Errorf("group %s went to %s after the restart, want %s", d.Msg.GroupID, d.Sub.ID(), want)
			}
			if d.Msg.Properties[PropGroupFirstForConsumer] == true {
				t.Errorf("group %s marked first for its own consumer after the restart", d.Msg.GroupID)
			}
		}
		ack(t, c2, d)
	}
	k2.none(t) // the groups of "gone" wait for it
	if waiting == 0 {
		t.Fatalf("no group went to the consumer that does not come back: %v", owner)
	}
	start := time.Now()
	for range waiting {
		d := k2.next(t)
		if owner[d.Msg.GroupID] != "gone" || d.Msg.Properties[PropGroupFirstForConsumer] != true {
			t.Errorf("after the hold got group %s (owner %s), first %v", d.Msg.GroupID, owner[d.Msg.GroupID],
				d.Msg.Properties[PropGroupFirstForConsumer])
		}
		ack(t, c2, d)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("the groups of the consumer that did not come back went on after %v, want about the 2 s hold", waited)
	}
	// Released groups are recorded anew with their new consumers.
	waitFor(t, "the records to follow", func() bool { return groupRecords(t, st) == 6 })
}

// groupRecords counts the group records the store holds.
func groupRecords(t *testing.T, st *storetest.Memory) int {
	t.Helper()
	state, err := st.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range state.Subscriptions {
		if s.ClientID == "" && strings.HasPrefix(s.Dest, groupRecordPrefix) {
			n++
		}
	}
	return n
}

// The next exclusive consumer gets what the one before held back before
// anything newer, in order (ActiveMQ's exclusive consumers keep the order).
func TestExclusiveHandOverKeepsOrder(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c1, k1 := connect(t, b, "")
	c2, k2 := connect(t, b, "")
	subscribe(t, c1, SubOptions{ID: "ex1", Dest: q("xo"), Prefetch: 3, Ack: AckIndividual, Exclusive: true})
	subscribe(t, c2, SubOptions{ID: "ex2", Dest: q("xo"), Prefetch: 100, Ack: AckIndividual, Exclusive: true})
	for i := range 10 {
		send(t, p, q("xo"), fmt.Sprint(i), false)
	}
	for range 3 {
		k1.next(t) // held, never acknowledged
	}
	c1.Close()
	for i := range 10 {
		d := k2.next(t)
		if string(d.Msg.Body) != fmt.Sprint(i) {
			t.Fatalf("after the hand-over message %d was %q", i, d.Msg.Body)
		}
		ack(t, c2, d)
	}
}

// A group's later message never overtakes an earlier one that waits for
// its consumer's window, however the acknowledgements race the dispatch.
func TestGroupOrderWhileItsConsumerIsFull(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	type arrival struct {
		sub, group string
		seq        int32
	}
	arrivals := make(chan arrival, 4000)
	done := make(chan struct{})
	defer close(done)
	for _, id := range []string{"a", "b"} {
		c, k := connect(t, b, "")
		subscribe(t, c, SubOptions{ID: id, Dest: q("gs"), Prefetch: 1, Ack: AckIndividual})
		go func() { // acknowledges as messages arrive, racing the dispatch
			for {
				select {
				case <-done:
					return
				case d := <-k.ch:
					arrivals <- arrival{d.Sub.ID(), d.Msg.GroupID, d.Msg.GroupSeq}
					if err := c.Ack(context.Background(), d.Sub.ID(), d.Tag, "", false); err != nil {
						return
					}
				}
			}
		}()
	}
	const n = 500
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			for _, g := range []string{"G0", "G1"} {
				m := &message.Message{Dest: q("gs"), Body: []byte("x"), BodyKind: message.Text, Priority: 4,
					GroupID: g, GroupSeq: int32(i + 1)}
				if err := p.Send(context.Background(), m, ""); err != nil {
					sent <- err
					return
				}
			}
		}
		sent <- nil
	}()
	next := map[string]int32{"G0": 1, "G1": 1}
	owner := map[string]string{}
	for range 2 * n {
		select {
		case a := <-arrivals:
			if a.seq != next[a.group] {
				t.Fatalf("group %s: seq %d arrived (at %s) when %d was next", a.group, a.seq, a.sub, next[a.group])
			}
			next[a.group]++
			if o, ok := owner[a.group]; ok && o != a.sub {
				t.Fatalf("group %s went to %s and %s", a.group, o, a.sub)
			}
			owner[a.group] = a.sub
		case <-time.After(10 * time.Second):
			t.Fatalf("messages stopped arriving; next expected %v", next)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}
