package openwire

import (
	"testing"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// TestConsumerPriority: ConsumerInfo.priority is a signed byte. A bridge's
// consumer at -5 (ActiveMQ's NETWORK_CONSUMER_PRIORITY) gets nothing while
// an application's consumer at 0 has room, and everything once it is gone.
func TestConsumerPriority(t *testing.T) {
	r := newRig(t)
	c := r.dial()
	conn := &wire.ConnectionID{Value: "ID:prio-consumers"}
	c.ok(&wire.ConnectionInfo{ConnectionID: conn})
	q := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "prio"}
	bridge := &wire.ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
	app := &wire.ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 2}
	var networkPriority int8 = -5
	c.ok(&wire.ConsumerInfo{ConsumerID: bridge, Destination: q, PrefetchSize: 10, Priority: byte(networkPriority)})
	c.ok(&wire.ConsumerInfo{ConsumerID: app, Destination: q, PrefetchSize: 10})

	p := r.dial()
	pconn := &wire.ConnectionID{Value: "ID:prio-producer"}
	p.ok(&wire.ConnectionInfo{ConnectionID: pconn})
	prod := &wire.ProducerID{ConnectionID: pconn.Value, SessionID: 1, Value: 1}
	send := func(seq int64) {
		p.ok(&wire.Message{Type: wire.TypeTextMessage, ProducerID: prod, Destination: q, Persistent: true, Priority: 4,
			MessageID: &wire.MessageID{ProducerID: prod, ProducerSequenceID: seq}, Content: wire.EncodeText("m")})
	}
	for i := int64(1); i <= 3; i++ {
		send(i)
	}
	for i := 0; i < 3; i++ {
		md, ok := c.read().(*wire.MessageDispatch)
		if !ok || md.Message == nil {
			t.Fatalf("dispatch %d: %#v", i, md)
		}
		if md.ConsumerID.Value != app.Value {
			t.Fatalf("dispatch %d went to consumer %d, want the application's (%d)", i, md.ConsumerID.Value, app.Value)
		}
	}

	// The bridge's dispatches may come before the answer to the RemoveInfo.
	var got []*wire.MessageDispatch
	c.id++
	rm := &wire.RemoveInfo{ObjectID: app, LastDeliveredSequenceID: -1}
	rm.SetCommandID(c.id)
	rm.SetResponseRequired(true)
	c.write(rm)
	for answered := false; !answered; {
		switch x := c.read().(type) {
		case *wire.MessageDispatch:
			got = append(got, x)
		case *wire.Response:
			answered = x.CorrelationID == c.id
		case *wire.ExceptionResponse:
			t.Fatalf("RemoveInfo: %s", x.Exception.Message)
		}
	}
	send(4)
	for len(got) < 4 {
		md, ok := c.read().(*wire.MessageDispatch)
		if !ok {
			t.Fatalf("want a dispatch, got %#v", md)
		}
		got = append(got, md)
	}
	// The removed consumer's three unacknowledged messages and the new one:
	// all to the bridge.
	for i, md := range got {
		if md.Message == nil || md.ConsumerID.Value != bridge.Value {
			t.Fatalf("dispatch %d after removal: consumer %d, message %v; want the bridge's", i, md.ConsumerID.Value, md.Message)
		}
	}
}
