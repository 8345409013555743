package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
)

func scheduledMsg(d message.Destination, body string, props map[string]any) *message.Message {
	return &message.Message{Dest: d, Body: []byte(body), BodyKind: message.Text, Persistent: true, Priority: 4,
		Properties: props}
}

func TestDelayedDelivery(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("later"), Prefetch: 10})
	// The delay counts from the message's timestamp, in whole milliseconds.
	start := time.Now().Truncate(time.Millisecond)
	m := scheduledMsg(q("later"), "in 300ms", map[string]any{PropScheduledDelay: int64(300)})
	if err := c.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
	if n := b.ScheduledJobs(); n != 1 {
		t.Errorf("%d jobs stored, want 1", n)
	}
	k.none(t) // not at once
	d := k.next(t)
	if got := time.Since(start); got < 300*time.Millisecond {
		t.Errorf("delivered after %v, before its delay", got)
	}
	if id, _ := d.Msg.Properties[PropScheduledJobID].(string); id == "" {
		t.Errorf("the delivery has no %s: %v", PropScheduledJobID, d.Msg.Properties)
	}
	for k := range d.Msg.Properties {
		if strings.HasPrefix(k, jobPrefix) || strings.HasPrefix(k, "AMQ_SCHEDULED_") {
			t.Errorf("property %s delivered (ActiveMQ removes the scheduling properties)", k)
		}
	}
	if d.Msg.ID != m.ID {
		t.Errorf("a delayed message keeps its id: got %q, sent %q", d.Msg.ID, m.ID)
	}
	ack(t, c, d)
	waitFor(t, "the job to be gone", func() bool { return b.ScheduledJobs() == 0 })
}

// Without scheduler support (ActiveMQ's schedulerSupport="false") a
// scheduled message is delivered at once with its properties, even a bad
// one, and the management topic is an ordinary topic.
func TestNoScheduler(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{NoScheduler: true})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("now"), Prefetch: 10})
	subscribe(t, c, SubOptions{ID: "m", Dest: message.Destination{Kind: message.Topic, Name: SchedulerManagement}, Prefetch: 10})
	for _, props := range []map[string]any{{PropScheduledDelay: int64(60000)}, {PropScheduledDelay: "soon"}} {
		if err := c.Send(context.Background(), scheduledMsg(q("now"), "x", props), ""); err != nil {
			t.Fatalf("%v: %v", props, err)
		}
		d := k.next(t)
		if d.Msg.Properties[PropScheduledDelay] != props[PropScheduledDelay] {
			t.Errorf("delivered properties %v, want %s kept", d.Msg.Properties, PropScheduledDelay)
		}
		ack(t, c, d)
	}
	if n := b.ScheduledJobs(); n != 0 {
		t.Errorf("%d jobs stored without scheduler support", n)
	}
	mgmt := scheduledMsg(message.Destination{Kind: message.Topic, Name: SchedulerManagement}, "", map[string]any{"AMQ_SCHEDULER_ACTION": "REMOVEALL"})
	if err := c.Send(context.Background(), mgmt, ""); err != nil {
		t.Fatal(err)
	}
	if d := k.next(t); d.Msg.Dest.Name != SchedulerManagement {
		t.Errorf("got %v, want the message sent to the management topic", d.Msg.Dest)
	}
}

// A STOMP client sends the properties as strings.
func TestScheduleFromStrings(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("rep"), Prefetch: 10})
	m := scheduledMsg(q("rep"), "x", map[string]any{PropScheduledDelay: "50", PropScheduledPeriod: "100", PropScheduledRepeat: "2"})
	if err := c.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{m.ID: true} // every delivery of a repeating job is a message of its own
	for range 3 {
		d := k.next(t)
		if ids[d.Msg.ID] {
			t.Fatalf("id %s delivered twice, or the sent message's id reused", d.Msg.ID)
		}
		ids[d.Msg.ID] = true
		ack(t, c, d)
	}
	k.none(t)
	waitFor(t, "the job to be gone", func() bool { return b.ScheduledJobs() == 0 })
}

func TestBadScheduleRefusedOnSend(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, _ := connect(t, b, "")
	for _, props := range []map[string]any{
		{PropScheduledDelay: int64(-1)},
		{PropScheduledDelay: "soon"},
		{PropScheduledDelay: 1.5},
		{PropScheduledPeriod: int64(1000), PropScheduledRepeat: int32(-2)},
		{PropScheduledDelay: int64(10), PropScheduledRepeat: int32(3)},
		{PropScheduledCron: "61 * * * *"},
		{PropScheduledCron: int64(5)},
		{PropScheduledCron: "0 0 31 2 *"},
	} {
		err := c.Send(context.Background(), scheduledMsg(q("bad"), "x", props), "")
		if !errors.Is(err, ErrBadSchedule) {
			t.Errorf("%v: err = %v, want ErrBadSchedule", props, err)
		}
	}
	if n := b.ScheduledJobs(); n != 0 {
		t.Errorf("%d jobs stored by refused sends", n)
	}
}

