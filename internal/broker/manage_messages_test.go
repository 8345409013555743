package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
)

// browseAll returns the bodies (up to the preview) of a queue's messages,
// one page of size at a time.
func browseAll(t *testing.T, b *Broker, queue string, size int) []string {
	t.Helper()
	var out []string
	for off := 0; ; off += size {
		ms, total, err := b.Browse(context.Background(), queue, off, size)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			out = append(out, string(m.BodyPreview))
		}
		if off+size >= total {
			return out
		}
	}
}

// idOf finds the id of the message of queue whose body starts with prefix.
func idOf(t *testing.T, b *Broker, queue, prefix string) string {
	t.Helper()
	ms, _, err := b.Browse(context.Background(), queue, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if bytes.HasPrefix(m.BodyPreview, []byte(prefix)) {
			return m.ID
		}
	}
	t.Fatalf("no message %q on %s", prefix, queue)
	return ""
}

func sendPrio(t *testing.T, c *Conn, d message.Destination, body string, prio uint8) {
	t.Helper()
	m := &message.Message{Dest: d, Body: []byte(body), BodyKind: message.Text, Persistent: true, Priority: prio,
		Properties: map[string]any{"n": body}}
	if err := c.Send(context.Background(), m, ""); err != nil {
		t.Fatal(err)
	}
}

func TestManageBrowse(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	sendPrio(t, p, q("b"), "low", 1)
	sendPrio(t, p, q("b"), "mid-1", 4)
	sendPrio(t, p, q("b"), "high", 9)
	sendPrio(t, p, q("b"), "mid-2", 4)
	big := bytes.Repeat([]byte("z"), 3*PreviewBytes)
	if err := p.Send(context.Background(), &message.Message{Dest: q("b"), Body: big, Priority: 0}, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := browseAll(t, b, "b", 2), []string{"high", "mid-1", "mid-2", "low", string(big[:PreviewBytes])}; !slices.Equal(got, want) {
		t.Fatalf("browse order %q, want %q", got, want)
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("b"), Ack: AckIndividual, Prefetch: 1})
	k.next(t) // "high", in flight
	ms, total, err := b.Browse(context.Background(), "b", 0, 3)
	if err != nil || total != 5 || len(ms) != 3 {
		t.Fatalf("browse: %d of %d, %v", len(ms), total, err)
	}
	first := ms[0]
	if string(first.BodyPreview) != "high" || !first.InFlight || first.DeliveryCount != 1 || first.Redelivered ||
		first.Priority != 9 || first.Properties["n"] != "high" || first.Dest != q("b") || !first.Persistent || first.Position != 0 {
		t.Fatalf("in flight: %+v", first)
	}
	if ms[1].InFlight || string(ms[1].BodyPreview) != "mid-1" || ms[1].Position != 1 || ms[2].Position != 2 {
		t.Fatalf("waiting: %+v", ms[1:])
	}
	ms, _, _ = b.Browse(context.Background(), "b", 4, 10)
	if len(ms) != 1 || ms[0].BodySize != len(big) || len(ms[0].BodyPreview) != PreviewBytes || ms[0].Position != 4 {
		t.Fatalf("last page: %+v", ms)
	}
	if s, _ := b.QueueStats("b"); s.Pending != 4 || s.InFlight != 1 {
		t.Fatalf("browsing consumed: %+v", s)
	}
	// A message in flight is left to its consumer.
	if n, err := b.RemoveMessages(context.Background(), "b", []string{first.ID}); n != 0 || err != nil {
		t.Fatalf("removing a message in flight: %d, %v", n, err)
	}
	if n, err := b.MoveMessages(context.Background(), "b", []string{first.ID}, q("other"), false); n != 0 || err != nil {
		t.Fatalf("moving a message in flight: %d, %v", n, err)
	}
}

