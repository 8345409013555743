package broker

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

func sendRetained(t *testing.T, c *Conn, topicName, body string) {
	t.Helper()
	m := &message.Message{Dest: topic(topicName), Body: []byte(body), Persistent: true,
		Properties: map[string]any{PropRetain: true}}
	if err := c.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
}

func retainedBodies(b *Broker, pattern string) []string {
	var out []string
	for _, m := range b.Retained(topic(pattern)) {
		out = append(out, m.Dest.Name+"="+string(m.Body))
	}
	sort.Strings(out)
	return out
}

func TestRetainedLastWinsClearsAndSurvivesRestart(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: topic("home.>"), Ack: AckAuto})
	sendRetained(t, p, "home.kitchen", "20")
	sendRetained(t, p, "home.kitchen", "21")
	sendRetained(t, p, "home.hall", "18")
	send(t, p, topic("home.cellar"), "12", true) // not retained
	sendRetained(t, p, "home.garage", "5")
	sendRetained(t, p, "home.garage", "") // an empty body clears
	for range 6 {
		k.next(t) // live subscribers get every message, retained or not
	}
	want := []string{"home.hall=18", "home.kitchen=21"}
	if got := retainedBodies(b, "home.>"); !slices.Equal(got, want) {
		t.Fatalf("retained %v, want %v", got, want)
	}
	if got := retainedBodies(b, "home.kitchen"); !slices.Equal(got, []string{"home.kitchen=21"}) {
		t.Fatalf("exact topic: %v", got)
	}
	if got := b.Retained(q("home.kitchen")); got != nil {
		t.Fatalf("a queue has no retained messages: %v", got)
	}
	b, _ = restart(t, b, st, Config{})
	if got := retainedBodies(b, "home.>"); !slices.Equal(got, want) {
		t.Fatalf("after restart: retained %v, want %v", got, want)
	}
	if n := b.RetainedCount(); n != 2 {
		t.Fatalf("RetainedCount %d", n)
	}
}

func TestRetainedReplacedCopiesAreRemovedFromTheStore(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	for i := range 50 {
		sendRetained(t, p, "a.b", string(rune('a'+i%26)))
	}
	stored := func() []store.Record {
		t.Helper()
		recs, err := st.Scan(context.Background(), retainedKey, 0, 1000, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	// While the broker runs: the replaced copies go (in the background).
	deadline := time.Now().Add(5 * time.Second)
	for len(stored()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d stored retained copies, want 1", len(stored()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A copy left by a crash between a send and the removal of what it
	// replaced: recovery keeps the later one.
	old := &message.Message{Dest: topic("a.b"), Body: []byte("stale"), Persistent: true}
	if err := st.Apply(context.Background(), &store.Batch{Ops: []store.Op{{Kind: store.OpAdd, Dest: retainedKey, Seq: 1, Msg: old}}}); err != nil {
		t.Fatal(err)
	}
	b, st = restart(t, b, st, Config{})
	if recs := stored(); len(recs) != 1 || string(recs[0].Msg.Body) != "x" {
		t.Fatalf("after recovery the store holds %d copies", len(recs))
	}
	if got := retainedBodies(b, "a.b"); !slices.Equal(got, []string{"a.b=x"}) {
		t.Fatalf("retained %v", got)
	}
}