// Jobs are store state: a broker over the same store (a restart, a new
// master) fires them, at once when they fell due meanwhile.
func TestJobsSurviveRestart(t *testing.T) {
	st := newMemStore()
	b1, err := New(Config{MaxRedeliveries: DefaultMaxRedeliveries}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c1, _ := connect(t, b1, "")
	for i, delay := range []int64{100, 400, 60000} {
		m := scheduledMsg(q("restart"), fmt.Sprint("j", i), map[string]any{PropScheduledDelay: delay})
		if err := c1.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	b1.Close()
	time.Sleep(500 * time.Millisecond) // the first two fall due while no broker runs

	// The new broker fires what fell due as it starts, so counting its jobs
	// at once races with that firing: the deliveries and what is left tell.
	b2 := startBroker(t, st, Config{})
	c2, k := connect(t, b2, "")
	subscribe(t, c2, SubOptions{ID: "s", Dest: q("restart"), Prefetch: 10})
	got := map[string]bool{}
	for range 2 {
		d := k.next(t)
		got[string(d.Msg.Body)] = true
		ack(t, c2, d)
	}
	if !got["j0"] || !got["j1"] {
		t.Errorf("after the restart got %v, want j0 and j1", got)
	}
	k.none(t)
	if n := b2.ScheduledJobs(); n != 1 {
		t.Errorf("%d jobs left, want the one due in a minute", n)
	}
}

func TestScheduledInTransaction(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("tx"), Prefetch: 10})
	if err := c.Begin("tx1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(context.Background(), scheduledMsg(q("tx"), "t", map[string]any{PropScheduledDelay: int64(100)}), "tx1"); err != nil {
		t.Fatal(err)
	}
	if n := b.ScheduledJobs(); n != 0 {
		t.Errorf("a job stored before its transaction committed")
	}
	if err := c.Commit(context.Background(), "tx1"); err != nil {
		t.Fatal(err)
	}
	if d := k.next(t); string(d.Msg.Body) != "t" {
		t.Errorf("got %q", d.Msg.Body)
	}
}

func TestScheduledToTopic(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s1", Dest: topic("news"), Prefetch: 10})
	subscribe(t, c, SubOptions{ID: "s2", Dest: topic("news"), Prefetch: 10})
	if err := c.Send(context.Background(), scheduledMsg(topic("news"), "n", map[string]any{PropScheduledDelay: int64(50)}), ""); err != nil {
		t.Fatal(err)
	}
	k.next(t)
	k.next(t)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeClock is a broker clock that tests move by hand.
type fakeClock struct {
	mu  chan struct{}
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{mu: make(chan struct{}, 1), now: t}
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu <- struct{}{}
	defer func() { <-c.mu }()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu <- struct{}{}
	c.now = t
	<-c.mu
}

// Cron jobs with an injected clock: every minute, and every minute a
// sub-schedule of 1 + 2 repeats a second apart (ActiveMQ's combination).
func TestCronJobs(t *testing.T) {
	start := time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)
	clk := newFakeClock(start)
	b := startBroker(t, newMemStore(), Config{Now: clk.Now})
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("cron"), Prefetch: 100})
	send := func(body string, props map[string]any) {
		t.Helper()
		if err := c.Send(context.Background(), scheduledMsg(q("cron"), body, props), ""); err != nil {
			t.Fatal(err)
		}
	}
	send("minutely", map[string]any{PropScheduledCron: "* * * * *"})
	send("burst", map[string]any{PropScheduledCron: "*/2 * * * *", PropScheduledRepeat: int32(2), PropScheduledPeriod: int64(1000)})
	advance := func(to time.Time) {
		clk.set(to)
		b.sched.kick()
	}
	k.none(t)
	advance(start.Add(30 * time.Second)) // 10:01:00
	d := k.next(t)
	if string(d.Msg.Body) != "minutely" {
		t.Fatalf("at 10:01 got %q", d.Msg.Body)
	}
	ack(t, c, d)
	k.none(t)
	advance(start.Add(90 * time.Second)) // 10:02:00: minutely, and burst starts its sub-schedule
	got := map[string]int{}
	d = k.next(t)
	got[string(d.Msg.Body)]++
	ack(t, c, d)
	k.none(t)
	for i := 1; i <= 3; i++ {
		advance(start.Add(90*time.Second + time.Duration(i)*time.Second))
		d := k.next(t)
		got[string(d.Msg.Body)]++
		ack(t, c, d)
	}
	k.none(t)
	if got["minutely"] != 1 || got["burst"] != 3 {
		t.Errorf("from 10:02:00 to 10:02:03 got %v, want minutely once and burst 3 times", got)
	}
	if n := b.ScheduledJobs(); n != 2 {
		t.Errorf("%d jobs stored after the burst, want the two cron jobs", n)
	}
}

