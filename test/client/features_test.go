//go:build crossprocess

package client_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/piermq/pier/client"
)

// testDurable: a durable subscription keeps what is published while its
// consumer is away; Unsubscribe ends it (refused while it is active).
func testDurable(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{ClientID: unique("durable")})
	topic := client.Topic(unique("topic"))
	s := session(t, c, client.AutoAck)
	p := producer(t, s, topic)
	send(t, p, client.NewTextMessage("before")) // no subscription yet: dropped

	k := consumer(t, s, topic, client.Durable("sub"))
	send(t, p, client.NewTextMessage("online"))
	receiveText(t, k, "online")
	if err := c.Unsubscribe(step(t), "sub"); err == nil {
		t.Errorf("Unsubscribe of an active durable subscription succeeded, want an error")
	} else {
		t.Logf("Unsubscribe while active: %v", err)
	}
	closeConsumer(t, k)

	sendTexts(t, p, "offline1", "offline2")
	k = consumer(t, s, topic, client.Durable("sub"))
	receiveText(t, k, "offline1")
	receiveText(t, k, "offline2")
	expectNone(t, k, quiet)
	closeConsumer(t, k)

	if err := c.Unsubscribe(step(t), "sub"); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	send(t, p, client.NewTextMessage("gone"))
	k = consumer(t, s, topic, client.Durable("sub")) // a new subscription
	expectNone(t, k, quiet)
	send(t, p, client.NewTextMessage("new"))
	receiveText(t, k, "new")
	closeConsumer(t, k)
	if err := c.Unsubscribe(step(t), "sub"); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if err := c.Unsubscribe(step(t), "never-subscribed"); err == nil {
		t.Logf("NOTE %s: Unsubscribe of an unknown subscription succeeded", b.name)
	}
}

