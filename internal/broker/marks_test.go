package broker

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
)

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
