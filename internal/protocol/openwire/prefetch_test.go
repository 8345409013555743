package openwire

import (
	"testing"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// TestConsumerControlSetsPrefetch: a consumer restored by a failover client
// with prefetch 0 gets messages once its ConsumerControl gives the real
// prefetch (ActiveMQ's ConnectionStateTracker does exactly this).
func TestConsumerControlSetsPrefetch(t *testing.T) {
	r := newRig(t)
	c := r.dial()
	conn := &wire.ConnectionID{Value: "ID:restored"}
	c.ok(&wire.ConnectionInfo{ConnectionID: conn})
	prod := &wire.ProducerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
	q := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "restored"}
	for i := int64(1); i <= 3; i++ {
		c.ok(&wire.Message{Type: wire.TypeTextMessage, ProducerID: prod, Destination: q, Persistent: true, Priority: 4,
			MessageID: &wire.MessageID{ProducerID: prod, ProducerSequenceID: i}, Content: wire.EncodeText("m")})
	}
	cons := &wire.ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
	c.ok(&wire.ConsumerInfo{ConsumerID: cons, Destination: q, PrefetchSize: 0})
	c.write(&wire.ConsumerControl{ConsumerID: cons, Destination: q, Prefetch: 2})
	for i := 0; i < 2; i++ {
		if md, ok := c.read().(*wire.MessageDispatch); !ok || md.Message == nil {
			t.Fatalf("dispatch %d after ConsumerControl: %#v", i, md)
		}
	}
	// The window is 2: the third message waits for an acknowledgement.
	c.write(&wire.ConsumerControl{ConsumerID: cons, Destination: q, Prefetch: 3})
	if md, ok := c.read().(*wire.MessageDispatch); !ok || md.Message == nil {
		t.Fatalf("dispatch after widening the window: %#v", md)
	}
}
