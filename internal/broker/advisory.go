package broker

import (
	"errors"
	"fmt"
	"strings"

	"github.com/piermq/pier/internal/message"
)

// Consumer advisories, as ActiveMQ's AdvisoryBroker publishes them: when a
// consumer of a queue or topic is added or removed, a non-persistent
// message of type "Advisory" goes to the topic
// ActiveMQ.Advisory.Consumer.Queue.<name> or ActiveMQ.Advisory.Consumer.Topic.<name>
// (temporary queues and topics count as queues and topics), and a new
// subscriber of such a topic is first told about every consumer that
// exists. Consumers of advisory topics are never announced. A network
// bridge learns from them where the consumers of the broker it links to
// are. The machinery is in advisory_registry.go.
const (
	// AdvisoryPrefix starts the name of every advisory topic.
	AdvisoryPrefix = "ActiveMQ.Advisory."
	// AdvisoryConsumerPrefix starts the names of the consumer advisory topics.
	AdvisoryConsumerPrefix = AdvisoryPrefix + "Consumer."
	// AdvisoryConsumerQueuePrefix and AdvisoryConsumerTopicPrefix start the
	// consumer advisory topics of queues and of topics.
	AdvisoryConsumerQueuePrefix = AdvisoryConsumerPrefix + "Queue."
	AdvisoryConsumerTopicPrefix = AdvisoryConsumerPrefix + "Topic."
	// AdvisoryType is the JMSType of every advisory.
	AdvisoryType = "Advisory"
)

// Properties of a consumer advisory that ActiveMQ sets too.
const (
	// PropConsumerCount is the number of consumers of the destination after
	// the change (int32).
	PropConsumerCount = "consumerCount"
	// PropOriginBrokerName and PropOriginBrokerID name the broker that
	// published the advisory (strings).
	PropOriginBrokerName = "originBrokerName"
	PropOriginBrokerID   = "originBrokerId"
)

// Pier's properties of a consumer advisory; read them with
// ConsumerAdvisoryOf. Besides these it carries PropAdvisoryOp and
// PropAdvisoryDest.
const (
	propConsumerID   = "pier.consumerId"
	propConsumerSeq  = "pier.consumerSeq"
	propConnectionID = "pier.connectionId"
	propClientID     = "pier.clientId"
	propSelector     = "pier.selector"
	propDurableName  = "pier.subscriptionName"
	propNoLocal      = "pier.noLocal"
	propPrefetch     = "pier.prefetch"
	propPriority     = "pier.priority"
	propNetwork      = "pier.network"
	propBrokerPath   = "pier.brokerPath" // ids joined by ','
)

// AdvisoryOp says what a consumer advisory announces.
type AdvisoryOp string

// Consumer advisory operations. An unsubscribe advisory announces a durable
// subscription deleted (ActiveMQ's RemoveSubscriptionInfo); its consumer
// had been announced removed when it closed.
const (
	AdvisoryAdd         AdvisoryOp = "add"
	AdvisoryRemove      AdvisoryOp = "remove"
	AdvisoryUnsubscribe AdvisoryOp = "unsubscribe"
)

// ConsumerAdvisory is what a consumer advisory says about one consumer.
type ConsumerAdvisory struct {
	Op AdvisoryOp
	// Dest is what the consumer consumes (for an unsubscribe, the durable
	// subscription's topic).
	Dest message.Destination
	// ConsumerID is the consumer's SubOptions.ID, unique within its
	// connection (empty for an unsubscribe).
	ConsumerID string
	// ConsumerSeq numbers the consumers of the broker in the order they were
	// announced, from 1 (0 for an unsubscribe).
	ConsumerSeq int64
	// ConnectionID is Conn.ID() of the consumer's connection (for an
	// unsubscribe, of the connection that deleted the subscription);
	// ClientID is its client id.
	ConnectionID string
	ClientID     string
	Selector     string
	DurableName  string
	NoLocal      bool
	Prefetch     int // the current window; 0 for a consumer that pulls
	Priority     int
	Network      bool
	BrokerPath   []string
	// ConsumerCount is the number of consumers of Dest after the change.
	ConsumerCount int
}

// ErrBrokerPath reports a broker path the core cannot carry.
var ErrBrokerPath = errors.New("broker: invalid broker path")

// checkBrokerPath refuses broker ids that are empty or hold a ',' (the
// separator of propBrokerPath).
func checkBrokerPath(path []string) error {
	for _, id := range path {
		if id == "" || strings.IndexByte(id, ',') >= 0 {
			return fmt.Errorf("%w: broker id %q: want a non-empty id without ','", ErrBrokerPath, id)
		}
	}
	return nil
}

// ConsumerAdvisoryTopic returns the name of the topic on which consumers of
// d are announced: ActiveMQ's AdvisorySupport.getConsumerAdvisoryTopic,
// which writes the commas of a composite name as "&sbquo;".
func ConsumerAdvisoryTopic(d message.Destination) string {
	prefix := AdvisoryConsumerTopicPrefix
	if !d.Kind.IsTopic() {
		prefix = AdvisoryConsumerQueuePrefix
	}
	return prefix + strings.ReplaceAll(d.Name, ",", "&sbquo;")
}

