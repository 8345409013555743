package broker

import (
	"math"
	"strings"
	"time"

	"github.com/piermq/pier/internal/message"
)

// Policy is what the broker does with one destination's messages that
// fail: how often they are redelivered, how long a rejected one waits
// before it is (ActiveMQ's redelivery plugin), and where dead letters go
// (ActiveMQ's shared and individual dead letter strategies).
type Policy struct {
	// MaxRedeliveries: see Config.MaxRedeliveries.
	MaxRedeliveries int
	// DLQ is the shared dead letter queue.
	DLQ string
	// RedeliveryDelay is how long a message a consumer rejected (a JMS
	// poison acknowledgement, a STOMP NACK) waits, in the scheduler, before
	// it is delivered again; 0 sends it to the dead letter queue at once.
	// Each further redelivery waits BackOffMultiplier times longer, up to
	// MaxRedeliveryDelay (0: no cap). Queues only: a topic subscriber's
	// rejected message goes to the dead letter queue at once.
	RedeliveryDelay    time.Duration
	BackOffMultiplier  float64
	MaxRedeliveryDelay time.Duration
	// IndividualDLQ gives each destination a dead letter queue of its own:
	// QueuePrefix or TopicPrefix and the destination's name.
	IndividualDLQ            bool
	QueuePrefix, TopicPrefix string
	// DropExpired drops expired messages; otherwise expired persistent
	// ones are dead-lettered (ActiveMQ's processExpired, on by default).
	DropExpired bool
	// FIFO dispatches in arrival order whatever the JMSPriority (ActiveMQ's
	// default); otherwise higher priorities go first (Pier's default,
	// ActiveMQ's prioritizedMessages).
	FIFO bool
	// QueuePrefetch and TopicPrefetch replace the window of a consumer
	// that asked for the default (ActiveMQ's queuePrefetch and
	// topicPrefetch: a JMS client that sets none sends 1000 for queues,
	// 32766 for topics); 0 keeps it.
	QueuePrefetch, TopicPrefetch int
	// MemoryLimit bounds the bodies a queue holds in memory (beside the
	// broker's limit); 0: only the broker's. Beyond it stored bodies stay
	// on disk and, with ProducerFlowControl, producers of non-persistent
	// messages to the queue wait (up to Config.BlockTimeout); without it
	// their sends fail at once (ActiveMQ's sendFailIfNoSpace). Queues only.
	MemoryLimit           int64
	NoProducerFlowControl bool
}

// DestinationPolicy applies a policy to the queues (Topic false) or topics
// a pattern matches.
type DestinationPolicy struct {
	Topic   bool
	Pattern string
	Policy  Policy
}

// DefaultQueuePrefix and DefaultTopicPrefix are ActiveMQ's names of
// individual dead letter queues.
const (
	DefaultQueuePrefix = "ActiveMQ.DLQ.Queue."
	DefaultTopicPrefix = "ActiveMQ.DLQ.Topic."
)

// defaultPolicy is the policy of destinations no entry matches.
func (b *Broker) defaultPolicy() *Policy {
	p := b.cfg.Default
	p.MaxRedeliveries, p.DLQ = b.cfg.MaxRedeliveries, b.cfg.DLQ
	fillPolicy(&p)
	return &p
}

func fillPolicy(p *Policy) {
	if p.BackOffMultiplier < 1 {
		p.BackOffMultiplier = 1
	}
	if p.QueuePrefix == "" {
		p.QueuePrefix = DefaultQueuePrefix
	}
	if p.TopicPrefix == "" {
		p.TopicPrefix = DefaultTopicPrefix
	}
}

// policyFor returns the policy of a destination: the first entry whose
// pattern matches it, or the default. Temporary destinations have the
// default.
func (b *Broker) policyFor(d message.Destination) *Policy {
	for i := range b.cfg.Destinations {
		e := &b.cfg.Destinations[i]
		if (d.Kind == message.Queue && !e.Topic || d.Kind == message.Topic && e.Topic) && message.Match(e.Pattern, d.Name) {
			p := e.Policy
			fillPolicy(&p)
			return &p
		}
	}
	return b.pol
}

// dlqFor names the dead letter queue of a message that was sent to orig.
func (p *Policy) dlqFor(orig message.Destination) string {
	if !p.IndividualDLQ || orig.Name == "" {
		return p.DLQ
	}
	if orig.Kind.IsTopic() {
		return p.TopicPrefix + orig.Name
	}
	return p.QueuePrefix + orig.Name
}

// isDLQ reports whether a queue is a dead letter queue of this policy.
func (p *Policy) isDLQ(name string) bool {
	return name == p.DLQ || p.IndividualDLQ && (strings.HasPrefix(name, p.QueuePrefix) || strings.HasPrefix(name, p.TopicPrefix))
}

// redeliveryDelay is how long a message rejected after n deliveries waits.
func (p *Policy) redeliveryDelay(n int32) time.Duration {
	d := float64(p.RedeliveryDelay) * math.Pow(p.BackOffMultiplier, float64(max(n, 1)-1))
	if p.MaxRedeliveryDelay > 0 && d > float64(p.MaxRedeliveryDelay) || d > float64(math.MaxInt64/2) {
		if p.MaxRedeliveryDelay > 0 {
			return p.MaxRedeliveryDelay
		}
		return time.Duration(math.MaxInt64 / 2)
	}
	return time.Duration(d)
}
