package broker

import (
	"context"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
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
	b, st = restart(t, b, st, Config{})
	recs, err := st.Scan(context.Background(), retainedKey, 0, 1000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d stored retained copies, want 1", len(recs))
	}
	if got := retainedBodies(b, "a.b"); !slices.Equal(got, []string{"a.b=x"}) {
		t.Fatalf("retained %v", got)
	}
}

func TestMarksAreWrittenWithTheSendAndSurviveRestart(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	m := func(body string) *message.Message {
		return &message.Message{Dest: q("m"), Body: []byte(body), Persistent: true}
	}
	ctx := context.Background()
	if dup, err := p.SendMarked(ctx, m("one"), "c1/7", true); err != nil || dup {
		t.Fatalf("first send: dup %v err %v", dup, err)
	}
	b, st = restart(t, b, st, Config{})
	p, _ = connect(t, b, "")
	if !b.Marked("c1/7") {
		t.Fatal("mark lost in restart")
	}
	if dup, err := p.SendMarked(ctx, m("one again"), "c1/7", true); err != nil || !dup {
		t.Fatalf("resend: dup %v err %v", dup, err)
	}
	// Not a resend: sent, whatever the mark says.
	if dup, err := p.SendMarked(ctx, m("two"), "c1/7", false); err != nil || dup {
		t.Fatalf("new send: dup %v err %v", dup, err)
	}
	if got := b.Marks("c1/"); !slices.Equal(got, []string{"c1/7"}) {
		t.Fatalf("Marks %v", got)
	}
	if err := b.Unmark(ctx, "c1/7"); err != nil {
		t.Fatal(err)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("m"), Ack: AckIndividual})
	d1, d2 := k.next(t), k.next(t)
	if string(d1.Msg.Body) != "one" || string(d2.Msg.Body) != "two" {
		t.Fatalf("queue holds %q, %q", d1.Msg.Body, d2.Msg.Body)
	}
	k.none(t)
	if err := c.AckMarked(ctx, "s", d1.Tag, "c1/out/3"); err != nil {
		t.Fatal(err)
	}
	b, _ = restart(t, b, st, Config{})
	if b.Marked("c1/7") || !b.Marked("c1/out/3") {
		t.Fatalf("after restart: marks %v", b.Marks(""))
	}
	c, k = connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("m"), Ack: AckIndividual})
	if d := k.next(t); string(d.Msg.Body) != "two" {
		t.Fatalf("acknowledged message came back: %q", d.Msg.Body)
	}
	long := string(make([]byte, 800))
	if _, err := p.SendMarked(ctx, m("x"), long, false); !errors.Is(err, ErrMarkTooLong) {
		t.Fatalf("long mark: %v", err)
	}
}

// closerSink is a sink told when the broker closes its connection.
type closerSink struct {
	*sink
	reason chan string
}

func (k closerSink) CloseFromBroker(reason string) { k.reason <- reason }

func TestTakeOverClosesTheHolderOfTheClientID(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	old := closerSink{newSink(), make(chan string, 1)}
	ctx := context.Background()
	c1, err := b.Connect(ctx, ConnOptions{ClientID: "dev1", Sink: old})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, c1, SubOptions{ID: "s", Dest: q("t"), Ack: AckIndividual})
	if _, err := b.Connect(ctx, ConnOptions{ClientID: "dev1", Sink: newSink()}); !errors.Is(err, ErrClientIDInUse) {
		t.Fatalf("without TakeOver: %v", err)
	}
	c2, err := b.Connect(ctx, ConnOptions{ClientID: "dev1", Sink: newSink(), TakeOver: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if r := <-old.reason; r != TakeOverReason {
		t.Fatalf("old connection told %q", r)
	}
	if _, err := c1.Subscribe(ctx, SubOptions{ID: "s2", Dest: q("t")}); err == nil {
		t.Fatal("the old connection still works")
	}
}

func TestScheduleMarkedSurvivesRestartAndCancels(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	ctx := context.Background()
	will := func(body string) *message.Message {
		return &message.Message{Dest: topic("wills.dev"), Body: []byte(body), Persistent: true}
	}
	cancelled, err := p.ScheduleMarked(ctx, will("cancelled"), 300*time.Millisecond, "w:dev:")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := p.ScheduleMarked(ctx, will("kept"), 600*time.Millisecond, "w:dev:")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Marks("w:dev:"); !slices.Equal(got, []string{"w:dev:" + cancelled, "w:dev:" + kept}) && !slices.Equal(got, []string{"w:dev:" + kept, "w:dev:" + cancelled}) {
		t.Fatalf("marks %v, jobs %s %s", got, cancelled, kept)
	}
	b, _ = restart(t, b, st, Config{})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: topic("wills.>"), Ack: AckAuto})
	if err := b.RemoveScheduledJob(ctx, cancelled); err != nil {
		t.Fatal(err)
	}
	if !b.Marked("w:dev:"+kept) || !b.Marked("w:dev:"+cancelled) {
		t.Fatalf("marks lost in the restart: %v", b.Marks(""))
	}
	if d := k.next(t); string(d.Msg.Body) != "kept" {
		t.Fatalf("got %q", d.Msg.Body)
	}
	k.none(t)
	off, _ := connect(t, startBroker(t, newMemStore(), Config{NoScheduler: true}), "")
	if _, err := off.ScheduleMarked(ctx, will("x"), time.Second, "w:"); !errors.Is(err, ErrNoScheduler) {
		t.Fatalf("scheduler off: %v", err)
	}
}
