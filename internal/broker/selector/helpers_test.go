package selector

import (
	"math"

	"github.com/piermq/pier/internal/message"
)

// sampleMessage has every header set and a property of every type.
func sampleMessage() *message.Message {
	return &message.Message{
		ID:            "ID:1",
		Dest:          message.Destination{Kind: message.Queue, Name: "orders"},
		ReplyTo:       message.Destination{Kind: message.Topic, Name: "replies"},
		CorrelationID: "corr",
		Type:          "order",
		Priority:      7,
		Expiration:    1000,
		Timestamp:     500,
		Persistent:    true,
		DeliveryCount: 2,
		GroupID:       "g1",
		GroupSeq:      3,
		UserID:        "alice",
		Properties: map[string]any{
			"i8":    int8(-3),
			"i16":   int16(300),
			"i32":   int32(42),
			"i64":   int64(1 << 40),
			"f32":   float32(1.5),
			"f64":   2.5,
			"s":     "hello",
			"e":     "",
			"num":   "42",
			"fnum":  "2.5",
			"tstr":  "TRUE",
			"t":     true,
			"f":     false,
			"c":     uint16('x'),
			"b":     []byte("hi"),
			"nil":   nil,
			"quote": "it's",
			"u":     "żółw",
			"pct":   "100%",
			"nan":   math.NaN(),
			"negz":  math.Copysign(0, -1),
			"nl":    "a\nb",
			"big":   int64(math.MaxInt64),
		},
	}
}

// fuzzMessages are the messages the fuzz target compares matches on.
func fuzzMessages() []*message.Message {
	empty := &message.Message{}
	other := &message.Message{
		Priority: 4, Persistent: false,
		Properties: map[string]any{
			"a": int32(1), "b": "x", "c": 2.5, "x": true, "s": "abc", "i": int64(-7),
			"t": false, "f": true, "n": nil, "i32": int32(0), "num": "1e3",
		},
	}
	third := &message.Message{
		Properties: map[string]any{
			"a": "1", "b": int8(5), "c": float32(-0.5), "x": "true", "s": "a%_b",
			"i": math.Inf(1), "i32": int32(-42),
		},
	}
	return []*message.Message{sampleMessage(), empty, other, third}
}
