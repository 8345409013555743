package client

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// BodyKind says which JMS message type a Message is.
type BodyKind int

const (
	// NoBody is a plain JMS Message.
	NoBody BodyKind = iota
	// TextBody is a TextMessage: a string.
	TextBody
	// BytesBody is a BytesMessage: raw bytes.
	BytesBody
	// MapBody is a MapMessage: names to primitive values.
	MapBody
	// StreamBody is a StreamMessage: a sequence of primitive values.
	StreamBody
	// ObjectBody is an ObjectMessage: Java-serialized bytes, kept opaque.
	ObjectBody
)

// DefaultPriority is JMS's default message priority.
const DefaultPriority = 4

// Message is a JMS message: headers, typed properties and a body. Create
// one with NewMessage, NewTextMessage, ...; they set JMS's defaults
// (persistent, priority 4). Send fills in ID, Destination and Timestamp
// (and Expiration from the TTL option), as JMS does on the sent message.
//
// Property values have the Go types bool, int8 (Java byte), int16, int32,
// int64, float32, float64, string, []byte and uint16 (Java char).
type Message struct {
	ID            string       // JMSMessageID
	Destination   *Destination // JMSDestination
	ReplyTo       *Destination // JMSReplyTo
	CorrelationID string       // JMSCorrelationID
	Type          string       // JMSType
	Priority      int          // JMSPriority, 0–9
	Expiration    time.Time    // JMSExpiration; zero: never
	Timestamp     time.Time    // JMSTimestamp
	Persistent    bool         // JMSDeliveryMode PERSISTENT
	Redelivered   bool         // JMSRedelivered
	DeliveryCount int          // JMSXDeliveryCount: 1 on the first delivery
	GroupID       string       // JMSXGroupID
	GroupSeq      int          // JMSXGroupSeq
	// BrokerPath lists the ids of the brokers the message crossed through
	// network bridges, the nearest last (ActiveMQ's Message.brokerPath). A
	// bridge sets it on the messages it forwards (its broker appended), and
	// does not forward a message to a broker on its path.
	BrokerPath []string

	kind  BodyKind
	body  any // string (with textNull), []byte, map[string]any, []any
	null  bool
	props map[string]any

	// Set on received messages.
	cons *Consumer
	md   *wire.MessageDispatch
	data wire.DataStructure // an advisory's subject (see ConsumerInfo)
}

func newMessage(kind BodyKind, body any) *Message {
	return &Message{Persistent: true, Priority: DefaultPriority, kind: kind, body: body}
}

// NewMessage returns a message without a body.
func NewMessage() *Message { return newMessage(NoBody, nil) }

// NewTextMessage returns a text message.
func NewTextMessage(text string) *Message { return newMessage(TextBody, text) }

// NewBytesMessage returns a bytes message; b is not copied.
func NewBytesMessage(b []byte) *Message { return newMessage(BytesBody, b) }

// NewMapMessage returns a map message. Values must have a property type,
// or be nested map[string]any / []any (an ActiveMQ extension).
func NewMapMessage(m map[string]any) *Message { return newMessage(MapBody, m) }

// NewStreamMessage returns a stream message of the given values.
func NewStreamMessage(values []any) *Message { return newMessage(StreamBody, values) }

// NewObjectMessage returns an object message carrying Java-serialized
// bytes, which this client does not interpret.
func NewObjectMessage(serialized []byte) *Message { return newMessage(ObjectBody, serialized) }

// Kind returns the message type.
func (m *Message) Kind() BodyKind { return m.kind }

// Text returns the body of a text message; ok is false for other kinds
// and for a null text.
func (m *Message) Text() (text string, ok bool) {
	s, ok := m.body.(string)
	return s, ok && m.kind == TextBody && !m.null
}

// Bytes returns the body of a bytes message (nil for other kinds).
func (m *Message) Bytes() []byte {
	if m.kind != BytesBody {
		return nil
	}
	b, _ := m.body.([]byte)
	return b
}

// Map returns the body of a map message (nil for other kinds).
func (m *Message) Map() map[string]any {
	if m.kind != MapBody {
		return nil
	}
	v, _ := m.body.(map[string]any)
	return v
}

// Stream returns the values of a stream message (nil for other kinds).
func (m *Message) Stream() []any {
	if m.kind != StreamBody {
		return nil
	}
	v, _ := m.body.([]any)
	return v
}

// Object returns the serialized bytes of an object message (nil for
// other kinds).
func (m *Message) Object() []byte {
	if m.kind != ObjectBody {
		return nil
	}
	b, _ := m.body.([]byte)
	return b
}

// SetTTL sets Expiration to now + ttl; 0 clears it.
func (m *Message) SetTTL(ttl time.Duration) {
	m.Expiration = time.Time{}
	if ttl > 0 {
		m.Expiration = time.Now().Add(ttl)
	}
}

// Ack acknowledges a received message. In ClientAck mode it acknowledges
// every message its session has delivered so far (as JMS); in
// IndividualAck mode this message only. In the other modes it does
// nothing, as in JMS.
func (m *Message) Ack(ctx context.Context) error {
	if m.cons == nil {
		return fmt.Errorf("client: ack: %w: message was not received", ErrWrongMode)
	}
	return m.cons.sess.ack(ctx, m)
}

// SetProperty sets a property; the value must have one of the property
// types (see Message), or be an int (stored as int32 when it fits, else
// int64). A nil value removes the property.
func (m *Message) SetProperty(name string, value any) error {
	if name == "" {
		return fmt.Errorf("%w: empty property name", ErrPropertyType)
	}
	if value == nil {
		delete(m.props, name)
		return nil
	}
	switch value.(type) {
	case bool, int8, int16, int32, int64, float32, float64, string, []byte, uint16:
	case int: // Go's default integer: an int32 if it fits, else an int64
		if v := value.(int); v == int(int32(v)) {
			value = int32(v)
		} else {
			value = int64(v)
		}
	default:
		return fmt.Errorf("%w: property %q has Go type %T", ErrPropertyType, name, value)
	}
	if m.props == nil {
		m.props = map[string]any{}
	}
	m.props[name] = value
	return nil
}

// Property returns a property's value as stored, nil if it is not set.
func (m *Message) Property(name string) any { return m.props[name] }

// PropertyNames returns the names of the properties, sorted.
func (m *Message) PropertyNames() []string { return slices.Sorted(maps.Keys(m.props)) }

// Properties returns a copy of the properties.
func (m *Message) Properties() map[string]any { return maps.Clone(m.props) }
