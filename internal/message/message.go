// Package message owns the one message model shared by the broker core, every
// protocol adapter and every store: destinations, JMS-style headers, typed
// properties and a body with its kind, plus the binary encoding stores use.
package message

import (
	"errors"
	"fmt"
	"strings"
)

// DestKind says what sort of destination a name refers to.
type DestKind uint8

// Destination kinds.
const (
	Queue DestKind = iota + 1
	Topic
	TempQueue
	TempTopic
)

func (k DestKind) String() string {
	switch k {
	case Queue:
		return "queue"
	case Topic:
		return "topic"
	case TempQueue:
		return "temp-queue"
	case TempTopic:
		return "temp-topic"
	}
	return fmt.Sprintf("DestKind(%d)", uint8(k))
}

// IsTopic reports whether messages sent to this kind fan out to every subscriber.
func (k DestKind) IsTopic() bool { return k == Topic || k == TempTopic }

// IsTemp reports whether the destination lives only as long as its creating connection.
func (k DestKind) IsTemp() bool { return k == TempQueue || k == TempTopic }

// Destination names a queue or topic. Names follow ActiveMQ: '.' separates
// parts, '*' matches one part and '>' matches the rest.
type Destination struct {
	Kind DestKind
	Name string
}

// ErrBadDestination reports a destination that cannot be parsed.
var ErrBadDestination = errors.New("bad destination")

// String renders the destination as kind://name, e.g. queue://orders.
func (d Destination) String() string {
	if d.Kind == 0 {
		return ""
	}
	return d.Kind.String() + "://" + d.Name
}

// IsZero reports whether the destination is unset.
func (d Destination) IsZero() bool { return d.Kind == 0 && d.Name == "" }

// IsWildcard reports whether the name contains a '*' or '>' part.
func (d Destination) IsWildcard() bool {
	for p := range strings.SplitSeq(d.Name, ".") {
		if p == "*" || p == ">" {
			return true
		}
	}
	return false
}

// ParseDestination accepts queue://x, topic://x, temp-queue://x, temp-topic://x.
func ParseDestination(s string) (Destination, error) {
	kind, name, ok := strings.Cut(s, "://")
	if !ok {
		return Destination{}, fmt.Errorf("%w: %q: want queue://NAME or topic://NAME", ErrBadDestination, s)
	}
	var k DestKind
	switch kind {
	case "queue":
		k = Queue
	case "topic":
		k = Topic
	case "temp-queue":
		k = TempQueue
	case "temp-topic":
		k = TempTopic
	default:
		return Destination{}, fmt.Errorf("%w: %q: unknown kind %q", ErrBadDestination, s, kind)
	}
	if err := ValidateName(name); err != nil {
		return Destination{}, err
	}
	return Destination{Kind: k, Name: name}, nil
}

// ValidateName checks a destination name: non-empty, at most 4096 bytes,
// and '>' only as the last part. Parts may be empty ("a..b", ".a"), as in
// ActiveMQ: MQTT topics such as "/sensors/t1" map to them.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrBadDestination)
	}
	if len(name) > 4096 {
		return fmt.Errorf("%w: name longer than 4096 bytes", ErrBadDestination)
	}
	last := false // the part before was '>'
	for p := range strings.SplitSeq(name, ".") {
		if last {
			return fmt.Errorf("%w: %q: '>' must be the last part", ErrBadDestination, name)
		}
		last = p == ">"
	}
	return nil
}

// Match reports whether the concrete name matches the pattern, which may use
// '*' (exactly one part) and '>' (one or more remaining parts).
func Match(pattern, name string) bool {
	if pattern == name {
		return true
	}
	pp := strings.Split(pattern, ".")
	np := strings.Split(name, ".")
	for i, p := range pp {
		if p == ">" {
			return len(np) > i
		}
		if i >= len(np) {
			return false
		}
		if p != "*" && p != np[i] {
			return false
		}
	}
	return len(pp) == len(np)
}

// BodyKind is the JMS message type of a body.
type BodyKind uint8

// Body kinds. Plain is a message without a body (javax.jms.Message).
const (
	Plain BodyKind = iota
	Text
	Bytes
	Map
	Object
	Stream
)

func (k BodyKind) String() string {
	switch k {
	case Plain:
		return "plain"
	case Text:
		return "text"
	case Bytes:
		return "bytes"
	case Map:
		return "map"
	case Object:
		return "object"
	case Stream:
		return "stream"
	}
	return fmt.Sprintf("BodyKind(%d)", uint8(k))
}

// Message is one message as the broker keeps it. Property values are one of:
// nil, bool, int8, int16, int32, int64, float32, float64, string, []byte,
// or uint16 (a Java char).
type Message struct {
	ID            string
	Dest          Destination
	ReplyTo       Destination
	CorrelationID string
	Type          string
	Priority      uint8 // 0–9, 4 by default
	Expiration    int64 // unix milliseconds; 0 never expires
	Timestamp     int64 // unix milliseconds
	Persistent    bool
	DeliveryCount int32 // deliveries before this one; > 0 means redelivered
	GroupID       string
	GroupSeq      int32
	ProducerID    string
	ProducerSeq   int64
	UserID        string
	OriginalDest  Destination // where a dead-lettered or forwarded message was first sent
	Properties    map[string]any
	BodyKind      BodyKind
	Body          []byte

	// BrokerPath lists the ids of the brokers a message forwarded by network
	// bridges crossed, in the order it crossed them (the nearest last), as
	// ActiveMQ's Message.brokerPath: a bridge does not forward a message
	// back to a broker on its path. Like Body it is never changed in place;
	// give a message a new slice to change it.
	BrokerPath []string
}

// DefaultPriority is the JMS default priority.
const DefaultPriority = 4

// Redelivered reports whether the message was delivered before.
func (m *Message) Redelivered() bool { return m.DeliveryCount > 0 }

// Expired reports whether the message's expiration is past at now (unix ms).
func (m *Message) Expired(nowMillis int64) bool {
	return m.Expiration > 0 && nowMillis >= m.Expiration
}

// Clone returns a copy that shares the body bytes and the broker path
// (neither is ever mutated) but has its own property map.
func (m *Message) Clone() *Message {
	c := *m
	if m.Properties != nil {
		c.Properties = make(map[string]any, len(m.Properties))
		for k, v := range m.Properties {
			c.Properties[k] = v
		}
	}
	return &c
}

// Size estimates the memory the message occupies, for memory limits.
func (m *Message) Size() int {
	n := 160 + len(m.ID) + len(m.Dest.Name) + len(m.ReplyTo.Name) + len(m.CorrelationID) +
		len(m.Type) + len(m.GroupID) + len(m.ProducerID) + len(m.UserID) + len(m.Body)
	for _, id := range m.BrokerPath {
		n += 16 + len(id)
	}
	for k, v := range m.Properties {
		n += 32 + len(k)
		switch x := v.(type) {
		case string:
			n += len(x)
		case []byte:
			n += len(x)
		}
	}
	return n
}
