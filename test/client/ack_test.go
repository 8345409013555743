//go:build crossprocess

package client_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/piermq/pier/client"
)

// quiet is how long "nothing more arrives" is watched.
const quiet = 700 * time.Millisecond

// ackSetup: a connection, a producer session with a queue of its own and
// the texts sent to it.
func ackSetup(t *testing.T, b *broker, texts ...string) (*client.Conn, *client.Destination) {
	c := dial(t, b, client.Options{})
	q := client.Queue(unique("ack"))
	sendTexts(t, producer(t, session(t, c, client.AutoAck), q), texts...)
	return c, q
}

// redelivered receives want from a new consumer (its own session) and
// checks that each is flagged Redelivered; nothing else may follow.
func redelivered(t *testing.T, c *client.Conn, q *client.Destination, want ...string) {
	t.Helper()
	remaining(t, c, q, true, want...)
}

// remaining receives want from a new consumer (its own session), and
// nothing else; flagged: each must be flagged Redelivered.
func remaining(t *testing.T, c *client.Conn, q *client.Destination, flagged bool, want ...string) {
	t.Helper()
	s := session(t, c, client.AutoAck)
	k := consumer(t, s, q)
	for _, w := range want {
		m := receiveText(t, k, w)
		if flagged && (!m.Redelivered || m.DeliveryCount < 2) {
			t.Errorf("%q again after close: Redelivered=%v DeliveryCount=%d, want true and >= 2", w, m.Redelivered, m.DeliveryCount)
		}
	}
	expectNone(t, k, quiet)
	closeSession(t, s)
}

// testAutoAck: received messages are acknowledged; after the consumer
// closes nothing comes back; Ack is a no-op.
func testAutoAck(t *testing.T, b *broker) {
	c, q := ackSetup(t, b, "a", "b", "c")
	s := session(t, c, client.AutoAck)
	k := consumer(t, s, q)
	receiveText(t, k, "a")
	m := receiveText(t, k, "b")
	if err := m.Ack(step(t)); err != nil {
		t.Errorf("Ack in auto mode: %v, want a no-op", err)
	}
	closeConsumer(t, k)
	remaining(t, c, q, false, "c") // prefetched, never delivered
}

// testClientAck: Ack on one message acknowledges every message the session
// has delivered; unacknowledged ones come back, flagged, after the session
// closes.
func testClientAck(t *testing.T, b *broker) {
	c, q := ackSetup(t, b, "a", "b", "c", "d", "e")
	s := session(t, c, client.ClientAck)
	k := consumer(t, s, q)
	receiveText(t, k, "a")
	m := receiveText(t, k, "b")
	receiveText(t, k, "c")
	if err := m.Ack(step(t)); err != nil { // acks a, b and c
		t.Fatalf("Ack: %v", err)
	}
	receiveText(t, k, "d") // delivered, not acknowledged
	closeSession(t, s)

	s2 := session(t, c, client.ClientAck)
	k2 := consumer(t, s2, q)
	m = receiveText(t, k2, "d")
	if !m.Redelivered || m.DeliveryCount != 2 {
		t.Errorf("d after close: Redelivered=%v DeliveryCount=%d, want true, 2", m.Redelivered, m.DeliveryCount)
	}
	receiveText(t, k2, "e")
	if err := m.Ack(step(t)); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	expectNone(t, k2, quiet)
	closeSession(t, s2)
	redelivered(t, c, q)

	// Recover redelivers the unacknowledged ones in the same session.
	sendTexts(t, producer(t, session(t, c, client.AutoAck), q), "r1", "r2")
	s3 := session(t, c, client.ClientAck)
	k3 := consumer(t, s3, q)
	receiveText(t, k3, "r1")
	receiveText(t, k3, "r2")
	if err := s3.Recover(step(t)); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	m = receiveText(t, k3, "r1")
	if !m.Redelivered {
		t.Errorf("r1 after Recover: not Redelivered")
	}
	receiveText(t, k3, "r2")
	if err := m.Ack(step(t)); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	closeSession(t, s3)
	redelivered(t, c, q)
}

