package stomp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/message"
)

// Headers that SEND uses for the message's own fields; the rest become
// string properties, as ActiveMQ does.
var sendReserved = map[string]bool{
	"destination": true, "receipt": true, "message-id": true, "redelivered": true, "subscription": true,
	"JMSXUserID": true, "transaction": true, HdrContentLength: true, "correlation-id": true, "expires": true,
	"priority": true, "type": true, "reply-to": true, "persistent": true, "timestamp": true,
	"JMSXGroupID": true, "JMSXGroupSeq": true, "amq-msg-type": true, "ack": true,
}

// destNamer turns between STOMP destination strings and the core's
// destinations for one connection (whose temporary destinations are shown
// as /temp-queue/NAME, everyone else's as /remote-temp-queue/ID).
type destNamer struct {
	tempPrefix string // the connection's id followed by ':'
}

// parse reads a STOMP destination. local is the /temp-queue/ or /temp-topic/
// name, when the destination is one of this connection's temporaries.
func (n destNamer) parse(s string) (d message.Destination, local string, err error) {
	prefixes := []struct {
		p    string
		kind message.DestKind
		temp bool
	}{
		{"/queue/", message.Queue, false}, {"/topic/", message.Topic, false},
		{"/temp-queue/", message.TempQueue, true}, {"/temp-topic/", message.TempTopic, true},
		{"/remote-temp-queue/", message.TempQueue, false}, {"/remote-temp-topic/", message.TempTopic, false},
		{"queue://", message.Queue, false}, {"topic://", message.Topic, false},
	}
	if strings.Contains(s, ",") {
		return d, "", fmt.Errorf("composite destination %q is not supported yet", s)
	}
	for _, p := range prefixes {
		name, ok := strings.CutPrefix(s, p.p)
		if !ok {
			continue
		}
		if err := message.ValidateName(name); err != nil {
			return d, "", fmt.Errorf("destination %q: %w", s, err)
		}
		if p.temp {
			return message.Destination{Kind: p.kind, Name: n.tempPrefix + name}, name, nil
		}
		return message.Destination{Kind: p.kind, Name: name}, "", nil
	}
	return d, "", fmt.Errorf("destination %q: want /queue/NAME, /topic/NAME, /temp-queue/NAME or /temp-topic/NAME", s)
}

// format renders a destination for this connection.
func (n destNamer) format(d message.Destination) string {
	switch d.Kind {
	case message.Queue:
		return "/queue/" + d.Name
	case message.Topic:
		return "/topic/" + d.Name
	case message.TempQueue:
		if local, ok := strings.CutPrefix(d.Name, n.tempPrefix); ok {
			return "/temp-queue/" + local
		}
		return "/remote-temp-queue/" + d.Name
	case message.TempTopic:
		if local, ok := strings.CutPrefix(d.Name, n.tempPrefix); ok {
			return "/temp-topic/" + local
		}
		return "/remote-temp-topic/" + d.Name
	}
	return ""
}

// toMessage builds a message from a SEND frame (destination already parsed).
func toMessage(f *Frame, dest message.Destination) (*message.Message, error) {
	m := &message.Message{Dest: dest, Priority: message.DefaultPriority, Body: f.Body}
	if m.Body == nil {
		m.Body = []byte{} // an empty body, not a null text
	}
	m.BodyKind = message.Text
	if _, ok := f.Lookup(HdrContentLength); ok {
		m.BodyKind = message.Bytes
	}
	switch t := f.Get("amq-msg-type"); t {
	case "":
	case "text":
		m.BodyKind = message.Text
	case "bytes":
		m.BodyKind = message.Bytes
	default:
		return nil, fmt.Errorf("amq-msg-type %q: want text or bytes", t)
	}
	m.CorrelationID = f.Get("correlation-id")
	m.Type = f.Get("type")
	m.GroupID = f.Get("JMSXGroupID")
	m.Persistent = strings.EqualFold(f.Get("persistent"), "true")
	var err error
	if v := f.Get("priority"); v != "" {
		p, perr := strconv.Atoi(v)
		if perr != nil || p < 0 || p > 9 {
			return nil, fmt.Errorf("priority %q: want 0 to 9", v)
		}
		m.Priority = uint8(p)
	}
	if m.Expiration, err = intHeader(f, "expires"); err != nil {
		return nil, err
	}
	if m.Timestamp, err = intHeader(f, "timestamp"); err != nil {
		return nil, err
	}
	seq, err := intHeader(f, "JMSXGroupSeq")
	if err != nil {
		return nil, err
	}
	m.GroupSeq = int32(seq)
	seen := map[string]bool{}
	for _, h := range f.Headers {
		if sendReserved[h.Key] || seen[h.Key] {
			continue
		}
		seen[h.Key] = true
		if m.Properties == nil {
			m.Properties = map[string]any{}
		}
		m.Properties[h.Key] = h.Value
	}
	return m, nil
}

func intHeader(f *Frame, key string) (int64, error) {
	v := f.Get(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want an integer", key, v)
	}
	return n, nil
}

// toFrame builds a MESSAGE frame for a delivery.
func (n destNamer) toFrame(m *message.Message, subID, ackID string) *Frame {
	f := &Frame{Command: CmdMessage, Headers: make([]Header, 0, 10+len(m.Properties))}
	f.Add("message-id", m.ID)
	f.Add("destination", n.format(m.Dest))
	f.Add("subscription", subID)
	if ackID != "" {
		f.Add("ack", ackID)
	}
	f.Add("expires", strconv.FormatInt(m.Expiration, 10))
	f.Add("priority", strconv.Itoa(int(m.Priority)))
	f.Add("timestamp", strconv.FormatInt(m.Timestamp, 10))
	if m.Persistent {
		f.Add("persistent", "true")
	}
	if m.Redelivered() {
		f.Add("redelivered", "true")
	}
	if m.CorrelationID != "" {
		f.Add("correlation-id", m.CorrelationID)
	}
	if m.Type != "" {
		f.Add("type", m.Type)
	}
	if !m.ReplyTo.IsZero() {
		f.Add("reply-to", n.format(m.ReplyTo))
	}
	if !m.OriginalDest.IsZero() {
		f.Add("original-destination", n.format(m.OriginalDest))
	}
	if m.GroupID != "" {
		f.Add("JMSXGroupID", m.GroupID)
		f.Add("JMSXGroupSeq", strconv.Itoa(int(m.GroupSeq)))
	}
	if m.UserID != "" {
		f.Add("JMSXUserID", m.UserID)
	}
	for k, v := range m.Properties {
		if s, ok := propertyString(v); ok && k != HdrContentLength {
			f.Add(k, s)
		}
	}
	switch m.BodyKind {
	case message.Text:
		f.Body = m.Body
	case message.Bytes:
		f.Body = m.Body
		f.Add(HdrContentLength, strconv.Itoa(len(m.Body)))
	}
	return f
}

// propertyString renders a property value as ActiveMQ's String.valueOf does.
func propertyString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int8:
		return strconv.Itoa(int(x)), true
	case int16:
		return strconv.Itoa(int(x)), true
	case int32:
		return strconv.Itoa(int(x)), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint16:
		return string(rune(x)), true
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}
