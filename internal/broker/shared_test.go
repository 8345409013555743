package broker

import (
	"context"
	"errors"
	"testing"
)

func TestSharedSubscriptionTakesTurns(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	c1, k1 := connect(t, b, "")
	c2, k2 := connect(t, b, "")
	other, ko := connect(t, b, "")
	subscribe(t, c1, SubOptions{ID: "s", Dest: topic("sensors.>"), Share: "g", DurableName: "sensors", Ack: AckIndividual, Prefetch: 10})
	subscribe(t, c2, SubOptions{ID: "s", Dest: topic("sensors.>"), Share: "g", DurableName: "sensors", Ack: AckIndividual, Prefetch: 10})
	subscribe(t, other, SubOptions{ID: "s", Dest: topic("sensors.>"), Share: "h", DurableName: "sensors", Ack: AckAuto})
	for _, body := range []string{"1", "2", "3", "4"} {
		send(t, p, topic("sensors.t"), body, true)
	}
	var held []*Delivery
	for range 2 { // in turn: two each
		held = append(held, k1.next(t))
		ack(t, c2, k2.next(t))
	}
	for range 4 {
		ko.next(t) // another share gets every message too
	}
	k1.none(t)
	k2.none(t)
	// c1 leaves with two unacknowledged: c2 gets them.
	c1.Close()
	for _, d := range held {
		r := k2.next(t)
		if string(r.Msg.Body) != string(d.Msg.Body) || !r.Msg.Redelivered() {
			t.Fatalf("c2 got %q (redelivered %v), want %q again", r.Msg.Body, r.Msg.Redelivered(), d.Msg.Body)
		}
		ack(t, c2, r)
	}
	for _, bad := range []SubOptions{
		{ID: "d", Dest: topic("x"), Share: "g", DurableName: "x", NoLocal: true},
		{ID: "e", Dest: topic("x"), Share: "g"}, // no durable name
	} {
		if _, err := c2.Subscribe(context.Background(), bad); !errors.Is(err, ErrBadShare) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}

// TestSharedDurableKeepsMessages: a shared subscription with a durable name
// keeps the topic's messages while no member is attached, through a
// restart, and members of any connection (no client id needed) share it.
func TestSharedDurableKeepsMessages(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	opts := SubOptions{ID: "s", Dest: topic("jobs.>"), Share: "workers", DurableName: "AT_LEAST_ONCE::jobs/#", Ack: AckIndividual, Prefetch: 10}
	c1, k1 := connect(t, b, "")
	c2, k2 := connect(t, b, "")
	subscribe(t, c1, opts)
	subscribe(t, c2, opts)
	p, _ := connect(t, b, "")
	for _, body := range []string{"1", "2"} {
		send(t, p, topic("jobs.a"), body, true)
	}
	ack(t, c1, k1.next(t))
	held := k2.next(t) // left unacknowledged
	c1.Close()
	c2.Close()
	for _, body := range []string{"3", "4"} {
		send(t, p, topic("jobs.a"), body, true) // nobody attached
	}
	b, _ = restart(t, b, st, Config{})
	c3, k3 := connect(t, b, "")
	subscribe(t, c3, opts)
	got := map[string]bool{}
	for range 3 {
		d := k3.next(t)
		got[string(d.Msg.Body)] = true
		ack(t, c3, d)
	}
	k3.none(t)
	if !got[string(held.Msg.Body)] || !got["3"] || !got["4"] {
		t.Fatalf("after the restart the share gave %v (held %q)", got, held.Msg.Body)
	}
	if n := len(b.Durables(SharedOwner("workers"))); n != 1 {
		t.Fatalf("%d durables of the share", n)
	}
}
