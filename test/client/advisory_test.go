//go:build crossprocess

package client_test

import (
	"reflect"
	"testing"

	"github.com/piermq/pier/client"
)

// testAdvisories reads consumer advisories and broker paths as a network
// bridge does: what the ConsumerInfo of a bridge-like consumer says, its
// RemoveInfo, the broker id of BrokerInfo, and a message's broker path.
func testAdvisories(t *testing.T, b *broker) {
	watcher := dial(t, b, client.Options{})
	if watcher.BrokerID() == "" || watcher.BrokerName() == "" {
		t.Fatalf("after Dial: broker id %q, name %q", watcher.BrokerID(), watcher.BrokerName())
	}
	t.Logf("%s announces broker id %q, name %q", b.name, watcher.BrokerID(), watcher.BrokerName())
	q := client.Queue(unique("advisories"))
	adv := consumer(t, session(t, watcher, client.AutoAck), client.ConsumerAdvisoryTopic(q))

	app := dial(t, b, client.Options{})
	s := session(t, app, client.AutoAck)
	k := consumer(t, s, q, client.Network(), client.BrokerPath("ID:far", "ID:near"), client.ConsumerPriority(-64),
		client.Prefetch(5), client.Selector("hops < 3"))
	m := receive(t, adv)
	info, ok := m.ConsumerInfo()
	if !ok || !m.IsAdvisory() || m.Persistent {
		t.Fatalf("advisory: consumer info %v, type %q, persistent %v", ok, m.Type, m.Persistent)
	}
	want := client.ConsumerInfo{ConsumerID: info.ConsumerID, Destination: q, Selector: "hops < 3", Prefetch: 5,
		Priority: -64, NetworkSubscription: true, BrokerPath: []string{"ID:far", "ID:near"}, ClientID: info.ClientID}
	if !reflect.DeepEqual(info, want) {
		t.Fatalf("ConsumerInfo\n got %+v\nwant %+v", info, want)
	}
	if m.Property("consumerCount") != int32(1) || m.Property("originBrokerId") != watcher.BrokerID() {
		t.Fatalf("advisory properties %v", m.Properties())
	}

	// A message forwarded through two brokers keeps its path.
	fwd := client.NewTextMessage("forwarded")
	fwd.BrokerPath = []string{"ID:far", "ID:near"}
	fwd.SetProperty("hops", 2)
	send(t, producer(t, s, q), fwd)
	if got := receiveText(t, k, "forwarded"); !reflect.DeepEqual(got.BrokerPath, fwd.BrokerPath) {
		t.Fatalf("broker path %q, want %q", got.BrokerPath, fwd.BrokerPath)
	}

	closeConsumer(t, k)
	m = receive(t, adv)
	if gone, ok := m.RemoveInfo(); !ok || gone.ConsumerID != info.ConsumerID || m.Property("consumerCount") != int32(0) {
		t.Fatalf("removal: %+v %v (properties %v)", gone, ok, m.Properties())
	}
}
