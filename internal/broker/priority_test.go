package broker

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/piermq/pier/internal/message"
)

// bodies receives n deliveries from k and returns their bodies in order.
func bodies(t *testing.T, k *sink, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, string(k.next(t).Msg.Body))
	}
	return out
}

func sendN(t *testing.T, c *Conn, d message.Destination, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		send(t, c, d, fmt.Sprint(i), i%2 == 0)
	}
}

func TestConsumerPriority(t *testing.T) {
	t.Run("higher with room gets every message", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		lc, lk := connect(t, b, "")
		hc, hk := connect(t, b, "")
		// The low one subscribes first, so it would be first in turn.
		subscribe(t, lc, SubOptions{ID: "low", Dest: q("w"), Ack: AckIndividual, Prefetch: 10})
		subscribe(t, hc, SubOptions{ID: "high", Dest: q("w"), Ack: AckIndividual, Prefetch: 10, Priority: 5})
		sendN(t, p, q("w"), 0, 8)
		if got := bodies(t, hk, 8); !slices.Equal(got, []string{"0", "1", "2", "3", "4", "5", "6", "7"}) {
			t.Fatalf("high got %v", got)
		}
		lk.none(t)
	})

	t.Run("lower gets the rest once the higher is full", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		hc, hk := connect(t, b, "")
		lc, lk := connect(t, b, "")
		subscribe(t, hc, SubOptions{ID: "high", Dest: q("w"), Ack: AckIndividual, Prefetch: 2, Priority: 5})
		subscribe(t, lc, SubOptions{ID: "low", Dest: q("w"), Ack: AckIndividual, Prefetch: 10})
		sendN(t, p, q("w"), 0, 5)
		h := []*Delivery{hk.next(t), hk.next(t)}
		if string(h[0].Msg.Body) != "0" || string(h[1].Msg.Body) != "1" {
			t.Fatalf("high got %q %q, want 0 1", h[0].Msg.Body, h[1].Msg.Body)
		}
		hk.none(t)
		if got := bodies(t, lk, 3); !slices.Equal(got, []string{"2", "3", "4"}) {
			t.Fatalf("low got %v, want [2 3 4]", got)
		}
		// Room again in the higher one's window: it is served first again.
		ack(t, hc, h[0])
		sendN(t, p, q("w"), 5, 7)
		if d := hk.next(t); string(d.Msg.Body) != "5" {
			t.Fatalf("high got %q after its ack, want 5", d.Msg.Body)
		}
		if d := lk.next(t); string(d.Msg.Body) != "6" {
			t.Fatalf("low got %q, want 6", d.Msg.Body)
		}
	})

	t.Run("equal priorities take turns", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		c1, k1 := connect(t, b, "")
		c2, k2 := connect(t, b, "")
		c3, k3 := connect(t, b, "")
		subscribe(t, c1, SubOptions{ID: "a", Dest: q("w"), Ack: AckIndividual, Priority: 3})
		subscribe(t, c3, SubOptions{ID: "low", Dest: q("w"), Ack: AckIndividual, Priority: -5})
		subscribe(t, c2, SubOptions{ID: "b", Dest: q("w"), Ack: AckIndividual, Priority: 3})
		sendN(t, p, q("w"), 0, 6)
		if got := bodies(t, k1, 3); !slices.Equal(got, []string{"0", "2", "4"}) {
			t.Fatalf("a got %v", got)
		}
		if got := bodies(t, k2, 3); !slices.Equal(got, []string{"1", "3", "5"}) {
			t.Fatalf("b got %v", got)
		}
		k3.none(t)
	})

	t.Run("a lower one alone gets everything", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		sendN(t, p, q("w"), 0, 3)
		c, k := connect(t, b, "")
		subscribe(t, c, SubOptions{ID: "bridge", Dest: q("w"), Ack: AckIndividual, Priority: -5})
		sendN(t, p, q("w"), 3, 5)
		if got := bodies(t, k, 5); !slices.Equal(got, []string{"0", "1", "2", "3", "4"}) {
			t.Fatalf("got %v", got)
		}
	})

	t.Run("what the higher one does not select goes lower", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		hc, hk := connect(t, b, "")
		lc, lk := connect(t, b, "")
		subscribe(t, lc, SubOptions{ID: "low", Dest: q("w"), Ack: AckIndividual})
		subscribe(t, hc, SubOptions{ID: "high", Dest: q("w"), Ack: AckIndividual, Priority: 9, Selector: "kind = 'a'"})
		for i, kind := range []string{"a", "a", "b", "b"} {
			m := &message.Message{Dest: q("w"), Body: []byte(fmt.Sprint(i)), Priority: 4,
				Properties: map[string]any{"kind": kind}}
			if err := p.Send(context.Background(), m, ""); err != nil {
				t.Fatal(err)
			}
		}
		if got := bodies(t, hk, 2); !slices.Equal(got, []string{"0", "1"}) {
			t.Fatalf("high got %v", got)
		}
		if got := bodies(t, lk, 2); !slices.Equal(got, []string{"2", "3"}) {
			t.Fatalf("low got %v", got)
		}
	})

	t.Run("a higher pull consumer takes only what it asks for", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		hc, hk := connect(t, b, "")
		lc, lk := connect(t, b, "")
		hs := subscribe(t, hc, SubOptions{ID: "high", Dest: q("w"), Ack: AckIndividual, Prefetch: PrefetchPull, Priority: 5})
		subscribe(t, lc, SubOptions{ID: "low", Dest: q("w"), Ack: AckIndividual, Prefetch: 1})
		hs.Pull()
		sendN(t, p, q("w"), 0, 2)
		if d := hk.next(t); string(d.Msg.Body) != "0" {
			t.Fatalf("high got %q, want 0", d.Msg.Body)
		}
		if d := lk.next(t); string(d.Msg.Body) != "1" {
			t.Fatalf("low got %q, want 1", d.Msg.Body)
		}
	})

	t.Run("a closed higher one's messages go lower", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		hc, hk := connect(t, b, "")
		lc, lk := connect(t, b, "")
		subscribe(t, hc, SubOptions{ID: "high", Dest: q("w"), Ack: AckIndividual, Priority: 1})
		subscribe(t, lc, SubOptions{ID: "low", Dest: q("w"), Ack: AckIndividual})
		sendN(t, p, q("w"), 0, 3)
		bodies(t, hk, 3)
		lk.none(t)
		if err := hc.Unsubscribe("high"); err != nil {
			t.Fatal(err)
		}
		if got := bodies(t, lk, 3); !slices.Equal(got, []string{"0", "1", "2"}) {
			t.Fatalf("low got %v", got)
		}
		if st, _ := b.QueueStats("w"); st.Consumers != 1 {
			t.Fatalf("consumers after unsubscribe: %d", st.Consumers)
		}
	})

	t.Run("topic subscribers all get every message", func(t *testing.T) {
		b := startBroker(t, newMemStore(), Config{})
		p, _ := connect(t, b, "")
		hc, hk := connect(t, b, "")
		lc, lk := connect(t, b, "")
		subscribe(t, hc, SubOptions{ID: "high", Dest: topic("t"), Priority: 9})
		subscribe(t, lc, SubOptions{ID: "low", Dest: topic("t"), Priority: -9})
		send(t, p, topic("t"), "x", false)
		if string(hk.next(t).Msg.Body) != "x" || string(lk.next(t).Msg.Body) != "x" {
			t.Fatal("want x on both")
		}
	})
}