// IsAdvisory reports whether d is an advisory topic (or a composite with
// one), as AdvisorySupport.isAdvisoryTopic: consumers of those are not
// announced.
func IsAdvisory(d message.Destination) bool {
	if !d.Kind.IsTopic() {
		return false
	}
	for rest := d.Name; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		if i := strings.Index(part, "://"); i >= 0 { // a composite part with its kind
			part = part[i+len("://"):]
		}
		if strings.HasPrefix(strings.TrimSpace(part), AdvisoryPrefix) {
			return true
		}
	}
	return false
}

// ConsumerAdvisoryOf reads a consumer advisory; ok is false for any other
// message (one that is not of type "Advisory" on a consumer advisory topic
// included).
func ConsumerAdvisoryOf(m *message.Message) (a ConsumerAdvisory, ok bool) {
	p := m.Properties
	conn, ok := p[propConnectionID].(string)
	if !ok || m.Type != AdvisoryType || m.Dest.Kind != message.Topic || !strings.HasPrefix(m.Dest.Name, AdvisoryConsumerPrefix) {
		return ConsumerAdvisory{}, false
	}
	op, _ := p[PropAdvisoryOp].(string)
	dest, _ := p[PropAdvisoryDest].(string)
	d, err := message.ParseDestination(dest)
	if err != nil {
		return ConsumerAdvisory{}, false
	}
	a = ConsumerAdvisory{Op: AdvisoryOp(op), Dest: d, ConnectionID: conn}
	a.ConsumerID, _ = p[propConsumerID].(string)
	a.ConsumerSeq, _ = p[propConsumerSeq].(int64)
	a.ClientID, _ = p[propClientID].(string)
	a.Selector, _ = p[propSelector].(string)
	a.DurableName, _ = p[propDurableName].(string)
	a.NoLocal, _ = p[propNoLocal].(bool)
	a.Network, _ = p[propNetwork].(bool)
	prefetch, _ := p[propPrefetch].(int32)
	priority, _ := p[propPriority].(int32)
	count, _ := p[PropConsumerCount].(int32)
	a.Prefetch, a.Priority, a.ConsumerCount = int(prefetch), int(priority), int(count)
	if path, _ := p[propBrokerPath].(string); path != "" {
		a.BrokerPath = strings.Split(path, ",")
	}
	return a, true
}

// properties encodes a for its advisory message.
func (a *ConsumerAdvisory) properties() map[string]any {
	p := make(map[string]any, 16)
	p[PropAdvisoryOp] = string(a.Op)
	p[PropAdvisoryDest] = a.Dest.String()
	p[PropConsumerCount] = int32(a.ConsumerCount)
	p[propConnectionID] = a.ConnectionID
	p[propConsumerSeq] = a.ConsumerSeq
	p[propPrefetch] = int32(a.Prefetch)
	p[propPriority] = int32(a.Priority)
	for k, v := range map[string]string{propConsumerID: a.ConsumerID, propClientID: a.ClientID,
		propSelector: a.Selector, propDurableName: a.DurableName, propBrokerPath: strings.Join(a.BrokerPath, ",")} {
		if v != "" {
			p[k] = v
		}
	}
	if a.NoLocal {
		p[propNoLocal] = true
	}
	if a.Network {
		p[propNetwork] = true
	}
	return p
}

// mayHearConsumerAdvisories reports whether a topic subscription to pattern
// (composite or not) could receive a consumer advisory: whether it matches
// some name ActiveMQ.Advisory.Consumer.{Queue|Topic}.X. It allocates
// nothing: it runs for every new topic subscription.
func mayHearConsumerAdvisories(pattern string) bool {
	for rest := pattern; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		if patternMayHear(strings.TrimSpace(part)) {
			return true
		}
	}
	return false
}

// consumerAdvisoryParts are the parts every consumer advisory topic starts
// with; a fifth part (or more) follows them.
var consumerAdvisoryParts = [...]string{"ActiveMQ", "Advisory", "Consumer", ""}

func patternMayHear(p string) bool {
	for i := 0; ; i++ {
		part, rest, more := strings.Cut(p, ".")
		switch {
		case part == ">":
			return true // matches one part or more, and at least one is left
		case i == len(consumerAdvisoryParts):
			return true // the name's own parts are free
		case part == "*":
		case i == 3:
			if part != "Queue" && part != "Topic" {
				return false
			}
		case part != consumerAdvisoryParts[i]:
			return false
		}
		if !more {
			return false // the name has more parts than the pattern
		}
		p = rest
	}
}

// replaysConsumers reports whether a new subscriber of pattern is told of
// the existing consumers: as AdvisorySupport.isConsumerAdvisoryTopic, when
// one of its names starts with the consumer advisory prefix (a subscriber
// of ActiveMQ.Advisory.> or > hears new advisories only).
func replaysConsumers(s *Subscription) bool {
	if s.dest.Kind != message.Topic {
		return false
	}
	for _, p := range s.patterns {
		if strings.HasPrefix(p, AdvisoryConsumerPrefix) {
			return true
		}
	}
	return false
}
