package client

import (
	"context"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

func TestTrackerReplay(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, Transacted)
	q := Queue("replay")
	p := producer(t, s, q)
	k := consumer(t, s, q)
	tmp, err := c.TempQueue(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	send(t, p, "in tx")
	gone := session(t, c, AutoAck)
	gone.Close(testCtx(t))

	cmds, inDoubt := c.track.replay()
	if len(inDoubt) != 0 {
		t.Fatalf("in doubt: %v", inDoubt)
	}
	var kinds []byte
	for _, cmd := range cmds {
		kinds = append(kinds, cmd.DataType())
	}
	want := []byte{wire.TypeConnectionInfo, wire.TypeDestinationInfo, wire.TypeConsumerInfo, // advisory consumer
		wire.TypeSessionInfo, wire.TypeProducerInfo, wire.TypeConsumerInfo,
		wire.TypeTransactionInfo, wire.TypeTextMessage}
	if string(kinds) != string(want) {
		t.Fatalf("replay types %v, want %v", kinds, want)
	}
	if ci := cmds[0].(*wire.ConnectionInfo); !ci.FailoverReconnect || ci.ConnectionID.Value != c.connID.Value {
		t.Errorf("replayed ConnectionInfo %+v", ci)
	}
	if d := cmds[1].(*wire.DestinationInfo); d.Destination.PhysicalName != tmp.Name() {
		t.Errorf("replayed temp destination %v", d.Destination)
	}
	if ci := cmds[5].(*wire.ConsumerInfo); *ci.ConsumerID != *k.info.ConsumerID {
		t.Errorf("replayed consumer %v", ci.ConsumerID)
	}
	if err := s.Commit(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	cmds, _ = c.track.replay()
	if n := len(cmds); n != 6 {
		t.Errorf("after commit, replay has %d commands, want 6", n)
	}
}

func TestKeepAlive(t *testing.T) {
	addr := startPier(t)
	// The broker takes the smaller interval and drops a client silent for
	// 1.5 times it; the client must send KeepAliveInfo meanwhile.
	c := dial(t, addr, Options{MaxInactivity: 300 * time.Millisecond})
	if got := c.mu.t.negotiated.MaxInactivityDuration; got != 300*time.Millisecond {
		t.Fatalf("negotiated inactivity %v", got)
	}
	time.Sleep(time.Second)
	if err := c.Err(); err != nil {
		t.Fatalf("connection ended while idle: %v", err)
	}
	s := session(t, c, AutoAck)
	send(t, producer(t, s, Queue("ka")), "still here")
	receiveText(t, consumer(t, s, Queue("ka")), "still here")
}

func TestUnicodeProperties(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, AutoAck)
	q := Queue("unicode")
	m := NewTextMessage("emoji 😀 and NUL \x00")
	m.SetProperty("p", "😀\x00é")
	if err := producer(t, s, q).Send(testCtx(t), m); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := consumer(t, s, q).Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := got.Text(); text != "emoji 😀 and NUL \x00" {
		t.Errorf("text %q", text)
	}
	if v, _ := got.StringProperty("p"); v != "😀\x00é" {
		t.Errorf("property %q", v)
	}
}
