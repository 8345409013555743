package broker

import (
	"strings"

	"github.com/piermq/pier/internal/message"
)

// Virtual topics, as ActiveMQ has them by default: a message published to a
// topic VirtualTopic.<name> also goes to every queue
// Consumer.<consumer>.VirtualTopic.<name> that exists, so each consumer
// group reads the topic as a queue of its own (load-balanced within the
// group, durable while nobody consumes). A consumer queue exists once a
// consumer or producer used it, and across restarts and failovers (it is
// recorded in the store, see records.go) until it is deleted.

// VirtualTopicPrefix starts the names of virtual topics.
const VirtualTopicPrefix = "VirtualTopic."

// virtualTopicOf returns the virtual topic a consumer queue reads, if the
// queue name is Consumer.<consumer>.VirtualTopic.<...>.
func virtualTopicOf(queue string) (string, bool) {
	rest, ok := strings.CutPrefix(queue, "Consumer.")
	if !ok {
		return "", false
	}
	_, topic, ok := strings.Cut(rest, ".")
	if !ok || !strings.HasPrefix(topic, VirtualTopicPrefix) || len(topic) == len(VirtualTopicPrefix) ||
		strings.ContainsAny(topic, "*>") {
		return "", false
	}
	return topic, true
}

// registerVirtualLocked records a new queue that reads a virtual topic.
// Called with b.mu held.
func (b *Broker) registerVirtualLocked(q *queue) {
	topic, ok := virtualTopicOf(q.dest.Name)
	if !ok {
		return
	}
	if b.mu.virtual == nil {
		b.mu.virtual = map[string][]*queue{}
	}
	b.mu.virtual[topic] = append(b.mu.virtual[topic], q)
	b.records.put(virtualRecord(q.dest.Name)) // it exists after a restart too, empty or not
}

// virtualQueuesLocked returns the consumer queues of a virtual topic.
// Called with b.mu held (read).
func (b *Broker) virtualQueuesLocked(topic string) []*queue {
	if !strings.HasPrefix(topic, VirtualTopicPrefix) {
		return nil
	}
	return b.mu.virtual[topic]
}

// virtualCopy is a virtual topic's message as its consumer queue q holds it:
// addressed to the queue, the topic its original destination (ActiveMQ's
// setOriginalDestination, on by default).
func virtualCopy(m *message.Message, q message.Destination) *message.Message {
	c := *m
	c.Dest, c.OriginalDest = q, m.Dest
	return &c
}
