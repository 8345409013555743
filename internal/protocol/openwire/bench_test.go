package openwire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// BenchmarkSendDispatchAck is one message through the broker as the ActiveMQ
// JMS client makes it (bench/openwire/JmsBench.java): a 1 KiB BytesMessage
// with JmsBench's four properties from a producer connection, dispatched
// to a consumer connection (prefetch 1000) that acknowledges it on its own
// (AUTO_ACKNOWLEDGE: a standard MessageAck naming it). A persistent send is
// synchronous: the producer waits for its Response, over the in-memory
// store. The clients write prepared frames, patching the sequence numbers,
// so allocs/op are nearly all the broker's.
func BenchmarkSendDispatchAck(b *testing.B) {
	for _, persistent := range []bool{false, true} {
		b.Run(fmt.Sprintf("persistent=%v", persistent), func(b *testing.B) {
			r := newRig(b)
			prod, cons := r.dial(), r.dial()
			f := newJMSFrames(b, persistent)
			prod.ok(&wire.ConnectionInfo{ConnectionID: &wire.ConnectionID{Value: f.prodConn}})
			prod.ok(&wire.ProducerInfo{ProducerID: f.producer, Destination: f.dest})
			cons.ok(&wire.ConnectionInfo{ConnectionID: &wire.ConnectionID{Value: f.consConn}})
			cons.ok(&wire.ConsumerInfo{ConsumerID: f.consumer, Destination: f.dest, PrefetchSize: 1000})
			prod.nc.SetReadDeadline(time.Time{}) // set by ok
			cons.nc.SetReadDeadline(time.Time{})
			done := make(chan error, 1)
			b.ReportAllocs()
			b.SetBytes(1024)
			b.ResetTimer()
			go func() { done <- f.consume(cons, b.N) }()
			if err := f.produce(prod, b.N, persistent); err != nil {
				b.Fatal(err)
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// jmsFrames holds a message and an acknowledgement encoded once, with the
// offsets of the numbers that change from one message to the next.
type jmsFrames struct {
	prodConn, consConn string
	producer           *wire.ProducerID
	consumer           *wire.ConsumerID
	dest               *wire.Destination
	msg, ack           []byte
	msgSeq, ackSeq     []seqAt
}

func newJMSFrames(tb testing.TB, persistent bool) *jmsFrames {
	tb.Helper()
	f := &jmsFrames{prodConn: "ID:bench-host-41573-1765100000000-1:1", consConn: "ID:bench-host-41573-1765100000000-3:1",
		dest: &wire.Destination{Type: wire.TypeQueue, PhysicalName: "bench.jms"}}
	f.producer = &wire.ProducerID{ConnectionID: f.prodConn, SessionID: 1, Value: 1}
	f.consumer = &wire.ConsumerID{ConnectionID: f.consConn, SessionID: 1, Value: 1}
	props, err := wire.MarshalJavaProperties(map[string]any{"pierbench_run": "0b5e3c1e-9c39-4a8e-9d7e-2a41a7d1b0c4",
		"pierbench_producer": int32(0), "pierbench_seq": int64(0), "pierbench_nanos": int64(1765100000000000000)})
	if err != nil {
		tb.Fatal(err)
	}
	id := func(seq int64) *wire.MessageID {
		return &wire.MessageID{ProducerID: f.producer, ProducerSequenceID: seq,
			TextView: fmt.Sprintf("%s:1:1:%d", f.prodConn[:len(f.prodConn)-2], seq)}
	}
	msg := func(seq int64) []byte {
		m := &wire.Message{Type: wire.TypeBytesMessage, ProducerID: f.producer, Destination: f.dest, MessageID: id(seq),
			Persistent: persistent, Priority: 4, Timestamp: 1765100000000, Content: bytes.Repeat([]byte{'x'}, 1024),
			MarshalledProperties: props}
		m.SetCommandID(1)
		m.SetResponseRequired(persistent)
		return frame(tb, m)
	}
	ack := func(seq int64) []byte {
		return frame(tb, &wire.MessageAck{Destination: f.dest, ConsumerID: f.consumer, AckType: wire.AckStandard,
			FirstMessageID: id(seq), LastMessageID: id(seq), MessageCount: 1})
	}
	// Sequences 1 and 2 differ in one byte of each number (the text views
	// too, in their last character: those are patched as well).
	f.msg, f.msgSeq = msg(1), differ(msg(1), msg(2))
	f.ack, f.ackSeq = ack(1), differ(ack(1), ack(2))
	return f
}

func frame(tb testing.TB, cmd wire.Command) []byte {
	tb.Helper()
	b, err := wire.Marshal(cmd)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// seqAt is where a sequence number is in a frame: the last byte of an
// int64, or the last digit of a text view.
type seqAt struct {
	off   int
	digit bool
}

// differ returns where frames of sequence 1 and 2 differ.
func differ(one, two []byte) []seqAt {
	var at []seqAt
	for i := range one {
		if one[i] != two[i] {
			at = append(at, seqAt{off: i, digit: one[i] == '1'})
		}
	}
	return at
}

// patch writes seq into frame at each offset: an int64 ending there, or
// the last digit of a text view.
func patch(frame []byte, at []seqAt, seq int64) {
	for _, p := range at {
		if p.digit {
			frame[p.off] = '0' + byte(seq%10)
			continue
		}
		binary.BigEndian.PutUint64(frame[p.off-7:], uint64(seq))
	}
}

// produce sends n messages, waiting for each Response if sync.
func (f *jmsFrames) produce(c *client, n int, sync bool) error {
	var hdr [4]byte
	body := make([]byte, 64)
	for i := 1; i <= n; i++ {
		patch(f.msg, f.msgSeq, int64(i))
		binary.BigEndian.PutUint32(f.msg[5:], uint32(i)) // command id
		if _, err := c.nc.Write(f.msg); err != nil {
			return err
		}
		for sync {
			t, err := readFrame(c.nc, &hdr, &body)
			if err != nil {
				return err
			}
			// body: type, command id, responseRequired, correlation id
			if t == wire.TypeResponse && binary.BigEndian.Uint32(body[6:]) == uint32(i) {
				break
			}
			if t == wire.TypeExceptionResponse {
				return fmt.Errorf("send %d refused", i)
			}
		}
	}
	return nil
}

// consume reads n dispatches, acknowledging each.
func (f *jmsFrames) consume(c *client, n int) error {
	var hdr [4]byte
	body := make([]byte, 2048)
	for seq := 1; seq <= n; {
		t, err := readFrame(c.nc, &hdr, &body)
		if err != nil {
			return err
		}
		if t != wire.TypeMessageDispatch {
			continue
		}
		patch(f.ack, f.ackSeq, int64(seq))
		if _, err := c.nc.Write(f.ack); err != nil {
			return err
		}
		seq++
	}
	return nil
}

// readFrame reads one frame into *body (grown as needed) and returns its type.
func readFrame(r io.Reader, hdr *[4]byte, body *[]byte) (byte, error) {
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if cap(*body) < n {
		*body = make([]byte, n)
	}
	*body = (*body)[:n]
	if _, err := io.ReadFull(r, *body); err != nil {
		return 0, err
	}
	return (*body)[0], nil
}
