package wire

import (
	"bytes"
	"testing"
)

// jmsMessage is a message as bench/openwire/JmsBench.java sends it: a 1
// KiB BytesMessage with four properties, its id with a text view.
func jmsMessage() *Message {
	p := &ProducerID{ConnectionID: "ID:bench-host-41573-1765100000000-1:1", SessionID: 1, Value: 1}
	props, err := MarshalJavaProperties(map[string]any{"pierbench_run": "0b5e3c1e-9c39-4a8e-9d7e-2a41a7d1b0c4",
		"pierbench_producer": int32(0), "pierbench_seq": int64(12345), "pierbench_nanos": int64(1765100000000000000)})
	if err != nil {
		panic(err)
	}
	return &Message{Type: TypeBytesMessage, ProducerID: p, Destination: &Destination{Type: TypeQueue, PhysicalName: "bench.jms"},
		MessageID:  &MessageID{ProducerID: p, ProducerSequenceID: 12345, TextView: "ID:bench-host-41573-1765100000000-1:1:1:12345"},
		Persistent: true, Priority: 4, Timestamp: 1765100000000, Content: bytes.Repeat([]byte{'x'}, 1024), MarshalledProperties: props}
}

// BenchmarkCodec is the codec's part of one message through a broker: a
// JmsBench message and its acknowledgement decoded from a connection, the
// dispatch encoded to another.
func BenchmarkCodec(b *testing.B) {
	m := jmsMessage()
	ack := &MessageAck{Destination: m.Destination, ConsumerID: &ConsumerID{ConnectionID: "ID:bench-host-41573-1765100000000-3:1", SessionID: 1, Value: 1},
		AckType: AckStandard, FirstMessageID: m.MessageID, LastMessageID: m.MessageID, MessageCount: 1}
	md := &MessageDispatch{ConsumerID: ack.ConsumerID, Destination: m.Destination, Message: m}
	var in []byte
	for _, cmd := range []Command{m, ack} {
		f, err := Marshal(cmd)
		if err != nil {
			b.Fatal(err)
		}
		in = append(in, f...)
	}
	r := bytes.NewReader(in)
	dec := NewDecoder(r, Options{})
	enc := NewEncoder(discard{}, Options{})
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r.Reset(in)
		for range 2 {
			if _, err := dec.Decode(); err != nil {
				b.Fatal(err)
			}
		}
		if err := enc.Encode(md); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