// testTempRequestReply: a requester with a temporary queue, a responder on
// another connection answering to JMSReplyTo; after DeleteTemp, sends to the
// temporary queue fail with ErrInvalidDestination.
func testTempRequestReply(t *testing.T, b *broker) {
	req := dial(t, b, client.Options{})
	resp := dial(t, b, client.Options{})
	service := client.Queue(unique("service"))
	tmp, err := req.TempQueue(step(t))
	if err != nil {
		t.Fatalf("TempQueue: %v", err)
	}
	if !tmp.IsTemporary() || tmp.IsTopic() {
		t.Fatalf("TempQueue %s: temporary=%v topic=%v", tmp, tmp.IsTemporary(), tmp.IsTopic())
	}
	rs := session(t, req, client.AutoAck)
	replies := consumer(t, rs, tmp)
	reqProd := producer(t, rs, service)

	ss := session(t, resp, client.AutoAck)
	requests := consumer(t, ss, service)
	anyProd := producer(t, ss, nil) // unidentified producer: destination per send

	for i := range 3 {
		m := client.NewTextMessage(fmt.Sprintf("req%d", i))
		m.ReplyTo = tmp
		m.CorrelationID = fmt.Sprintf("c%d", i)
		send(t, reqProd, m)

		in := receiveText(t, requests, fmt.Sprintf("req%d", i))
		if !in.ReplyTo.Equal(tmp) {
			t.Fatalf("ReplyTo %s, want %s", in.ReplyTo, tmp)
		}
		out := client.NewTextMessage("re:" + fmt.Sprintf("req%d", i))
		out.CorrelationID = in.CorrelationID
		send(t, anyProd, out, client.To(in.ReplyTo))

		r := receiveText(t, replies, "re:"+fmt.Sprintf("req%d", i))
		if r.CorrelationID != m.CorrelationID {
			t.Errorf("reply CorrelationID %q, want %q", r.CorrelationID, m.CorrelationID)
		}
	}
	closeConsumer(t, replies)
	if err := req.DeleteTemp(step(t), tmp); err != nil {
		t.Fatalf("DeleteTemp: %v", err)
	}
	// The responder learns of the deletion by advisory: bounded retry.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := anyProd.Send(step(t), client.NewTextMessage("late"), client.To(tmp))
		if errors.Is(err, client.ErrInvalidDestination) {
			t.Logf("send to deleted temp queue: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("send to deleted %s: got %v, want ErrInvalidDestination", tmp, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testSelectors: consumers see only what their selector matches, on
// properties and headers; the rest stays for others.
func testSelectors(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	s := session(t, c, client.AutoAck)
	q := client.Queue(unique("sel"))
	p := producer(t, s, q)
	colors := []string{"red", "green", "blue", "red", "rose", "green"}
	for i, col := range colors {
		m := client.NewTextMessage(fmt.Sprintf("m%d", i))
		m.SetProperty("color", col)
		m.SetProperty("n", int32(i))
		m.SetProperty("w", float64(i)/2)
		if i%2 == 1 {
			m.Type = "odd"
		}
		send(t, p, m)
	}
	cases := []struct{ sel, want string }{
		{"color = 'red' AND n > 0", "m3"},
		{"JMSType = 'odd' AND color LIKE 'g%'", "m1 m5"},
		{"color IN ('blue', 'rose') OR w BETWEEN 10 AND 20", "m2 m4"},
		{"missing IS NULL AND n < 1", "m0"},
	}
	for _, tc := range cases {
		k := consumer(t, s, q, client.Selector(tc.sel))
		got := fmt.Sprint(drain(t, k, quiet))
		if got != "["+tc.want+"]" {
			t.Errorf("selector %q: got %s, want [%s]", tc.sel, got, tc.want)
		}
		closeConsumer(t, k)
	}
	if got := drain(t, consumer(t, s, q), quiet); len(got) != 0 {
		t.Errorf("left on the queue: %v, want nothing", got)
	}
}

// testPrefetchZero: a pull consumer's Receive asks the broker and, on an
// empty queue, ends at the context's deadline with ErrNoMessage.
func testPrefetchZero(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	s := session(t, c, client.AutoAck)
	q := client.Queue(unique("pull"))
	k := consumer(t, s, q, client.Prefetch(0))

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	_, err := k.Receive(ctx)
	cancel()
	el := time.Since(start)
	if !errors.Is(err, client.ErrNoMessage) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive on an empty queue: %v, want ErrNoMessage/DeadlineExceeded", err)
	}
	if !errors.Is(err, client.ErrNoMessage) {
		t.Logf("NOTE %s: empty pull ended by the context (%v), not by the broker's answer", b.name, err)
	}
	if el > 3*time.Second {
		t.Errorf("Receive with a 400 ms deadline returned after %s", el)
	}

	// Messages already there are pulled one per Receive; a Receive waiting
	// when a message is sent gets it.
	p := producer(t, s, q)
	sendTexts(t, p, "p1", "p2")
	receiveText(t, k, "p1")
	receiveText(t, k, "p2")
	go func() {
		time.Sleep(300 * time.Millisecond)
		p.Send(context.Background(), client.NewTextMessage("p3"))
	}()
	m, err := k.Receive(ctxFor(t, 5*time.Second)) // waits past the send
	if err != nil {
		t.Fatalf("Receive while p3 is sent: %v", err)
	}
	if got, _ := m.Text(); got != "p3" {
		t.Fatalf("got %q, want p3", got)
	}
	_, err = k.Receive(ctxFor(t, 200*time.Millisecond))
	if err == nil {
		t.Fatalf("Receive on an empty queue returned a message")
	}
}

// testBrowse: Browse shows the queue in order without consuming it, with
// or without a selector.
func testBrowse(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	s := session(t, c, client.AutoAck)
	q := client.Queue(unique("browse"))
	p := producer(t, s, q)
	var want []string
	for i := range 5 {
		m := client.NewTextMessage(fmt.Sprintf("b%d", i))
		m.SetProperty("even", i%2 == 0)
		send(t, p, m)
		want = append(want, fmt.Sprintf("b%d", i))
	}
	texts := func(ms []*client.Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, text(m).(string))
		}
		return out
	}
	for range 2 { // browsing twice shows the same: nothing consumed
		ms, err := s.Browse(step(t), q, "")
		if err != nil {
			t.Fatalf("Browse: %v", err)
		}
		if got := texts(ms); !reflect.DeepEqual(got, want) {
			t.Fatalf("Browse: %v, want %v", got, want)
		}
	}
	ms, err := s.Browse(step(t), q, "even = TRUE")
	if err != nil {
		t.Fatalf("Browse with selector: %v", err)
	}
	if got := texts(ms); !reflect.DeepEqual(got, []string{"b0", "b2", "b4"}) {
		t.Errorf("Browse even = TRUE: %v, want [b0 b2 b4]", got)
	}
	empty, err := s.Browse(step(t), client.Queue(unique("empty")), "")
	if err != nil || len(empty) != 0 {
		t.Errorf("Browse of an empty queue: %d messages, %v", len(empty), err)
	}
	if got := drain(t, consumer(t, s, q), quiet); !reflect.DeepEqual(got, want) {
		t.Errorf("consumed after browsing: %v, want %v", got, want)
	}
}

