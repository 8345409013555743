package client

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// receive returns the next message of k within 5 s.
func receive(t *testing.T, k *Consumer) *Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := k.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConsumerAdvisoriesFromPier(t *testing.T) {
	addr := startPier(t)
	watcher := dial(t, addr, Options{})
	if watcher.BrokerID() != "ID:localhost" || watcher.BrokerName() != "localhost" {
		t.Fatalf("after Dial: broker id %q, name %q", watcher.BrokerID(), watcher.BrokerName())
	}
	ws := session(t, watcher, AutoAck)
	adv := consumer(t, ws, ConsumerAdvisoryTopic(Queue(">")))
	if got := ConsumerAdvisoryTopic(Queue("a,b")).Name(); got != "ActiveMQ.Advisory.Consumer.Queue.a&sbquo;b" {
		t.Fatalf("advisory topic of a composite: %q", got)
	}

	app := dial(t, addr, Options{ClientID: "app"})
	as := session(t, app, AutoAck)
	work := consumer(t, as, Queue("work"), Network(), BrokerPath("ID:far", "ID:near"), ConsumerPriority(-5),
		Prefetch(3), Selector("n > 1"))
	m := receive(t, adv)
	info, ok := m.ConsumerInfo()
	if !ok || !m.IsAdvisory() || m.Persistent {
		t.Fatalf("advisory %+v (consumer info %v)", m, ok)
	}
	want := ConsumerInfo{ConsumerID: consumerIDFromWire(work.info.ConsumerID), Destination: Queue("work"),
		ClientID: "app", Selector: "n > 1", Prefetch: 3, Priority: -5, NetworkSubscription: true,
		BrokerPath: []string{"ID:far", "ID:near"}}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("ConsumerInfo\n got %+v\nwant %+v", info, want)
	}
	if info.ConsumerID.ConnectionID != app.connID.Value || m.Property("consumerCount") != int32(1) ||
		m.Property("originBrokerId") != "ID:localhost" {
		t.Fatalf("connection %q (want %q), properties %v", info.ConsumerID.ConnectionID, app.connID.Value, m.Properties())
	}
	if _, ok := m.RemoveInfo(); ok {
		t.Fatal("a ConsumerInfo advisory reads as a RemoveInfo")
	}

	// A new watcher hears of the consumer that exists.
	late := consumer(t, session(t, watcher, AutoAck), ConsumerAdvisoryTopic(Queue("work")))
	if again, ok := receive(t, late).ConsumerInfo(); !ok || again.ConsumerID != info.ConsumerID {
		t.Fatalf("replay: %+v", again)
	}

	if err := work.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*Consumer{adv, late} {
		m := receive(t, k)
		if gone, ok := m.RemoveInfo(); !ok || gone.ConsumerID != info.ConsumerID || m.Property("consumerCount") != int32(0) {
			t.Fatalf("removal: %+v %v", gone, m.Properties())
		}
	}

	if _, err := as.Consumer(testCtx(t), Queue("x"), ConsumerPriority(128)); err == nil {
		t.Fatal("priority 128 accepted")
	}
}

func TestDurableUnsubscribeAdvisory(t *testing.T) {
	addr := startPier(t)
	watcher := dial(t, addr, Options{})
	adv := consumer(t, session(t, watcher, AutoAck), ConsumerAdvisoryTopic(Topic("news")))
	app := dial(t, addr, Options{ClientID: "app"})
	d := consumer(t, session(t, app, AutoAck), Topic("news"), Durable("sub"))
	if info, ok := receive(t, adv).ConsumerInfo(); !ok || info.SubscriptionName != "sub" || !info.Destination.Equal(Topic("news")) {
		t.Fatalf("durable consumer: %+v", info)
	}
	if err := d.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := receive(t, adv).RemoveInfo(); !ok {
		t.Fatal("no RemoveInfo when the durable consumer closed")
	}
	if err := app.Unsubscribe(testCtx(t), "sub"); err != nil {
		t.Fatal(err)
	}
	rs, ok := receive(t, adv).RemoveSubscriptionInfo()
	if !ok || rs.ClientID != "app" || rs.SubscriptionName != "sub" {
		t.Fatalf("unsubscribe: %+v %v", rs, ok)
	}
}

func TestMessageBrokerPath(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, AutoAck)
	k := consumer(t, s, Queue("forwarded"))
	m := NewTextMessage("crossed two brokers")
	m.BrokerPath = []string{"ID:b1", "ID:b2"}
	if err := producer(t, s, Queue("forwarded")).Send(testCtx(t), m); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, k); !reflect.DeepEqual(got.BrokerPath, []string{"ID:b1", "ID:b2"}) {
		t.Fatalf("broker path %q", got.BrokerPath)
	}
	if err := producer(t, s, Queue("forwarded")).Send(testCtx(t), NewTextMessage("local")); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, k); got.BrokerPath != nil {
		t.Fatalf("a local message has broker path %q", got.BrokerPath)
	}
}