// TestConsumerListTurns checks the bands' order and that removing a consumer
// keeps the turn where it was.
func TestConsumerListTurns(t *testing.T) {
	m := &message.Message{}
	subs := map[string]*Subscription{}
	mk := func(id string, prio int) *Subscription {
		s := newSubscription(nil, SubOptions{ID: id, Prefetch: 100, Priority: prio})
		subs[id] = s
		return s
	}
	var l consumerList
	for _, s := range []*Subscription{mk("a", 0), mk("x", 7), mk("b", 0), mk("n", -3), mk("y", 7), mk("c", 0)} {
		l.add(s)
	}
	var prios []int
	for _, b := range l.bands {
		prios = append(prios, b.prio)
	}
	if !slices.Equal(prios, []int{7, 0, -3}) || l.len() != 6 {
		t.Fatalf("bands %v, len %d", prios, l.len())
	}
	picks := func(n int) string {
		var out string
		for i := 0; i < n; i++ {
			s, _ := l.pick(m)
			if s == nil {
				out += "-"
				continue
			}
			out += s.id
		}
		return out
	}
	if got := picks(3); got != "xyx" {
		t.Fatalf("band 7: %s", got)
	}
	l.remove(subs["x"])
	l.remove(subs["y"])
	if got := picks(2); got != "ab" {
		t.Fatalf("band 0: %s", got)
	}
	l.remove(subs["a"]) // before the turn (c's): c keeps it
	if got := picks(3); got != "cbc" {
		t.Fatalf("after removing a: %s", got)
	}
	l.remove(subs["c"]) // it is b's turn; c was after it
	if got := picks(2); got != "bb" {
		t.Fatalf("after removing c: %s", got)
	}
	subs["b"].mu.credit = 0
	if got := picks(2); got != "nn" {
		t.Fatalf("b full: %s", got)
	}
	subs["n"].mu.credit = 0
	if s, room := l.pick(m); s != nil || room {
		t.Fatalf("all full: got %v, room %v", s, room)
	}
	l.remove(subs["b"])
	l.remove(subs["n"])
	l.remove(subs["n"]) // not there: no effect
	if len(l.bands) != 0 || l.len() != 0 {
		t.Fatalf("left %+v", l)
	}
}
