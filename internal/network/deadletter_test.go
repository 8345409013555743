package network

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// moveOne sends m on a and moves it into o through a network subscription,
// as a bridge does.
func moveOne(t *testing.T, a *broker.Broker, o *broker.Outbox, m *message.Message) {
	t.Helper()
	ctx := context.Background()
	k := &collect{ch: make(chan *broker.Delivery, 1)}
	c, err := a.Connect(context.Background(), broker.ConnOptions{Sink: k})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if m.Dest.Kind.IsTemp() {
		if _, err := c.TempDestination(m.Dest.Kind, m.Dest.Name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Subscribe(ctx, broker.SubOptions{ID: "bridge", Dest: m.Dest, Ack: broker.AckIndividual,
		Network: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, m, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-k.ch:
		if err := c.Forward(ctx, "bridge", []uint64{d.Tag}, o); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
}

// An entry the remote broker refuses (a reply to a temporary queue that is
// gone there) and one that has no form on it (a map body that does not
// decode) are dead-lettered on the local broker, and the entries behind
// them are sent.
func TestSenderDeadLettersWhatCannotGo(t *testing.T) {
	a, b := startBroker(t, "a"), startBroker(t, "b")
	addr, _ := serve(t, b, "127.0.0.1:0")
	o, err := a.Outbox("c/b")
	if err != nil {
		t.Fatal(err)
	}
	moveOne(t, a, o, &message.Message{Dest: message.Destination{Kind: message.TempQueue, Name: "ID:gone-1:1:1"},
		Body: []byte("reply"), BodyKind: message.Text, Persistent: true})
	moveOne(t, a, o, &message.Message{Dest: message.Destination{Kind: message.Queue, Name: "work"},
		Body: []byte{0xff, 0x01}, BodyKind: message.Map, Persistent: true})
	want := fill(t, a, o, 3)
	// As a bridge dials: the broker, not the client, refuses the reply.
	s := newSenderWith(t, o, addr, SenderConfig{Poll: 20 * time.Millisecond}, client.Options{NoTopicAdvisories: true})
	run(t, s)
	waitFor(t, "the outbox to drain", func() bool { return outboxLen(t, o) == 0 })
	if st := s.Stats(); st.DeadLettered != 2 || st.Sent != 3 {
		t.Errorf("stats %+v, want 2 dead-lettered and 3 sent", st)
	}
	receiveAll(t, addr, want)

	// Both are in a's dead letter queue, with the reason.
	k := &collect{ch: make(chan *broker.Delivery, 2)}
	c, err := a.Connect(context.Background(), broker.ConnOptions{Sink: k})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Subscribe(context.Background(), broker.SubOptions{ID: "dlq",
		Dest: message.Destination{Kind: message.Queue, Name: a.Config().DLQ}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ dest, cause string }{
		{"temp-queue://ID:gone-1:1:1", "refused by the remote broker 3 times"},
		{"queue://work", "map body"},
	} {
		select {
		case d := <-k.ch:
			cause, _ := d.Msg.Properties["dlqDeliveryFailureCause"].(string)
			if d.Msg.OriginalDest.String() != want.dest || !strings.Contains(cause, want.cause) {
				t.Errorf("dead letter from %s: %q, want from %s: %q", d.Msg.OriginalDest, cause, want.dest, want.cause)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no dead letter from %s", want.dest)
		}
	}
}
