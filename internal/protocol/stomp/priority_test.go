package stomp

import (
	"strings"
	"testing"

	"github.com/piermq/pier/internal/broker"
)

// TestConsumerPriorityHeader: ActiveMQ's activemq.priority SUBSCRIBE header
// makes the consumer's priority; a queue serves the higher one first.
func TestConsumerPriorityHeader(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.connect("1.2")
	c.send(NewFrame(CmdSubscribe, "destination", "/queue/p", "id", "bridge", "activemq.priority", "-5", "receipt", "r1"))
	c.expect(CmdReceipt, "receipt-id", "r1")
	c.send(NewFrame(CmdSubscribe, "destination", "/queue/p", "id", "plain", "receipt", "r2"))
	c.expect(CmdReceipt, "receipt-id", "r2")
	c.send(NewFrame(CmdSubscribe, "destination", "/queue/p", "id", "high", "activemq.priority", "10", "receipt", "r3"))
	c.expect(CmdReceipt, "receipt-id", "r3")
	p := r.connect("1.2")
	for i := 0; i < 3; i++ {
		p.send(NewFrame(CmdSend, "destination", "/queue/p"))
	}
	for i := 0; i < 3; i++ {
		c.expect(CmdMessage, "subscription", "high")
	}

	for _, bad := range []string{"128", "-129", "high", "1.5"} {
		c.send(NewFrame(CmdSubscribe, "destination", "/queue/p", "id", "bad-"+bad, "activemq.priority", bad))
		if f := c.expect(CmdError); !strings.Contains(f.Get("message"), "activemq.priority") {
			t.Fatalf("priority %q: %v", bad, f.Headers)
		}
	}
}
