package client

import (
	"fmt"
	"math"
	"strings"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// AdvisoryType is the JMSType (Message.Type) of every advisory.
const AdvisoryType = "Advisory"

// ConsumerAdvisoryTopic returns the topic on which the broker announces
// the consumers of d, as ActiveMQ's AdvisorySupport.getConsumerAdvisoryTopic:
// ActiveMQ.Advisory.Consumer.Queue.NAME for a queue or temporary queue,
// ActiveMQ.Advisory.Consumer.Topic.NAME for a topic or temporary topic,
// with the commas of a composite name written "&sbquo;". d's name may be a
// wildcard (Queue(">") gives the advisories of every queue).
func ConsumerAdvisoryTopic(d *Destination) *Destination {
	prefix := "ActiveMQ.Advisory.Consumer.Queue."
	if d.IsTopic() {
		prefix = "ActiveMQ.Advisory.Consumer.Topic."
	}
	return Topic(prefix + strings.ReplaceAll(d.Name(), ",", "&sbquo;"))
}

// ConsumerID identifies a consumer: its connection's id, its session and
// its number in the connection (ActiveMQ's ConsumerId). A consumer of
// another protocol (STOMP, ...) has session -1, as in ActiveMQ.
type ConsumerID struct {
	ConnectionID string
	SessionID    int64
	Value        int64
}

// String returns "connectionId:sessionId:value", as ConsumerId.toString().
func (id ConsumerID) String() string {
	return fmt.Sprintf("%s:%d:%d", id.ConnectionID, id.SessionID, id.Value)
}

func consumerIDFromWire(id *wire.ConsumerID) ConsumerID {
	if id == nil {
		return ConsumerID{}
	}
	return ConsumerID{ConnectionID: id.ConnectionID, SessionID: id.SessionID, Value: id.Value}
}

// ConsumerInfo describes a consumer, as a consumer advisory announces it
// (ActiveMQ's ConsumerInfo).
type ConsumerInfo struct {
	ConsumerID       ConsumerID
	Destination      *Destination
	ClientID         string // the client id of its connection ("" from ActiveMQ unless its client sent one)
	Selector         string
	SubscriptionName string // a durable subscription's name
	NoLocal          bool
	Browser          bool
	Prefetch         int
	// Priority is the consumer priority (-128 to 127): a broker serves the
	// consumers of a queue with the highest priority first; network
	// bridges subscribe below every local consumer.
	Priority int
	// NetworkSubscription marks a network bridge's subscription, and
	// BrokerPath lists the ids of the brokers its demand came through, the
	// nearest last: a bridge ignores a consumer whose path holds its own
	// broker (a loop).
	NetworkSubscription bool
	BrokerPath          []string
}

// RemoveInfo announces that a consumer was removed.
type RemoveInfo struct {
	ConsumerID ConsumerID
}

// RemoveSubscriptionInfo announces that a durable subscription was deleted.
type RemoveSubscriptionInfo struct {
	ConnectionID     string // the connection that deleted it
	ClientID         string
	SubscriptionName string
}

// IsAdvisory reports whether m is an advisory (its Type is AdvisoryType).
func (m *Message) IsAdvisory() bool { return m.Type == AdvisoryType }

// ConsumerInfo returns the consumer that an advisory announces added; ok
// is false for any other message.
func (m *Message) ConsumerInfo() (info ConsumerInfo, ok bool) {
	w, ok := m.data.(*wire.ConsumerInfo)
	if !ok {
		return ConsumerInfo{}, false
	}
	info = ConsumerInfo{
		ConsumerID: consumerIDFromWire(w.ConsumerID), Destination: destFromWire(w.Destination),
		ClientID: w.ClientID, Selector: w.Selector, SubscriptionName: w.SubscriptionName, NoLocal: w.NoLocal,
		Browser: w.Browser, Prefetch: int(w.PrefetchSize), Priority: int(int8(w.Priority)),
		NetworkSubscription: w.NetworkSubscription, BrokerPath: brokerPathFromWire(w.BrokerPath),
	}
	return info, true
}

// RemoveInfo returns the consumer that an advisory announces removed; ok
// is false for any other message (a connection advisory's RemoveInfo,
// which names a connection, included).
func (m *Message) RemoveInfo() (info RemoveInfo, ok bool) {
	w, ok := m.data.(*wire.RemoveInfo)
	if !ok {
		return RemoveInfo{}, false
	}
	id, ok := w.ObjectID.(*wire.ConsumerID)
	if !ok {
		return RemoveInfo{}, false
	}
	return RemoveInfo{ConsumerID: consumerIDFromWire(id)}, true
}

// RemoveSubscriptionInfo returns the durable subscription that an advisory
// announces deleted; ok is false for any other message.
func (m *Message) RemoveSubscriptionInfo() (info RemoveSubscriptionInfo, ok bool) {
	w, ok := m.data.(*wire.RemoveSubscriptionInfo)
	if !ok {
		return RemoveSubscriptionInfo{}, false
	}
	info = RemoveSubscriptionInfo{ClientID: w.ClientID, SubscriptionName: w.SubscriptionName}
	if w.ConnectionID != nil {
		info.ConnectionID = w.ConnectionID.Value
	}
	return info, true
}

func brokerPathFromWire(path []*wire.BrokerID) []string {
	var out []string
	for _, id := range path {
		if id != nil {
			out = append(out, id.Value)
		}
	}
	return out
}

func brokerPathToWire(path []string) []*wire.BrokerID {
	var out []*wire.BrokerID
	for _, id := range path {
		out = append(out, &wire.BrokerID{Value: id})
	}
	return out
}

// Network marks the consumer as a network bridge's subscription (ActiveMQ's
// ConsumerInfo.networkSubscription): the broker announces it so in its
// consumer advisories.
func Network() ConsumerOption { return func(o *consumerOptions) { o.network = true } }

// BrokerPath sets the ids of the brokers the consumer's demand came
// through, the nearest last (ActiveMQ's ConsumerInfo.brokerPath); the
// broker announces them in its consumer advisories.
func BrokerPath(ids ...string) ConsumerOption {
	return func(o *consumerOptions) { o.brokerPath = append([]string(nil), ids...) }
}

// ConsumerPriority sets the consumer priority, -128 to 127 (default 0): a
// broker serves the consumers of a queue with the highest priority first
// (Pier always; ActiveMQ as its dispatch policy allows).
func ConsumerPriority(p int) ConsumerOption {
	return func(o *consumerOptions) { o.priority = p }
}

// checkPriority refuses a priority that does not fit ConsumerInfo's byte.
func checkPriority(p int) error {
	if p < math.MinInt8 || p > math.MaxInt8 {
		return fmt.Errorf("client: consumer priority %d is outside -128..127", p)
	}
	return nil
}