// testErrors: refusals are typed errors; the connection survives them.
func testErrors(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	s := session(t, c, client.AutoAck)
	q := client.Queue(unique("err"))

	_, err := s.Consumer(step(t), q, client.Selector("color = "))
	if !errors.Is(err, client.ErrInvalidSelector) {
		t.Errorf("consumer with selector %q: %v, want ErrInvalidSelector", "color = ", err)
	}
	_, err = s.Browse(step(t), q, "a >< b")
	if !errors.Is(err, client.ErrInvalidSelector) {
		t.Errorf("browse with a bad selector: %v, want ErrInvalidSelector", err)
	}
	if _, err := s.Browse(step(t), client.Topic("t"), ""); !errors.Is(err, client.ErrInvalidDestination) {
		t.Errorf("browse of a topic: %v, want ErrInvalidDestination", err)
	}

	// JMS: only the connection that created a temporary queue may consume
	// from it. The 5.17 Java client enforces this itself (ActiveMQ's broker
	// does not): "Cannot use a Temporary destination from another
	// Connection", and "... that has been deleted".
	other := dial(t, b, client.Options{})
	tmp, err := other.TempQueue(step(t))
	if err != nil {
		t.Fatalf("TempQueue: %v", err)
	}
	tempConsumerRefused(t, s, tmp, "another connection's live")
	if err := other.DeleteTemp(step(t), tmp); err != nil {
		t.Fatalf("DeleteTemp: %v", err)
	}
	tempConsumerRefused(t, s, tmp, "another connection's deleted")

	// Still usable after the refusals.
	p := producer(t, s, q)
	sendTexts(t, p, "ok")
	receiveText(t, consumer(t, s, q), "ok")
	if err := c.Close(step(t)); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := p.Send(step(t), client.NewTextMessage("x")); !errors.Is(err, client.ErrClosed) {
		t.Errorf("send on a closed connection: %v, want ErrClosed", err)
	}
	if _, err := c.Session(step(t), client.AutoAck); !errors.Is(err, client.ErrClosed) {
		t.Errorf("session on a closed connection: %v, want ErrClosed", err)
	}
}

func tempConsumerRefused(t *testing.T, s *client.Session, tmp *client.Destination, what string) {
	t.Helper()
	k, err := s.Consumer(step(t), tmp)
	if err == nil {
		k.Close(step(t))
		t.Errorf("consumer on %s %s: no error, want ErrInvalidDestination (client bug: the Java client refuses it)", what, tmp)
	} else if !errors.Is(err, client.ErrInvalidDestination) {
		t.Errorf("consumer on %s %s: %v, want ErrInvalidDestination", what, tmp, err)
	}
}
