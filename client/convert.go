package client

import (
	"fmt"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// maxBody bounds an inflated (compressed) body.
const maxBody = 256 << 20

var kindTypes = [...]byte{NoBody: wire.TypeMessage, TextBody: wire.TypeTextMessage,
	BytesBody: wire.TypeBytesMessage, MapBody: wire.TypeMapMessage, StreamBody: wire.TypeStreamMessage,
	ObjectBody: wire.TypeObjectMessage}

// toWire builds the OpenWire message for m (headers already completed by
// the producer).
func (m *Message) toWire() (*wire.Message, error) {
	if m.kind < NoBody || m.kind > ObjectBody {
		return nil, fmt.Errorf("client: message of unknown kind %d", m.kind)
	}
	w := &wire.Message{
		Type: kindTypes[m.kind], Destination: m.Destination.toWire(), ReplyTo: m.ReplyTo.toWire(),
		CorrelationID: m.CorrelationID, JMSType: m.Type, Persistent: m.Persistent,
		Priority: byte(min(max(m.Priority, 0), 9)), Timestamp: millis(m.Timestamp), Expiration: millis(m.Expiration),
		GroupID: m.GroupID, GroupSequence: int32(m.GroupSeq), BrokerPath: brokerPathToWire(m.BrokerPath),
	}
	if err := w.SetProperties(m.props); err != nil {
		return nil, fmt.Errorf("client: properties: %w", err)
	}
	var err error
	switch m.kind {
	case TextBody:
		if s, ok := m.body.(string); ok && !m.null {
			w.Content = wire.EncodeText(s)
		}
	case BytesBody, ObjectBody:
		b, _ := m.body.([]byte)
		w.Content = b
		if w.Content == nil {
			w.Content = []byte{}
		}
	case MapBody:
		mb, _ := m.body.(map[string]any)
		if mb == nil {
			mb = map[string]any{}
		}
		w.Content, err = wire.EncodeMap(mb)
	case StreamBody:
		vals, _ := m.body.([]any)
		w.Content, err = wire.EncodeStream(vals)
		if err == nil && w.Content == nil {
			w.Content = []byte{}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("client: body: %w", err)
	}
	return w, nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// fromWire turns a delivered message into a Message.
func fromWire(w *wire.Message, redeliveries int32) (*Message, error) {
	m := &Message{
		Destination: destFromWire(w.Destination), ReplyTo: destFromWire(w.ReplyTo),
		CorrelationID: w.CorrelationID, Type: w.JMSType, Priority: int(w.Priority),
		Expiration: fromMillis(w.Expiration), Timestamp: fromMillis(w.Timestamp), Persistent: w.Persistent,
		Redelivered: redeliveries > 0, DeliveryCount: int(redeliveries) + 1,
		GroupID: w.GroupID, GroupSeq: int(w.GroupSequence), BrokerPath: brokerPathFromWire(w.BrokerPath),
		data: w.DataStructure,
	}
	if w.MessageID != nil {
		m.ID = messageIDString(w.MessageID)
	}
	props, err := decodeProperties(w.MarshalledProperties)
	if err != nil {
		return nil, fmt.Errorf("client: properties: %w", err)
	}
	m.props = props
	body, err := w.Body(maxBody)
	if err != nil {
		return nil, fmt.Errorf("client: body: %w", err)
	}
	switch w.DataType() {
	case wire.TypeTextMessage:
		m.kind = TextBody
		text, valid, err := wire.DecodeText(body)
		if err != nil {
			return nil, fmt.Errorf("client: body: %w", err)
		}
		m.body, m.null = text, !valid
	case wire.TypeBytesMessage:
		m.kind, m.body = BytesBody, nonNil(body)
	case wire.TypeObjectMessage:
		m.kind, m.body = ObjectBody, body
	case wire.TypeMapMessage:
		m.kind = MapBody
		mb := map[string]any{}
		if len(body) > 0 {
			if mb, err = decodeProperties(body); err != nil {
				return nil, fmt.Errorf("client: map body: %w", err)
			}
		}
		m.body = mb
	case wire.TypeStreamMessage:
		m.kind = StreamBody
		vals, err := wire.DecodeStream(body)
		if err != nil {
			return nil, fmt.Errorf("client: stream body: %w", err)
		}
		m.body = vals
	default:
		m.kind = NoBody
	}
	return m, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// messageIDString is MessageId.toString(): the text view, or
// producerId:sequence, always starting with "ID:".
func messageIDString(id *wire.MessageID) string {
	s := id.String()
	if len(s) < 3 || s[:3] != "ID:" {
		s = "ID:" + s
	}
	return s
}

// decodeProperties decodes a primitive map (message properties or a map
// body); nil for none. Strings may be in modified or plain UTF-8 (Pier
// sends property strings in plain UTF-8, as the Java client reads them).
func decodeProperties(b []byte) (map[string]any, error) {
	if b == nil {
		return nil, nil
	}
	return wire.UnmarshalPrimitiveMap(b, 0)
}
