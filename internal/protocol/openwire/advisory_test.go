package openwire

import (
	"reflect"
	"testing"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// connect opens a JMS connection on a new socket.
func (r *rig) connect(id, clientID string) *client {
	r.t.Helper()
	c := r.dial()
	c.ok(&wire.ConnectionInfo{ConnectionID: &wire.ConnectionID{Value: id}, ClientID: clientID})
	return c
}

// advisory reads the next dispatch as an advisory and returns it with its
// properties.
func (c *client) advisory() (*wire.Message, map[string]any) {
	c.t.Helper()
	md, ok := c.read().(*wire.MessageDispatch)
	if !ok || md.Message == nil {
		c.t.Fatalf("want an advisory dispatch, got %#v", md)
	}
	m := md.Message
	if m.DataType() != wire.TypeMessage || m.JMSType != "Advisory" || m.Persistent {
		c.t.Fatalf("advisory: type %d, JMSType %q, persistent %v", m.DataType(), m.JMSType, m.Persistent)
	}
	props, err := wire.UnmarshalPrimitiveMap(m.MarshalledProperties, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	return m, props
}

func topicDest(name string) *wire.Destination {
	return &wire.Destination{Type: wire.TypeTopic, PhysicalName: name}
}

func TestConsumerAdvisoriesAsActiveMQSendsThem(t *testing.T) {
	r := newRigWith(t, Config{BrokerURL: "tcp://pier.example:61616"})
	l := r.connect("ID:listener-1", "")
	lid := &wire.ConsumerID{ConnectionID: "ID:listener-1", SessionID: 1, Value: 1}
	l.ok(&wire.ConsumerInfo{ConsumerID: lid, Destination: topicDest("ActiveMQ.Advisory.Consumer.Queue.orders"), PrefetchSize: 100})

	c := r.connect("ID:app-1", "app")
	cid := &wire.ConsumerID{ConnectionID: "ID:app-1", SessionID: 3, Value: 7}
	orders := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "orders"}
	neg3 := int8(-3)
	c.ok(&wire.ConsumerInfo{ConsumerID: cid, Destination: orders, PrefetchSize: 5, Selector: "a = 1",
		Priority: byte(neg3), NetworkSubscription: true,
		BrokerPath: []*wire.BrokerID{{Value: "ID:far"}, {Value: "ID:near"}}})

	m, props := l.advisory()
	if m.Destination.String() != "topic://ActiveMQ.Advisory.Consumer.Queue.orders" {
		t.Fatalf("advisory sent to %v", m.Destination)
	}
	info, ok := m.DataStructure.(*wire.ConsumerInfo)
	if !ok {
		t.Fatalf("data structure %#v, want a ConsumerInfo", m.DataStructure)
	}
	want := &wire.ConsumerInfo{ConsumerID: cid, Destination: orders, PrefetchSize: 5, Selector: "a = 1", ClientID: "app",
		Priority: byte(neg3), NetworkSubscription: true, BrokerPath: []*wire.BrokerID{{Value: "ID:far"}, {Value: "ID:near"}}}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("ConsumerInfo\n got %+v\nwant %+v", info, want)
	}
	wantProps := map[string]any{"consumerCount": int32(1), "originBrokerName": "localhost",
		"originBrokerId": "ID:localhost", "originBrokerURL": "tcp://pier.example:61616"}
	if !reflect.DeepEqual(props, wantProps) {
		t.Fatalf("properties %v, want %v", props, wantProps)
	}

	c.ok(&wire.RemoveInfo{ObjectID: cid, LastDeliveredSequenceID: -1})
	m, props = l.advisory()
	if ri, ok := m.DataStructure.(*wire.RemoveInfo); !ok || !reflect.DeepEqual(ri.ObjectID, cid) || ri.LastDeliveredSequenceID != -2 {
		t.Fatalf("removal: %#v", m.DataStructure)
	}
	if props["consumerCount"] != int32(0) {
		t.Fatalf("consumerCount after the removal: %v", props["consumerCount"])
	}
}

