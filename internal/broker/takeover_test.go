package broker

import (
	"context"
	"errors"
	"testing"
)

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
