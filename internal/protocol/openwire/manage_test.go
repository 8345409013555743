package openwire

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

func TestAdministratorClosesConnection(t *testing.T) {
	r := newRig(t)
	c := r.connect("ID:app-1", "app")
	b := r.srv.b
	conns := b.Connections()
	if len(conns) != 1 || conns[0].Protocol != "openwire" || conns[0].Remote != c.nc.LocalAddr().String() || conns[0].ClientID != "app" {
		t.Fatalf("connections: %+v", conns)
	}
	if err := b.CloseConnection(conns[0].ID); err != nil {
		t.Fatal(err)
	}
	// ShutdownInfo, as ActiveMQ sends when an administrator stops a
	// connection, then the end of the stream.
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []wire.Command
	var err error
	for {
		var cmd wire.Command
		if cmd, err = c.dec.Decode(); err != nil {
			break
		}
		if _, ka := cmd.(*wire.KeepAliveInfo); !ka {
			got = append(got, cmd)
		}
	}
	if len(got) != 1 || got[0].DataType() != wire.TypeShutdownInfo {
		t.Fatalf("before the close the client read %d commands: %#v", len(got), got)
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("the connection ended with %v, want the end of the stream", err)
	}
	if conns := b.Connections(); len(conns) != 0 {
		t.Fatalf("still connected: %+v", conns)
	}
	// The client id is free again.
	r.connect("ID:app-2", "app")
}

func TestProducersAreCounted(t *testing.T) {
	r := newRig(t)
	c := r.connect("ID:p-1", "")
	orders := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "orders"}
	p1 := &wire.ProducerID{ConnectionID: "ID:p-1", SessionID: 1, Value: 1}
	p2 := &wire.ProducerID{ConnectionID: "ID:p-1", SessionID: 2, Value: 1}
	c.ok(&wire.ProducerInfo{ProducerID: p1, Destination: orders})
	c.ok(&wire.ProducerInfo{ProducerID: p2, Destination: orders})
	c.ok(&wire.ProducerInfo{ProducerID: &wire.ProducerID{ConnectionID: "ID:p-1", SessionID: 2, Value: 2}}) // anonymous
	b := r.srv.b
	// Naming the queue does not make it (making one may need admin, checked
	// at the first send); the first send does, and the queue counts the
	// producers that named it before.
	if _, ok := b.Destination(message.Destination{Kind: message.Queue, Name: "orders"}); ok {
		t.Fatal("a producer made the queue")
	}
	c.ok(&wire.Message{Type: wire.TypeTextMessage, ProducerID: p1, Destination: orders, Persistent: true, Priority: 4,
		MessageID: &wire.MessageID{ProducerID: p1, ProducerSequenceID: 1}, Content: wire.EncodeText("x")})
	producers := func() (int, int) {
		in, _ := b.Destination(message.Destination{Kind: message.Queue, Name: "orders"})
		conns := b.Connections()
		if len(conns) != 1 {
			t.Fatalf("connections: %+v", conns)
		}
		return in.Producers, conns[0].Producers
	}
	if d, c := producers(); d != 2 || c != 3 {
		t.Fatalf("queue has %d producers, connection %d; want 2 and 3", d, c)
	}
	c.ok(&wire.RemoveInfo{ObjectID: p1})
	if d, c := producers(); d != 1 || c != 2 {
		t.Fatalf("after RemoveInfo: queue %d, connection %d; want 1 and 2", d, c)
	}
	c.ok(&wire.RemoveInfo{ObjectID: &wire.SessionID{ConnectionID: "ID:p-1", Value: 2}})
	if d, c := producers(); d != 0 || c != 0 {
		t.Fatalf("after the session closed: queue %d, connection %d", d, c)
	}
}

var _ broker.Closer = (*conn)(nil)
