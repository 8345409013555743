package openwire

import (
	"testing"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// The JMS client reads JMSXGroupFirstForConsumer from the message's field
// (getBooleanProperty goes to isJMSXGroupFirstForConsumer), so the
// broker's mark must reach that field, not only the property map.
func TestGroupFirstForConsumerField(t *testing.T) {
	for _, first := range []bool{true, false} {
		m := &message.Message{Dest: message.Destination{Kind: message.Queue, Name: "q"}, BodyKind: message.Text,
			GroupID: "g", GroupSeq: 1, Properties: map[string]any{"x": int32(1)}}
		if first {
			m.Properties[broker.PropGroupFirstForConsumer] = true
		}
		w, err := toWire(m)
		if err != nil {
			t.Fatal(err)
		}
		if w.JMSXGroupFirstForConsumer != first {
			t.Errorf("marked %v: field %v", first, w.JMSXGroupFirstForConsumer)
		}
	}
}
