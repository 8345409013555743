//go:build crossprocess

package mqtt

import (
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// TestTakeover connects a second client with the client id of a
// connected one (MQTT 3.1.1 section 3.1.4, 5.0 section 3.1.4): the first
// is disconnected — told so with DISCONNECT 0x8E Session taken over in
// MQTT 5 — and the second gets the session: CONNACK session present, the
// subscription delivering to it.
func TestTakeover(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	t.Run("mqttv5", func(t *testing.T) {
		connect := func(box *inbox) (*conn, *packet.Connack) {
			e := uint32(300)
			c, ack, err := dial(b.MQTT, nil, &packet.Connect{Version: packet.Version5, ClientID: "takeover-5",
				Properties: packet.Properties{SessionExpiry: &e}}, box)
			if err != nil || ack.Reason != packet.Success {
				t.Fatalf("connect: %v %v", ack, err)
			}
			return c, ack
		}
		first, _ := connect(nil)
		if ack, err := first.subscribe(1, packet.Properties{}, packet.Subscription{Filter: "takeover/5", QoS: 1}); err != nil || ack.Reasons[0] != 1 {
			t.Fatalf("subscribe: %v %v", ack, err)
		}
		box := newInbox()
		second, ack := connect(box)
		defer second.disconnect()
		if !ack.SessionPresent {
			t.Errorf("the second connection: CONNACK session present 0, want 1")
		}
		got, err := first.ended()
		if err != nil {
			t.Fatalf("the first connection: %v", err)
		}
		if len(got) != 1 {
			t.Fatalf("the first connection got %v before its end, want one DISCONNECT", got)
		}
		if d, ok := got[0].(*packet.Disconnect); !ok || d.Reason != packet.SessionTakenOver {
			t.Errorf("the first connection got %+v, want DISCONNECT 0x8E Session taken over", got[0])
		}
		publishTo(t, b, "mqttv5", "takeover/5", "to the second")
		if err := box.awaitCount(1); err != nil {
			t.Fatalf("the subscription, taken over: %v", err)
		}
		if r := box.all()[0]; r.Payload != "to the second" || r.Topic != "takeover/5" {
			t.Errorf("the second connection got %+v", r)
		}
	})
	t.Run("mqttv311", func(t *testing.T) {
		// The first is the Go paho client, which reports the loss.
		lost := make(chan error, 1)
		var mu sync.Mutex
		var firstGot []string
		opts := pahoOptions(b.MQTT, "takeover-311", false).SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
		first := paho.NewClient(opts)
		if err := pahoWait(first.Connect()); err != nil {
			t.Fatal(err)
		}
		defer first.Disconnect(0)
		if err := pahoWait(first.Subscribe("takeover/311", 1, func(_ paho.Client, m paho.Message) {
			mu.Lock()
			firstGot = append(firstGot, string(m.Payload()))
			mu.Unlock()
		})); err != nil {
			t.Fatal(err)
		}
		box := newInbox()
		second, ack, err := dial(b.MQTT, nil, &packet.Connect{Version: packet.Version311, ClientID: "takeover-311"}, box)
		if err != nil || ack.Reason != packet.Success {
			t.Fatalf("second connect: %v %v", ack, err)
		}
		defer second.disconnect()
		if !ack.SessionPresent {
			t.Errorf("the second connection: CONNACK session present 0, want 1")
		}
		select {
		case err := <-lost:
			t.Logf("the first connection ended: %v", err)
		case <-time.After(wait):
			t.Fatalf("the first connection (Go paho) was not disconnected")
		}
		publishTo(t, b, "mqttv311", "takeover/311", "to the second")
		if err := box.awaitCount(1); err != nil {
			t.Fatalf("the subscription, taken over: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(firstGot) != 0 {
			t.Errorf("the first client, taken over, still got %q", firstGot)
		}
	})
}

// publishTo publishes one QoS 1 message with mosquitto_pub.
func publishTo(t *testing.T, b *broker, version, topic, payload string) {
	t.Helper()
	mosquitto{addr: b.MQTT, version: version}.pub(t, "-q", "1", "-t", topic, "-m", payload)
}

// TestSharedSubscription: members of one shared subscription
// ($share/{group}/{filter}, MQTT 5.0 section 4.8.2) share the messages —
// each message to exactly one of them — while an ordinary subscriber gets
// them all.
func TestSharedSubscription(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	const n = 100
	var boxes []*inbox
	for i := range 3 {
		box := newInbox()
		c, ack, err := dial(b.MQTT, nil, &packet.Connect{Version: packet.Version5, ClientID: "shared-" + string(rune('a'+i)), CleanStart: true}, box)
		if err != nil || ack.Reason != packet.Success {
			t.Fatalf("connect: %v %v", ack, err)
		}
		defer c.disconnect()
		if a := ack.Properties.SharedSubAvailable; a != nil && !*a {
			t.Fatal("the server says Shared Subscription Available = 0 (CONNACK)")
		}
		filter := "$share/workers/shared/jobs"
		if i == 2 {
			filter = "shared/jobs"
		}
		sa, err := c.subscribe(1, packet.Properties{}, packet.Subscription{Filter: filter, QoS: 1})
		if err != nil || sa.Reasons[0] != 1 {
			t.Fatalf("subscribe %s: %v %v", filter, sa, err)
		}
		boxes = append(boxes, box)
	}
	m := mosquitto{addr: b.MQTT, version: "mqttv5"}
	if out, err := runInput(t, numbers(n), "mosquitto_pub", m.args("-q", "1", "-t", "shared/jobs", "-l")...); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
	if err := boxes[2].awaitCount(n); err != nil {
		t.Fatalf("the ordinary subscriber: %v", err)
	}
	if err := eventually(func() bool { return countDelivered(boxes[0].all())+countDelivered(boxes[1].all()) >= n }); err != nil {
		t.Errorf("the shared subscription's members got %d and %d of %d", countDelivered(boxes[0].all()), countDelivered(boxes[1].all()), n)
	}
	seen := map[string]int{}
	for _, box := range boxes[:2] {
		for _, r := range box.all() {
			seen[r.Payload]++
		}
	}
	for i := range n {
		if c := seen[strconv.Itoa(i)]; c != 1 {
			t.Errorf("message %d reached the shared subscription's members %d times, want once", i, c)
		}
	}
	t.Logf("shared: %d and %d", countDelivered(boxes[0].all()), countDelivered(boxes[1].all()))
}