// deepQueue fills queue "deep" with n messages of 10 KiB ("i:" then
// padding) against a 1 MiB limit, so most bodies are paged out.
func deepQueue(t *testing.T, n int) (*Broker, *Conn) {
	t.Helper()
	b := startBroker(t, newMemStore(), Config{MemoryLimit: 1 << 20, PageSize: 50})
	p, _ := connect(t, b, "")
	pad := bytes.Repeat([]byte("."), 10<<10)
	for i := range n {
		m := &message.Message{Dest: q("deep"), Persistent: true, Body: append([]byte(fmt.Sprint(i, ":")), pad...)}
		if err := p.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
	return b, p
}

func TestManageBrowseDeepQueueReadsOnlyThePage(t *testing.T) {
	const n = 400 // 4 MB of bodies against 1 MiB
	b, _ := deepQueue(t, n)
	before := b.MemoryUsed()
	if before > 1<<20+20<<10 {
		t.Fatalf("%d bytes held before browsing", before)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	ms, total, err := b.Browse(context.Background(), "deep", 350, 20)
	runtime.ReadMemStats(&m1)
	if err != nil || total != n || len(ms) != 20 {
		t.Fatalf("deep page: %d of %d, %v", len(ms), total, err)
	}
	// The page's 20 bodies are read, not the queue's 4 MB.
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("browsing a page allocated %d bytes", alloc)
	}
	for i, m := range ms {
		if want := fmt.Sprint(350+i, ":"); !bytes.HasPrefix(m.BodyPreview, []byte(want)) || m.BodySize != len(want)+10<<10 {
			t.Fatalf("message %d: %q... (%d bytes)", 350+i, m.BodyPreview[:8], m.BodySize)
		}
	}
	if after := b.MemoryUsed(); after != before {
		t.Fatalf("browsing changed the bodies held: %d, then %d", before, after)
	}
	got := browseAll(t, b, "deep", 100)
	if len(got) != n {
		t.Fatalf("browsed %d of %d", len(got), n)
	}
	for i, body := range got {
		if want := fmt.Sprint(i, ":"); body[:len(want)] != want {
			t.Fatalf("position %d holds %q", i, body[:8])
		}
	}
}

func TestManageRemoveAndMovePagedOutMessages(t *testing.T) {
	b, _ := deepQueue(t, 300)
	ctx := context.Background()
	gone, moved := idOf(t, b, "deep", "290:"), idOf(t, b, "deep", "295:")
	if n, err := b.RemoveMessages(ctx, "deep", []string{gone, "no-such-id"}); err != nil || n != 1 {
		t.Fatalf("remove: %d, %v", n, err)
	}
	if n, err := b.MoveMessages(ctx, "deep", []string{moved}, q("elsewhere"), false); err != nil || n != 1 {
		t.Fatalf("move: %d, %v", n, err)
	}
	ms, total, err := b.Browse(ctx, "elsewhere", 0, 10)
	if err != nil || total != 1 || !bytes.HasPrefix(ms[0].BodyPreview, []byte("295:")) || ms[0].BodySize != 4+10<<10 ||
		ms[0].ID != moved || ms[0].OriginalDest != q("deep") {
		t.Fatalf("moved: %+v (total %d, %v)", ms, total, err)
	}
	if in := destInfo(t, b, q("deep")); in.Depth != 298 || in.Dequeued != 2 {
		t.Fatalf("source after remove and move: %+v", in)
	}
	for _, body := range browseAll(t, b, "deep", 100) {
		if bytes.HasPrefix([]byte(body), []byte("290:")) || bytes.HasPrefix([]byte(body), []byte("295:")) {
			t.Fatalf("%q is still on the source", body[:4])
		}
	}
}

func TestManagePurgeEmptiesTheStore(t *testing.T) {
	st := newMemStore()
	cfg := Config{MemoryLimit: 1 << 20, PageSize: 50}
	b := startBroker(t, st, cfg)
	p, _ := connect(t, b, "")
	pad := bytes.Repeat([]byte("."), 10<<10)
	for i := range 200 {
		if err := p.Send(context.Background(), &message.Message{Dest: q("p"), Persistent: true, Body: append([]byte(fmt.Sprint(i)), pad...)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("p"), Ack: AckIndividual, Prefetch: 1})
	k.next(t) // stays in flight, as ActiveMQ's purge leaves it
	n, err := b.Purge(context.Background(), "p")
	if err != nil || n != 199 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	if in := destInfo(t, b, q("p")); in.Depth != 1 || in.InFlight != 1 || in.Dequeued != 199 {
		t.Fatalf("after purge: %+v", in)
	}
	if n := st.Count("queue://p"); n != 1 {
		t.Fatalf("store holds %d, want the one in flight", n)
	}
	b, _ = restart(t, b, st, cfg)
	if in := destInfo(t, b, q("p")); in.Depth != 1 {
		t.Fatalf("after a restart: %+v", in)
	}
}

func TestManageMoveAndCopyAcrossRestart(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	sendMany(t, p, q("src"), "m", 10)
	d, _ := connect(t, b, "dur")
	subscribe(t, d, SubOptions{ID: "d", Dest: topic("fan"), DurableName: "keep"})
	d.Close()
	ctx := context.Background()
	ids := []string{idOf(t, b, "src", "m-1"), idOf(t, b, "src", "m-2"), idOf(t, b, "src", "m-3")}
	if n, err := b.MoveMessages(ctx, "src", ids, q("dst"), false); err != nil || n != 3 {
		t.Fatalf("move: %d, %v", n, err)
	}
	if n, err := b.MoveMessages(ctx, "src", ids[:1], q("dst"), false); err != nil || n != 0 {
		t.Fatalf("moving a moved message again: %d, %v", n, err)
	}
	if n, err := b.MoveMessages(ctx, "src", []string{idOf(t, b, "src", "m-4")}, q("cp"), true); err != nil || n != 1 {
		t.Fatalf("copy: %d, %v", n, err)
	}
	if n, err := b.MoveMessages(ctx, "src", []string{idOf(t, b, "src", "m-5")}, topic("fan"), false); err != nil || n != 1 {
		t.Fatalf("move to a topic: %d, %v", n, err)
	}
	if _, err := b.MoveMessages(ctx, "src", nil, q("a.*"), false); !errors.Is(err, message.ErrBadDestination) {
		t.Fatalf("move to a wildcard: %v", err)
	}
	if _, err := b.MoveMessages(ctx, "src", nil, q("src"), false); !errors.Is(err, message.ErrBadDestination) {
		t.Fatalf("move to itself: %v", err)
	}
	want := map[string][]string{
		"src": {"m-0", "m-4", "m-6", "m-7", "m-8", "m-9"},
		"dst": {"m-1", "m-2", "m-3"},
		"cp":  {"m-4"},
	}
	check := func(when string) {
		for queue, bodies := range want {
			if got := browseAll(t, b, queue, 4); !slices.Equal(got, bodies) {
				t.Fatalf("%s: %s holds %q, want %q", when, queue, got, bodies)
			}
		}
		if ds := b.DurableSubscriptions(); len(ds) != 1 || ds[0].Backlog != 1 {
			t.Fatalf("%s: durable %+v", when, ds)
		}
	}
	check("before the restart")
	b, st = restart(t, b, st, Config{})
	check("after the restart")

	// All the rest, in one call.
	if n, err := b.MoveMessages(ctx, "src", nil, q("dst"), false); err != nil || n != 6 {
		t.Fatalf("move all: %d, %v", n, err)
	}
	b, _ = restart(t, b, st, Config{})
	if got := browseAll(t, b, "dst", 100); len(got) != 9 {
		t.Fatalf("dst holds %q", got)
	}
	if in, ok := b.Destination(q("src")); ok && in.Depth != 0 { // an empty queue is not recovered
		t.Fatalf("src: %+v", in)
	}
}

func TestManageRetryDeadLetterOnce(t *testing.T) {
	st := newMemStore()
	b := startBroker(t, st, Config{})
	p, _ := connect(t, b, "")
	send(t, p, q("work"), "poison", true)
	send(t, p, q("work"), "poison-2", true)
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("work"), Ack: AckIndividual})
	for range 2 {
		d := k.next(t)
		if err := c.Nack(context.Background(), "s", d.Tag, ""); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	send(t, p, q("ActiveMQ.DLQ"), "stray", true) // no original destination
	ctx := context.Background()
	dlq := "ActiveMQ.DLQ"
	id := idOf(t, b, dlq, "poison")
	if n, err := b.RetryMessages(ctx, dlq, []string{id}); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	if n, err := b.RetryMessages(ctx, dlq, []string{id}); err != nil || n != 0 {
		t.Fatalf("retrying it again: %d, %v", n, err)
	}
	ms, total, err := b.Browse(ctx, "work", 0, 10)
	if err != nil || total != 1 || string(ms[0].BodyPreview) != "poison" || ms[0].ID != id || ms[0].DeliveryCount != 0 ||
		ms[0].Properties[propDLQCause] != nil || ms[0].OriginalDest != q(dlq) {
		t.Fatalf("retried: %+v (total %d, %v)", ms, total, err)
	}
	stray := idOf(t, b, dlq, "stray")
	if n, err := b.RetryMessages(ctx, dlq, []string{stray}); !errors.Is(err, ErrNotDeadLetter) || n != 0 {
		t.Fatalf("retrying a message without an original destination: %d, %v", n, err)
	}
	if n, err := b.RetryMessages(ctx, dlq, nil); err != nil || n != 1 {
		t.Fatalf("retry all: %d, %v", n, err)
	}
	if got := browseAll(t, b, dlq, 10); !slices.Equal(got, []string{"stray"}) {
		t.Fatalf("DLQ holds %q", got)
	}
	b, _ = restart(t, b, st, Config{})
	if got := browseAll(t, b, "work", 10); !slices.Equal(got, []string{"poison", "poison-2"}) {
		t.Fatalf("after a restart work holds %q", got)
	}
	// Consumed again, each is delivered once, as new.
	c, k = connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("work"), Ack: AckIndividual})
	for _, want := range []string{"poison", "poison-2"} {
		d := k.next(t)
		if string(d.Msg.Body) != want {
			t.Fatalf("got %q, want %q", d.Msg.Body, want)
		}
		ack(t, c, d)
	}
	k.none(t)
}

