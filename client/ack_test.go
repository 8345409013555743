package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAckModes(t *testing.T) {
	addr := startPier(t)
	for _, mode := range []AckMode{AutoAck, ClientAck, DupsOKAck, IndividualAck} {
		t.Run(mode.String(), func(t *testing.T) {
			c := dial(t, addr, Options{})
			s := session(t, c, mode)
			q := Queue("ack." + mode.String())
			p := producer(t, s, q)
			for i := range 3 {
				send(t, p, fmt.Sprint(i))
			}
			k := consumer(t, s, q)
			var last *Message
			for i := range 3 {
				last = receiveText(t, k, fmt.Sprint(i))
			}
			if err := last.Ack(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			// Close everything; what was not acknowledged comes back.
			if err := c.Close(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			c2 := dial(t, addr, Options{})
			k2 := consumer(t, session(t, c2, AutoAck), q)
			switch mode {
			case IndividualAck: // only "2" was acknowledged
				m := receiveText(t, k2, "0")
				if !m.Redelivered {
					t.Error("redelivered message not marked redelivered")
				}
				receiveText(t, k2, "1")
			}
			expectNone(t, k2, 200*time.Millisecond)
		})
	}
}

func TestClientAckUnackedRedelivered(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, ClientAck)
	q := Queue("client.unacked")
	p := producer(t, s, q)
	send(t, p, "a")
	send(t, p, "b")
	k := consumer(t, s, q)
	receiveText(t, k, "a").Ack(testCtx(t))
	receiveText(t, k, "b") // not acknowledged
	if err := k.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	k2 := consumer(t, s, q)
	m := receiveText(t, k2, "b")
	if !m.Redelivered || m.DeliveryCount != 2 {
		t.Errorf("redelivered %v, delivery count %d", m.Redelivered, m.DeliveryCount)
	}
	m.Ack(testCtx(t))
	expectNone(t, k2, 200*time.Millisecond)
}

func TestRecover(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, ClientAck)
	q := Queue("recover")
	p := producer(t, s, q)
	send(t, p, "x")
	send(t, p, "y")
	k := consumer(t, s, q)
	receiveText(t, k, "x")
	receiveText(t, k, "y")
	if err := s.Recover(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	m := receiveText(t, k, "x")
	if !m.Redelivered || m.DeliveryCount != 2 {
		t.Errorf("after recover: redelivered %v count %d", m.Redelivered, m.DeliveryCount)
	}
	receiveText(t, k, "y").Ack(testCtx(t))
	k.Close(testCtx(t))
	expectNone(t, consumer(t, s, q), 200*time.Millisecond)
}

func TestTransactions(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	tx := session(t, c, Transacted)
	auto := session(t, c, AutoAck)
	q := Queue("tx")
	p := producer(t, tx, q)
	watch := consumer(t, auto, q)

	send(t, p, "rolled back")
	if err := tx.Rollback(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	expectNone(t, watch, 200*time.Millisecond)
	send(t, p, "committed")
	expectNone(t, watch, 100*time.Millisecond)
	if err := tx.Commit(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	receiveText(t, watch, "committed")
	watch.Close(testCtx(t))

	// Consuming in a transaction: rollback redelivers locally, commit
	// removes.
	auto2 := producer(t, auto, q)
	send(t, auto2, "work")
	k := consumer(t, tx, q)
	receiveText(t, k, "work")
	if err := tx.Rollback(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	m := receiveText(t, k, "work")
	if !m.Redelivered || m.DeliveryCount != 2 {
		t.Errorf("after rollback: redelivered %v count %d", m.Redelivered, m.DeliveryCount)
	}
	if err := tx.Commit(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	k.Close(testCtx(t))
	expectNone(t, consumer(t, auto, q), 200*time.Millisecond)

	if err := auto.Commit(testCtx(t)); !errors.Is(err, ErrWrongMode) {
		t.Errorf("Commit on an AutoAck session: %v", err)
	}
}

func TestRollbackPastLimitDeadLetters(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{MaxRedeliveries: 1})
	tx := session(t, c, Transacted)
	q := Queue("poison")
	send(t, producer(t, session(t, c, AutoAck), q), "bad")
	k := consumer(t, tx, q)
	for range 2 {
		receiveText(t, k, "bad")
		if err := tx.Rollback(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	expectNone(t, k, 200*time.Millisecond)
	dlq := consumer(t, session(t, c, AutoAck), Queue("ActiveMQ.DLQ"))
	receiveText(t, dlq, "bad")
}

func TestDurableSubscription(t *testing.T) {
	addr := startPier(t)
	topic := Topic("news")
	c := dial(t, addr, Options{ClientID: "reader"})
	s := session(t, c, AutoAck)
	k := consumer(t, s, topic, Durable("sub"))
	k.Close(testCtx(t))

	pc := dial(t, addr, Options{})
	send(t, producer(t, session(t, pc, AutoAck), topic), "while away")

	k = consumer(t, s, topic, Durable("sub"))
	receiveText(t, k, "while away")
	if err := c.Unsubscribe(testCtx(t), "sub"); err == nil {
		t.Error("unsubscribe with an active consumer succeeded")
	}
	k.Close(testCtx(t))
	if err := c.Unsubscribe(testCtx(t), "sub"); err != nil {
		t.Fatal(err)
	}
	if err := c.Unsubscribe(testCtx(t), "sub"); !errors.Is(err, ErrInvalidDestination) {
		t.Errorf("unsubscribe of an unknown subscription: %v", err)
	}
}

func TestTempQueueRequestReply(t *testing.T) {
	addr := startPier(t)
	server := dial(t, addr, Options{})
	ss := session(t, server, AutoAck)
	requests := consumer(t, ss, Queue("rpc"))
	replier := producer(t, ss, nil)

	cl := dial(t, addr, Options{})
	cs := session(t, cl, AutoAck)
	replyQ, err := cl.TempQueue(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !replyQ.IsTemporary() {
		t.Fatal("temp queue is not temporary")
	}
	replies := consumer(t, cs, replyQ)
	req := NewTextMessage("ping")
	req.ReplyTo = replyQ
	req.CorrelationID = "c1"
	if err := producer(t, cs, Queue("rpc")).Send(testCtx(t), req); err != nil {
		t.Fatal(err)
	}

	got := receiveText(t, requests, "ping")
	if !got.ReplyTo.Equal(replyQ) {
		t.Fatalf("reply-to %v, want %v", got.ReplyTo, replyQ)
	}
	// The server connection learns of the temp queue from the advisory.
	deadline := time.Now().Add(5 * time.Second)
	for server.tempDeleted(got.ReplyTo) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reply := NewTextMessage("pong")
	reply.CorrelationID = got.CorrelationID
	if err := replier.Send(testCtx(t), reply, To(got.ReplyTo)); err != nil {
		t.Fatal(err)
	}
	if m := receiveText(t, replies, "pong"); m.CorrelationID != "c1" {
		t.Errorf("correlation id %q", m.CorrelationID)
	}

	replies.Close(testCtx(t))
	if err := cl.DeleteTemp(testCtx(t), replyQ); err != nil {
		t.Fatal(err)
	}
	for !server.tempDeleted(replyQ) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	err = replier.Send(testCtx(t), NewTextMessage("late"), To(replyQ))
	if !errors.Is(err, ErrInvalidDestination) {
		t.Errorf("send to a deleted temp queue: %v", err)
	}
}

func TestSelector(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, AutoAck)
	q := Queue("sel")
	p := producer(t, s, q)
	for i, color := range []string{"red", "blue", "red"} {
		m := NewTextMessage(fmt.Sprint(color, i))
		m.SetProperty("color", color)
		if err := p.Send(testCtx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	k := consumer(t, s, q, Selector("color = 'blue'"))
	receiveText(t, k, "blue1")
	expectNone(t, k, 100*time.Millisecond)
	if _, err := s.Consumer(testCtx(t), q, Selector("color = = 'x'")); !errors.Is(err, ErrInvalidSelector) {
		t.Errorf("bad selector: %v", err)
	}
}

func TestPullConsumer(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, AutoAck)
	q := Queue("pull")
	k := consumer(t, s, q, Prefetch(0))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := k.Receive(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive from an empty queue: %v", err)
	}
	p := producer(t, s, q)
	send(t, p, "one")
	send(t, p, "two")
	receiveText(t, k, "one")
	receiveText(t, k, "two")
	expectNone(t, k, 150*time.Millisecond)
}

func TestBrowse(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, AutoAck)
	q := Queue("browse")
	p := producer(t, s, q)
	for i := range 5 {
		m := NewTextMessage(fmt.Sprint(i))
		m.SetProperty("n", int32(i))
		if err := p.Send(testCtx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Browse(testCtx(t), q, "")
	if err != nil || len(all) != 5 {
		t.Fatalf("browse: %d messages, %v", len(all), err)
	}
	odd, err := s.Browse(testCtx(t), q, "n = 1 OR n = 3")
	if err != nil || len(odd) != 2 {
		t.Fatalf("browse with selector: %d messages, %v", len(odd), err)
	}
	k := consumer(t, s, q)
	for i := range 5 { // browsing consumed nothing
		receiveText(t, k, fmt.Sprint(i))
	}
}

func TestCloseCascade(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, ClientAck)
	q := Queue("cascade")
	send(t, producer(t, session(t, c, AutoAck), q), "m")
	k := consumer(t, s, q)
	receiveText(t, k, "m")
	done := make(chan error, 1)
	go func() {
		_, err := k.Receive(context.Background())
		done <- err
	}()
	if err := s.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive during session close: %v", err)
	}
	if _, err := s.Producer(testCtx(t), q); !errors.Is(err, ErrClosed) {
		t.Errorf("producer on a closed session: %v", err)
	}
	// The session's RemoveInfo released the unacknowledged message.
	k2 := consumer(t, session(t, c, AutoAck), q)
	receiveText(t, k2, "m")
}

func TestSendErrors(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, AutoAck)
	anon := producer(t, s, nil)
	if err := anon.Send(testCtx(t), NewTextMessage("x")); !errors.Is(err, ErrInvalidDestination) {
		t.Errorf("anonymous send without To: %v", err)
	}
	err := anon.Send(testCtx(t), NewTextMessage("x"), To(Queue("bad.>.name")))
	var be *BrokerError
	if !errors.As(err, &be) {
		t.Errorf("send to an invalid name: %v, want a *BrokerError", err)
	}
	p := producer(t, s, Queue("ok"))
	p.Close(testCtx(t))
	if err := p.Send(testCtx(t), NewTextMessage("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("send on a closed producer: %v", err)
	}
	c.Close(testCtx(t))
	if err := anon.Send(testCtx(t), NewTextMessage("x"), To(Queue("q"))); err == nil {
		t.Error("send on a closed connection succeeded")
	}
}