func TestConsumerAdvisoryReplayAndDurables(t *testing.T) {
	r := newRig(t)
	c := r.connect("ID:app-2", "app")
	q1 := &wire.ConsumerID{ConnectionID: "ID:app-2", SessionID: 1, Value: 1}
	c.ok(&wire.ConsumerInfo{ConsumerID: q1, Destination: &wire.Destination{Type: wire.TypeQueue, PhysicalName: "a"}, PrefetchSize: 10})

	// A new subscriber hears of the consumer that exists (a wildcard one too).
	l := r.connect("ID:listener-2", "")
	l.ok(&wire.ConsumerInfo{ConsumerID: &wire.ConsumerID{ConnectionID: "ID:listener-2", SessionID: 1, Value: 1},
		Destination: topicDest("ActiveMQ.Advisory.Consumer.>"), PrefetchSize: 100})
	if m, _ := l.advisory(); !reflect.DeepEqual(m.DataStructure.(*wire.ConsumerInfo).ConsumerID, q1) {
		t.Fatalf("replayed %#v", m.DataStructure)
	}

	d := &wire.ConsumerID{ConnectionID: "ID:app-2", SessionID: 1, Value: 2}
	c.ok(&wire.ConsumerInfo{ConsumerID: d, Destination: topicDest("news"), SubscriptionName: "sub", PrefetchSize: 100})
	if m, _ := l.advisory(); m.DataStructure.(*wire.ConsumerInfo).SubscriptionName != "sub" ||
		m.Destination.String() != "topic://ActiveMQ.Advisory.Consumer.Topic.news" {
		t.Fatalf("durable consumer: %#v on %v", m.DataStructure, m.Destination)
	}
	c.ok(&wire.RemoveInfo{ObjectID: d, LastDeliveredSequenceID: -1})
	if m, _ := l.advisory(); !reflect.DeepEqual(m.DataStructure.(*wire.RemoveInfo).ObjectID, d) {
		t.Fatalf("durable consumer closed: %#v", m.DataStructure)
	}
	c.ok(&wire.RemoveSubscriptionInfo{ConnectionID: &wire.ConnectionID{Value: "ID:app-2"}, SubscriptionName: "sub", ClientID: "app"})
	m, _ := l.advisory()
	if rs, ok := m.DataStructure.(*wire.RemoveSubscriptionInfo); !ok || rs.SubscriptionName != "sub" || rs.ClientID != "app" {
		t.Fatalf("unsubscribe: %#v", m.DataStructure)
	}
}

func TestMessageBrokerPathRoundTrip(t *testing.T) {
	r := newRig(t)
	c := r.connect("ID:bridge-1", "")
	prod := &wire.ProducerID{ConnectionID: "ID:bridge-1", SessionID: 1, Value: 1}
	q := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "forwarded"}
	path := []*wire.BrokerID{{Value: "ID:b1"}, {Value: "ID:b2"}}
	c.ok(&wire.Message{Type: wire.TypeTextMessage, ProducerID: prod, Destination: q, Persistent: true, Priority: 4,
		MessageID: &wire.MessageID{ProducerID: prod, ProducerSequenceID: 1}, Content: wire.EncodeText("x"), BrokerPath: path})
	cons := &wire.ConsumerID{ConnectionID: "ID:bridge-1", SessionID: 1, Value: 1}
	c.ok(&wire.ConsumerInfo{ConsumerID: cons, Destination: q, PrefetchSize: 10})
	md, ok := c.read().(*wire.MessageDispatch)
	if !ok || md.Message == nil || !reflect.DeepEqual(md.Message.BrokerPath, path) {
		t.Fatalf("dispatched %#v", md)
	}
}

func TestBrokerInfoAnnouncesTheBrokerID(t *testing.T) {
	r := newRig(t)
	a, b := r.dial(), r.dial()
	if a.bi.BrokerID == nil || a.bi.BrokerID.Value != "ID:localhost" || a.bi.BrokerName != "localhost" ||
		!reflect.DeepEqual(a.bi.BrokerID, b.bi.BrokerID) {
		t.Fatalf("BrokerInfo %+v / %+v", a.bi, b.bi)
	}
	if r.srv.b.ID() != a.bi.BrokerID.Value {
		t.Fatalf("announced %q, the broker's id is %q", a.bi.BrokerID.Value, r.srv.b.ID())
	}
}

func TestConsumerIDOfOtherProtocols(t *testing.T) {
	for sub, want := range map[string]wire.ConsumerID{
		"ID:host-1-2-3:1:4:5": {ConnectionID: "ID:host-1-2-3:1", SessionID: 4, Value: 5},
		"0":                   {ConnectionID: "ID:localhost-1-9", SessionID: -1, Value: 12},
		"sub:x:1":             {ConnectionID: "ID:localhost-1-9", SessionID: -1, Value: 12},
	} {
		got := consumerIDOf(&broker.ConsumerAdvisory{ConsumerID: sub, ConnectionID: "ID:localhost-1-9", ConsumerSeq: 12})
		if *got != want {
			t.Errorf("%q: %+v, want %+v", sub, *got, want)
		}
	}
	a := &broker.ConsumerAdvisory{Dest: message.Destination{Kind: message.Topic, Name: "t"}, Priority: -1000, Prefetch: 1 << 40}
	if info := consumerInfoOf(a); int8(info.Priority) != -128 || info.PrefetchSize != 1<<31-1 {
		t.Errorf("clamped priority %d, prefetch %d", int8(info.Priority), info.PrefetchSize)
	}
}