// ActiveMQ's management topic, as the 5.x client uses it.
func TestSchedulerManagement(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	b := startBroker(t, newMemStore(), Config{Now: clk.Now})
	c, k := connect(t, b, "")
	ctx := context.Background()
	for i := range 5 {
		m := scheduledMsg(q("jobs"), fmt.Sprint("j", i), map[string]any{PropScheduledDelay: int64((i + 1) * 60000)})
		if err := c.Send(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	mgmt := func(props map[string]any, replyTo message.Destination) error {
		return c.Send(ctx, &message.Message{Dest: topic(SchedulerManagement), ReplyTo: replyTo, Properties: props}, "")
	}
	browse := func() map[string]string { // body -> job id
		t.Helper()
		subscribe(t, c, SubOptions{ID: "b", Dest: q("browsed"), Prefetch: 100})
		defer c.Unsubscribe("b")
		if err := mgmt(map[string]any{PropSchedulerAction: ActionBrowse}, q("browsed")); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for range b.ScheduledJobs() {
			d := k.next(t)
			id, _ := d.Msg.Properties[PropScheduledJobID].(string)
			out[string(d.Msg.Body)] = id
			ack(t, c, d)
		}
		k.none(t)
		return out
	}
	jobs := browse()
	if len(jobs) != 5 || jobs["j0"] == "" {
		t.Fatalf("browsed %v", jobs)
	}
	if err := mgmt(map[string]any{PropSchedulerAction: ActionRemove, PropScheduledJobID: jobs["j2"]}, message.Destination{}); err != nil {
		t.Fatal(err)
	}
	start := clk.Now().UnixMilli()
	// j3 and j4 are due at +4 and +5 minutes.
	if err := mgmt(map[string]any{PropSchedulerAction: ActionRemove, PropActionStart: start + 4*60000, PropActionEnd: start + 5*60000}, message.Destination{}); err != nil {
		t.Fatal(err)
	}
	left := browse()
	if len(left) != 2 || left["j0"] == "" || left["j1"] == "" {
		t.Fatalf("after removing j2 and the range of j3-j4: %v", left)
	}
	if err := mgmt(map[string]any{PropSchedulerAction: "DANCE"}, message.Destination{}); !errors.Is(err, ErrBadSchedule) {
		t.Errorf("an unknown action: %v", err)
	}
	if err := mgmt(map[string]any{PropSchedulerAction: ActionRemoveAll}, message.Destination{}); err != nil {
		t.Fatal(err)
	}
	if n := b.ScheduledJobs(); n != 0 {
		t.Errorf("%d jobs after REMOVEALL", n)
	}
	// Nothing fires later.
	subscribe(t, c, SubOptions{ID: "j", Dest: q("jobs"), Prefetch: 100})
	clk.set(clk.Now().Add(time.Hour))
	b.sched.kick()
	k.none(t)
}

// The console's view of the scheduler: jobs page by page in due order,
// removal by id.
func TestScheduledJobList(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	b := startBroker(t, newMemStore(), Config{Now: clk.Now})
	c, _ := connect(t, b, "")
	ctx := context.Background()
	for _, i := range []int{3, 1, 4, 0, 2} { // sent out of due order
		m := scheduledMsg(q("jobs"), fmt.Sprint("j", i), map[string]any{PropScheduledDelay: int64((i + 1) * 60000)})
		if err := c.Send(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(ctx, scheduledMsg(q("jobs"), "cron", map[string]any{PropScheduledCron: "0 12 * * *"}), ""); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	var ids []string
	for off := 0; off < 6; off += 4 {
		page, total, err := b.ScheduledJobList(ctx, off, 4)
		if err != nil {
			t.Fatal(err)
		}
		if total != 6 {
			t.Errorf("total %d, want 6", total)
		}
		for _, j := range page {
			bodies = append(bodies, string(j.Message.BodyPreview))
			ids = append(ids, j.ID)
		}
	}
	if want := []string{"j0", "j1", "j2", "j3", "j4", "cron"}; !slices.Equal(bodies, want) {
		t.Fatalf("listed %v, want %v", bodies, want)
	}
	page, _, _ := b.ScheduledJobList(ctx, 5, 10)
	if len(page) != 1 || page[0].Cron != "0 12 * * *" || page[0].Due != time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("the cron job listed as %+v", page)
	}
	if err := b.RemoveScheduledJob(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveScheduledJob(ctx, ids[2]); !errors.Is(err, ErrNoSuchJob) {
		t.Errorf("removing it again: %v, want ErrNoSuchJob", err)
	}
	page, total, _ := b.ScheduledJobList(ctx, 0, 100)
	if total != 5 || len(page) != 5 || string(page[2].Message.BodyPreview) != "j3" {
		t.Errorf("after removing j2: %d jobs, page %d", total, len(page))
	}
}
