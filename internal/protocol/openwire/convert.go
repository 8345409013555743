package openwire

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// destToCore maps an ActiveMQ destination to the core's. "?options" after
// the name are ignored; composite names pass through.
func destToCore(d *wire.Destination) (message.Destination, error) {
	if d == nil {
		return message.Destination{}, fmt.Errorf("%w: no destination", message.ErrBadDestination)
	}
	name, _, _ := strings.Cut(d.PhysicalName, "?")
	var k message.DestKind
	for _, dk := range destKinds {
		if dk.typ == d.DataType() {
			k = dk.kind
		}
	}
	if k == 0 {
		return message.Destination{}, fmt.Errorf("%w: type %d", message.ErrBadDestination, d.DataType())
	}
	if err := message.ValidateName(name); err != nil {
		return message.Destination{}, err
	}
	return message.Destination{Kind: k, Name: name}, nil
}

func destToWire(d message.Destination) *wire.Destination {
	if d.IsZero() {
		return nil
	}
	var t byte
	for _, dk := range destKinds {
		if dk.kind == d.Kind {
			t = dk.typ
		}
	}
	return &wire.Destination{Type: t, PhysicalName: d.Name}
}

// destKinds pairs the core's kinds of destination with ActiveMQ's types.
var destKinds = [...]struct {
	kind message.DestKind
	typ  byte
}{{message.Queue, wire.TypeQueue}, {message.Topic, wire.TypeTopic},
	{message.TempQueue, wire.TypeTempQueue}, {message.TempTopic, wire.TypeTempTopic}}

var bodyKinds = map[byte]message.BodyKind{
	wire.TypeMessage: message.Plain, wire.TypeTextMessage: message.Text, wire.TypeBytesMessage: message.Bytes,
	wire.TypeMapMessage: message.Map, wire.TypeObjectMessage: message.Object, wire.TypeStreamMessage: message.Stream,
}

// maxBody bounds an inflated (compressed) body.
const maxBody = 256 << 20

// toCore converts a message a JMS client sent, its properties decoded by
// dec (the connection's, which hands out the strings it decoded last
// again). Text bodies become UTF-8; other bodies are kept in their
// OpenWire form; compressed bodies are inflated.
func toCore(w *wire.Message, dec *wire.Decoder) (*message.Message, error) {
	dest, err := destToCore(w.Destination)
	if err != nil {
		return nil, err
	}
	t := w.Type
	if t == 0 {
		t = wire.TypeMessage
	}
	kind, ok := bodyKinds[t]
	if !ok {
		return nil, fmt.Errorf("openwire: message type %d is not supported", t)
	}
	m := &message.Message{
		Dest: dest, CorrelationID: w.CorrelationID, Type: w.JMSType, Priority: w.Priority,
		Expiration: w.Expiration, Timestamp: w.Timestamp, Persistent: w.Persistent,
		GroupID: w.GroupID, GroupSeq: w.GroupSequence, UserID: w.UserID, BodyKind: kind,
		BrokerPath: brokerPathToCore(w.BrokerPath),
	}
	if m.Priority > 9 {
		m.Priority = 9
	}
	if w.MessageID != nil {
		m.ID = w.MessageID.String()
		if w.MessageID.ProducerID != nil {
			var buf [96]byte
			m.ProducerID = dec.Intern(w.MessageID.ProducerID.Append(buf[:0]))
			m.ProducerSeq = w.MessageID.ProducerSequenceID
		}
	}
	if w.ReplyTo != nil {
		if m.ReplyTo, err = destToCore(w.ReplyTo); err != nil {
			return nil, fmt.Errorf("reply-to: %w", err)
		}
	}
	if w.OriginalDestination != nil {
		m.OriginalDest, _ = destToCore(w.OriginalDestination)
	}
	if len(w.MarshalledProperties) > 0 {
		props, err := dec.UnmarshalPrimitiveMap(w.MarshalledProperties, maxProperties)
		if err != nil {
			return nil, fmt.Errorf("properties: %w", err)
		}
		for k, v := range props {
			switch v.(type) {
			case map[string]any, []any:
				return nil, fmt.Errorf("property %q: a message property cannot be a map or a list", k)
			}
		}
		m.Properties = props
	}
	body, err := w.Body(maxBody)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if kind == message.Text {
		text, valid, err := wire.DecodeText(body)
		if err != nil {
			return nil, err
		}
		if valid { // a null text stays a nil body
			m.Body = append([]byte{}, text...)
		}
		return m, nil
	}
	m.Body = body
	return m, nil
}

var wireTypes = map[message.BodyKind]byte{
	message.Plain: wire.TypeMessage, message.Text: wire.TypeTextMessage, message.Bytes: wire.TypeBytesMessage,
	message.Map: wire.TypeMapMessage, message.Object: wire.TypeObjectMessage, message.Stream: wire.TypeStreamMessage,
}

// toWire converts a core message for a JMS consumer.
func toWire(m *message.Message) (*wire.Message, error) {
	w := &wire.Message{
		Type: wireTypes[m.BodyKind], Destination: destToWire(m.Dest), ReplyTo: destToWire(m.ReplyTo),
		OriginalDestination: destToWire(m.OriginalDest), CorrelationID: m.CorrelationID, JMSType: m.Type,
		Priority: m.Priority, Expiration: m.Expiration, Timestamp: m.Timestamp, Persistent: m.Persistent,
		GroupID: m.GroupID, GroupSequence: m.GroupSeq, UserID: m.UserID, RedeliveryCounter: m.DeliveryCount,
		BrokerPath: brokerPathToWire(m.BrokerPath),
	}
	w.ProducerID = parseProducerID(m.ProducerID)
	w.MessageID = &wire.MessageID{TextView: m.ID, ProducerID: w.ProducerID, ProducerSequenceID: m.ProducerSeq}
	if len(m.Properties) > 0 {
		props, err := wire.MarshalJavaProperties(m.Properties)
		if err != nil {
			return nil, fmt.Errorf("properties: %w", err)
		}
		w.MarshalledProperties = props
		// The JMS client reads JMSXGroupFirstForConsumer from the message's
		// own field, not from the properties.
		w.JMSXGroupFirstForConsumer, _ = m.Properties[broker.PropGroupFirstForConsumer].(bool)
	}
	switch m.BodyKind {
	case message.Text:
		if m.Body != nil { // nil: a null text
			w.Content = wire.EncodeText(string(m.Body))
		}
	case message.Plain:
	case message.Map:
		// Re-encoded so the Java client reads its strings right (see
		// wire.MarshalJavaProperties); a body that does not decode is
		// passed on as it is.
		w.Content = m.Body
		if body, err := wire.DecodeMap(m.Body); err == nil {
			if enc, err := wire.MarshalJavaProperties(body); err == nil {
				w.Content = enc
			}
		}
	default:
		w.Content = m.Body
	}
	return w, nil
}

// parseProducerID reads "connectionId:sessionId:value" (the form
// ProducerId.toString() has and the core keeps). A string that is not of
// that form becomes a connection id with session and value 0.
func parseProducerID(s string) *wire.ProducerID {
	if s == "" {
		return nil
	}
	rest, v, ok1 := cutLast(s)
	conn, sess, ok2 := cutLast(rest)
	vn, err1 := strconv.ParseInt(v, 10, 64)
	sn, err2 := strconv.ParseInt(sess, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return &wire.ProducerID{ConnectionID: s}
	}
	return &wire.ProducerID{ConnectionID: conn, SessionID: sn, Value: vn}
}

func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}