func TestManageRetryVirtualTopicCopyToItsQueue(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	ca, ka := connect(t, b, "")
	subscribe(t, ca, SubOptions{ID: "a", Dest: q("Consumer.A.VirtualTopic.Orders"), Ack: AckIndividual})
	cb, kb := connect(t, b, "")
	subscribe(t, cb, SubOptions{ID: "b", Dest: q("Consumer.B.VirtualTopic.Orders"), Ack: AckIndividual})
	p, _ := connect(t, b, "")
	send(t, p, topic("VirtualTopic.Orders"), "order", true)
	ack(t, cb, kb.next(t))
	d := ka.next(t)
	if err := ca.Nack(context.Background(), "a", d.Tag, ""); err != nil {
		t.Fatal(err)
	}
	if n, err := b.RetryMessages(context.Background(), "ActiveMQ.DLQ", nil); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	if d := ka.next(t); string(d.Msg.Body) != "order" {
		t.Fatalf("group A got %q", d.Msg.Body)
	}
	kb.none(t) // group B had it already
}

// While a consumer takes messages, moving all of them loses and
// duplicates none: each ends consumed or moved, once.
func TestManageMoveWhileConsuming(t *testing.T) {
	const n = 2000
	b := startBroker(t, newMemStore(), Config{MemoryLimit: 1 << 20, PageSize: 50})
	p, _ := connect(t, b, "")
	sendMany(t, p, q("busy"), "m", n)
	c, k := connect(t, b, "")
	subscribe(t, c, SubOptions{ID: "s", Dest: q("busy"), Ack: AckIndividual, Prefetch: 10})
	seen := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case d := <-k.ch:
				seen[string(d.Msg.Body)]++
				if err := c.Ack(context.Background(), "s", d.Tag, "", false); err != nil {
					t.Error(err)
					return
				}
			case <-time.After(300 * time.Millisecond):
				return
			}
		}
	}()
	moved, err := b.MoveMessages(context.Background(), "busy", nil, q("aside"), false)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	for _, body := range browseAll(t, b, "aside", 500) {
		seen[body]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages consumed or moved (%d moved), want %d", len(seen), moved, n)
	}
	for body, times := range seen {
		if times != 1 {
			t.Fatalf("%s seen %d times", body, times)
		}
	}
	if in := destInfo(t, b, q("aside")); in.Depth != int64(moved) {
		t.Fatalf("aside holds %d, moved %d", in.Depth, moved)
	}
}