// testIndividualAck: Ack acknowledges that message only.
func testIndividualAck(t *testing.T, b *broker) {
	c, q := ackSetup(t, b, "a", "b", "c")
	s := session(t, c, client.IndividualAck)
	k := consumer(t, s, q)
	receiveText(t, k, "a")
	m := receiveText(t, k, "b")
	receiveText(t, k, "c")
	if err := m.Ack(step(t)); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	closeConsumer(t, k)
	redelivered(t, c, q, "a", "c")
}

// testDupsOKAck: messages are acknowledged lazily; after the consumer
// closes, JMS allows some to be delivered again, but each such duplicate
// must be flagged Redelivered, and none may be lost.
func testDupsOKAck(t *testing.T, b *broker) {
	texts := []string{"a", "b", "c", "d"}
	c, q := ackSetup(t, b, texts...)
	s := session(t, c, client.DupsOKAck)
	k := consumer(t, s, q)
	for _, w := range texts[:3] {
		receiveText(t, k, w)
	}
	closeConsumer(t, k)
	s2 := session(t, c, client.AutoAck)
	k2 := consumer(t, s2, q)
	var again []string
	for {
		m, err := k2.Receive(ctxFor(t, quiet))
		if err != nil {
			break
		}
		text, _ := m.Text()
		if text != "d" && !m.Redelivered {
			t.Errorf("%q delivered again without Redelivered", text)
		}
		again = append(again, text)
	}
	if !slices.Contains(again, "d") {
		t.Errorf("d (never received) lost: got %v after close", again)
	}
	if len(again) > 1 {
		t.Logf("NOTE %s: dups-ok redelivered %v after close", b.name, again)
	}
}

// testTransacted: sends and receipts of a transacted session take effect
// on Commit only; Rollback discards the sends and redelivers the receipts.
func testTransacted(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	q := client.Queue(unique("tx"))
	tx := session(t, c, client.Transacted)
	p := producer(t, tx, q)
	obs := consumer(t, session(t, c, client.AutoAck), q)

	sendTexts(t, p, "r1", "r2")
	if err := tx.Rollback(step(t)); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	expectNone(t, obs, quiet)
	sendTexts(t, p, "c1", "c2")
	expectNone(t, obs, 300*time.Millisecond) // not before Commit
	if err := tx.Commit(step(t)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := []string{text(receive(t, obs)).(string), text(receive(t, obs)).(string)}; !reflect.DeepEqual(got, []string{"c1", "c2"}) {
		t.Fatalf("after Commit got %v, want [c1 c2]", got)
	}
	closeConsumer(t, obs)

	if err := (&client.Message{}).Ack(step(t)); !errors.Is(err, client.ErrWrongMode) {
		t.Errorf("Ack of a message not received: %v, want ErrWrongMode", err)
	}
	auto := session(t, c, client.AutoAck)
	if err := auto.Commit(step(t)); !errors.Is(err, client.ErrWrongMode) {
		t.Errorf("Commit on an auto-ack session: %v, want ErrWrongMode", err)
	}

	// Receipts: rolled back ones come again, flagged; committed ones are gone.
	sendTexts(t, producer(t, auto, q), "x", "y")
	rx := session(t, c, client.Transacted)
	k := consumer(t, rx, q)
	receiveText(t, k, "x")
	receiveText(t, k, "y")
	if err := rx.Rollback(step(t)); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	for _, w := range []string{"x", "y"} {
		if m := receiveText(t, k, w); !m.Redelivered || m.DeliveryCount != 2 {
			t.Errorf("%s after Rollback: Redelivered=%v DeliveryCount=%d, want true, 2", w, m.Redelivered, m.DeliveryCount)
		}
	}
	if err := rx.Commit(step(t)); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	closeSession(t, rx)
	redelivered(t, c, q)
}
