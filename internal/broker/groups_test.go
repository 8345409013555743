package broker

import (
	"context"
	"fmt"
	"testing"

	"github.com/piermq/pier/internal/message"
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
