package openwire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// throwablesIn returns every non-nil *wire.Throwable reachable from v.
func throwablesIn(v reflect.Value) []*wire.Throwable {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if t, ok := v.Interface().(*wire.Throwable); ok {
			return []*wire.Throwable{t}
		}
		return throwablesIn(v.Elem())
	case reflect.Struct:
		var out []*wire.Throwable
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				out = append(out, throwablesIn(v.Field(i))...)
			}
		}
		return out
	case reflect.Slice, reflect.Array:
		var out []*wire.Throwable
		for i := 0; i < v.Len(); i++ {
			out = append(out, throwablesIn(v.Index(i))...)
		}
		return out
	case reflect.Map:
		var out []*wire.Throwable
		for _, k := range v.MapKeys() {
			out = append(out, throwablesIn(v.MapIndex(k))...)
		}
		return out
	}
	return nil
}

// TestPeerThrowablesAreNeverPassedOn: a throwable one client sends (inside
// a message's data structure, as a poison ack's cause) reaches no other
// client as a throwable — at most as text, the DLQ's failure cause — so no
// client is ever asked to instantiate a class another peer named
// (CVE-2023-46604).
func TestPeerThrowablesAreNeverPassedOn(t *testing.T) {
	const gadget = "com.example.Gadget"
	evil := &wire.Throwable{Class: gadget, Message: "boom"}
	probe := &wire.MessageDispatch{Message: &wire.Message{DataStructure: &wire.ConnectionError{Exception: evil}}}
	if len(throwablesIn(reflect.ValueOf(probe))) != 1 {
		t.Fatal("throwablesIn misses a nested throwable")
	}
	r := newRig(t)
	prodConn := r.dial()
	pc := &wire.ConnectionID{Value: "ID:producer"}
	prodConn.ok(&wire.ConnectionInfo{ConnectionID: pc})
	prod := &wire.ProducerID{ConnectionID: pc.Value, SessionID: 1, Value: 1}
	q := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "gadgets"}
	prodConn.ok(&wire.Message{Type: wire.TypeTextMessage, ProducerID: prod, Destination: q, Persistent: true,
		MessageID: &wire.MessageID{ProducerID: prod, ProducerSequenceID: 1}, Content: wire.EncodeText("hi"),
		DataStructure: &wire.ExceptionResponse{CorrelationID: 1, Exception: evil}})
	prodConn.ok(&wire.Message{Type: wire.TypeMessage, ProducerID: prod, Destination: q, Persistent: true,
		MessageID:     &wire.MessageID{ProducerID: prod, ProducerSequenceID: 2},
		DataStructure: &wire.ConnectionError{Exception: evil}})

	c := r.dial()
	cc := &wire.ConnectionID{Value: "ID:consumer"}
	c.ok(&wire.ConnectionInfo{ConnectionID: cc})
	cons := &wire.ConsumerID{ConnectionID: cc.Value, SessionID: 1, Value: 1}
	c.ok(&wire.ConsumerInfo{ConsumerID: cons, Destination: q, PrefetchSize: 10})
	var ids []*wire.MessageID
	for range 2 {
		md, ok := c.read().(*wire.MessageDispatch)
		if !ok || md.Message == nil {
			t.Fatalf("want a MessageDispatch, got %#v", md)
		}
		if found := throwablesIn(reflect.ValueOf(md)); len(found) > 0 || md.Message.DataStructure != nil {
			t.Fatalf("a producer's throwable reached a consumer: %+v (data %#v)", found, md.Message.DataStructure)
		}
		ids = append(ids, md.Message.MessageID)
	}
	// The consumer gives up on both, naming the producer's class.
	for _, id := range ids {
		c.ok(&wire.MessageAck{ConsumerID: cons, Destination: q, AckType: wire.AckPoison, MessageCount: 1,
			FirstMessageID: id, LastMessageID: id, PoisonCause: evil})
	}

	dlq := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "ActiveMQ.DLQ"}
	d := r.dial()
	dc := &wire.ConnectionID{Value: "ID:dlq"}
	d.ok(&wire.ConnectionInfo{ConnectionID: dc})
	d.ok(&wire.ConsumerInfo{ConsumerID: &wire.ConsumerID{ConnectionID: dc.Value, SessionID: 1, Value: 1},
		Destination: dlq, PrefetchSize: 10})
	for range 2 {
		md, ok := d.read().(*wire.MessageDispatch)
		if !ok || md.Message == nil {
			t.Fatalf("want a dead letter, got %#v", md)
		}
		if found := throwablesIn(reflect.ValueOf(md)); len(found) > 0 || md.Message.DataStructure != nil {
			t.Fatalf("a poison cause reached the DLQ consumer as a throwable: %+v", found)
		}
		props, err := md.Message.Properties()
		if err != nil {
			t.Fatal(err)
		}
		cause, ok := props["dlqDeliveryFailureCause"].(string)
		if !ok || !strings.Contains(cause, gadget) {
			t.Fatalf("dlqDeliveryFailureCause %#v, want the cause as text", props["dlqDeliveryFailureCause"])
		}
	}
}

// TestObjectMessageBodyIsOpaque: an ObjectMessage's body (Java
// serialization) is carried as bytes and never deserialized; a consumer
// gets exactly what the producer sent.
func TestObjectMessageBodyIsOpaque(t *testing.T) {
	body := []byte{0xAC, 0xED, 0x00, 0x05, 's', 'r', 0x00, 0x12, 'c', 'o', 'm', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'G', 'a', 'd', 'g', 'e', 't'}
	r := newRig(t)
	c := r.dial()
	conn := &wire.ConnectionID{Value: "ID:object"}
	c.ok(&wire.ConnectionInfo{ConnectionID: conn})
	prod := &wire.ProducerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
	q := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "objects"}
	c.ok(&wire.Message{Type: wire.TypeObjectMessage, ProducerID: prod, Destination: q, Persistent: true,
		MessageID: &wire.MessageID{ProducerID: prod, ProducerSequenceID: 1}, Content: body})
	c.ok(&wire.ConsumerInfo{ConsumerID: &wire.ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 1},
		Destination: q, PrefetchSize: 10})
	md, ok := c.read().(*wire.MessageDispatch)
	if !ok || md.Message == nil || md.Message.DataType() != wire.TypeObjectMessage || !bytes.Equal(md.Message.Content, body) {
		t.Fatalf("dispatched %#v", md)
	}
}
