package mqtt

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// Topic names map to ActiveMQ's as ActiveMQ's MQTT transport maps them:
// the level separator '/' and ActiveMQ's part separator '.' trade places,
// and the wildcards '+' and '#' become '*' and '>'. So MQTT's
// "home/kitchen/temp" is the topic JMS and STOMP clients know as
// "home.kitchen.temp", and "home/+/temp" subscribes to "home.*.temp".

// The two mappings; a Replacer replaces each character once, so '/' and
// '.' trade places. Only filters have wildcards: a message's topic never
// does (the broker refuses a send to a wildcard), so fromName, which maps
// the topics of messages, leaves '*' and '>' alone — MQTT's "a*b" is a
// plain name both ways.
var (
	toNames   = strings.NewReplacer("/", ".", ".", "/", "+", "*", "#", ">")
	fromNames = strings.NewReplacer(".", "/", "/", ".")
)

// toName maps an MQTT topic name or filter to a destination name.
func toName(topic string) string { return toNames.Replace(topic) }

// fromName maps the destination name of a message back to an MQTT topic
// name.
func fromName(name string) string { return fromNames.Replace(name) }

// Properties a message carries for MQTT.
const (
	// propQoS is the QoS a message was published with (int8), as
	// ActiveMQ's MQTT transport names it.
	propQoS = "ActiveMQ.MQTT.QoS"
	// propContentType is MQTT 5's Content Type.
	propContentType = "ContentType"
)

// toMessage makes the broker's message of an inbound PUBLISH (whose topic
// is resolved already).
func toMessage(p *packet.Publish, topic string, now time.Time) (*message.Message, error) {
	name := toName(topic)
	if err := message.ValidateName(name); err != nil {
		return nil, err
	}
	m := &message.Message{
		Dest:       message.Destination{Kind: message.Topic, Name: name},
		Persistent: p.QoS > 0,
		Priority:   4,
		Body:       p.Payload,
		BodyKind:   message.Bytes,
		Timestamp:  now.UnixMilli(),
		Properties: map[string]any{propQoS: int8(p.QoS)},
	}
	pr := &p.Properties
	if pr.PayloadFormat == 1 {
		m.BodyKind = message.Text
	}
	if p.Retain {
		m.Properties[broker.PropRetain] = true
	}
	if pr.MessageExpiry != nil {
		m.Expiration = now.Add(time.Duration(*pr.MessageExpiry) * time.Second).UnixMilli()
	}
	if pr.ContentType != "" {
		m.Properties[propContentType] = pr.ContentType
	}
	if pr.ResponseTopic != "" {
		m.ReplyTo = message.Destination{Kind: message.Topic, Name: toName(pr.ResponseTopic)}
	}
	if pr.CorrelationData != nil {
		m.CorrelationID = string(pr.CorrelationData)
	}
	for _, u := range pr.User {
		if internalProp(u.Key) {
			continue // a client cannot set the broker's own properties
		}
		m.Properties[u.Key] = u.Value
	}
	return m, nil
}

// willMessage makes the broker's message of a will, published as its
// client would have.
func willMessage(w *packet.Will) (*message.Message, error) {
	p := &packet.Publish{QoS: w.QoS, Retain: w.Retain, Topic: w.Topic, Payload: w.Payload, Properties: w.Properties}
	return toMessage(p, w.Topic, time.Now())
}

// internalProp reports properties that are the broker's, not user
// properties.
func internalProp(k string) bool {
	return strings.HasPrefix(k, "ActiveMQ.") || strings.HasPrefix(k, "JMS") || strings.HasPrefix(k, "AMQ_SCHEDULED_") ||
		k == broker.PropScheduledJobID || k == propContentType
}

// qosOf is the QoS a message was published with: its MQTT QoS, or for a
// message from another protocol 2 if persistent (the subscription's QoS
// then decides) and 0 if not.
func qosOf(m *message.Message) byte {
	switch v := m.Properties[propQoS].(type) {
	case int8:
		if v >= 0 && v <= 2 {
			return byte(v)
		}
	case int32:
		if v >= 0 && v <= 2 {
			return byte(v)
		}
	}
	if m.Persistent {
		return 2
	}
	return 0
}

// toPublish makes the PUBLISH of an outbound message; the caller sets the
// packet id, QoS, DUP and RETAIN.
func toPublish(m *message.Message, version byte, now int64) *packet.Publish {
	p := &packet.Publish{Topic: fromName(m.Dest.Name), Payload: m.Body}
	if version != packet.Version5 {
		return p
	}
	pr := &p.Properties
	if m.BodyKind == message.Text {
		pr.PayloadFormat = 1
	}
	if m.Expiration > 0 {
		left := (m.Expiration - now + 999) / 1000
		if left < 1 {
			left = 1
		}
		e := uint32(min(left, int64(^uint32(0))))
		pr.MessageExpiry = &e
	}
	if m.ReplyTo.Kind == message.Topic {
		pr.ResponseTopic = fromName(m.ReplyTo.Name)
	}
	if m.CorrelationID != "" {
		pr.CorrelationData = []byte(m.CorrelationID)
	}
	for k, v := range m.Properties {
		if k == propContentType {
			if s, ok := v.(string); ok {
				pr.ContentType = s
			}
			continue
		}
		if internalProp(k) || v == nil {
			continue
		}
		pr.User = append(pr.User, packet.UserProperty{Key: k, Value: propString(v)})
	}
	return p
}

// propString writes a property value as MQTT user properties carry it.
func propString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case uint16:
		return string(rune(x)) // a Java char
	}
	return fmt.Sprint(v)
}
