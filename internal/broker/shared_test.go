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
	subscribe(t, c1, SubOptions{ID: "s", Dest: topic("sensors.>"), Share: "g", Ack: AckIndividual, Prefetch: 10})
	subscribe(t, c2, SubOptions{ID: "s", Dest: topic("sensors.>"), Share: "g", Ack: AckIndividual, Prefetch: 10})
	subscribe(t, other, SubOptions{ID: "s", Dest: topic("sensors.>"), Share: "h", Ack: AckAuto})
	for _, body := range []string{"1", "2", "3", "4"} {
		send(t, p, topic("sensors.t"), body, true)
	}
	got := map[string]int{}
	var held []*Delivery
	for range 2 {
		got["c1"]++
		held = append(held, k1.next(t))
		got["c2"]++
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
	c2.Close()
	other.Close()
	send(t, p, topic("sensors.t"), "nobody", true)
	c3, k3 := connect(t, b, "")
	subscribe(t, c3, SubOptions{ID: "s", Dest: topic("sensors.>"), Share: "g", Ack: AckAuto})
	k3.none(t) // kept nothing while it had no member
	if _, err := c3.Subscribe(context.Background(), SubOptions{ID: "d", Dest: topic("x"), Share: "g", DurableName: "d"}); !errors.Is(err, ErrBadShare) {
		t.Fatalf("durable share: %v", err)
	}
}
