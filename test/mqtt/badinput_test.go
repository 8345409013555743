//go:build crossprocess

package mqtt

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// TestBadInput sends what no client library would, over a raw TCP socket,
// to a broker with limits.max_frame_size 1 KiB: each time the server
// answers as the protocol says (or says nothing where it says nothing) and
// closes the connection, without waiting for a body it refused by its
// header; and it keeps serving.
func TestBadInput(t *testing.T) {
	b := startBroker(t, brokerOptions{Extra: "limits:\n  max_frame_size: 1KiB\n"})
	connect := func(version byte) []byte {
		return encode(t, &packet.Connect{Version: version, ClientID: "bad-input", CleanStart: true}, version)
	}
	big := &packet.Connect{Version: packet.Version5, ClientID: "too-big", CleanStart: true,
		Will: &packet.Will{Topic: "bad/will", Payload: bytes.Repeat([]byte("x"), 2000)}}
	cases := []struct {
		name    string
		version byte // to decode the answer with
		send    []byte
		want    []packet.Packet // the answer, up to the close; nil: none
		// mayRefuse allows a refusing CONNACK instead of no answer: for
		// an error in a CONNECT (MQTT 5.0 section 4.13.1).
		mayRefuse bool
	}{
		// MQTT 3.1.1 [MQTT-3.1.2-2]: CONNACK 0x01 and close (a level the
		// server does not know gets the 3.1.1 answer).
		{"protocol level 6", packet.Version311, rawConnect("MQTT", 6), []packet.Packet{&packet.Connack{Reason: packet.UnsupportedProtocolVersion}}, false},
		{"MQTT 3.1 (MQIsdp, level 3)", packet.Version311, rawConnect("MQIsdp", 3), []packet.Packet{&packet.Connack{Reason: packet.UnsupportedProtocolVersion}}, false},
		// MQTT 5.0 section 3.2.2.2: CONNACK 0x95 Packet too large.
		{"MQTT 5 CONNECT larger than max_frame_size", packet.Version5, encode(t, big, packet.Version5),
			[]packet.Packet{&packet.Connack{Reason: packet.PacketTooLarge}}, false},
		// MQTT 5.0 section 4.13: DISCONNECT 0x95, the body never sent.
		{"MQTT 5 PUBLISH header over max_frame_size", packet.Version5, cat(connect(packet.Version5), []byte{0x32, 0x88, 0x27}),
			[]packet.Packet{&packet.Connack{}, &packet.Disconnect{Reason: packet.PacketTooLarge}}, false},
		// MQTT 3.1.1 has no DISCONNECT from the server: the close only.
		{"MQTT 3.1.1 PUBLISH header over max_frame_size", packet.Version311, cat(connect(packet.Version311), []byte{0x32, 0x88, 0x27}),
			[]packet.Packet{&packet.Connack{}}, false},
		// QoS 3 is malformed (MQTT 5.0 section 3.3.1.2): DISCONNECT 0x81.
		{"MQTT 5 PUBLISH at QoS 3", packet.Version5, cat(connect(packet.Version5), []byte{0x36, 0x07, 0x00, 0x01, 'a', 0x00, 0x01, 0x00, 'x'}),
			[]packet.Packet{&packet.Connack{}, &packet.Disconnect{Reason: packet.MalformedPacket}}, false},
		{"MQTT 3.1.1 PUBLISH at QoS 3", packet.Version311, cat(connect(packet.Version311), []byte{0x36, 0x06, 0x00, 0x01, 'a', 0x00, 0x01, 'x'}),
			[]packet.Packet{&packet.Connack{}}, false},
		// A remaining length in five bytes (section 1.5.5).
		{"MQTT 5 remaining length of five bytes", packet.Version5, cat(connect(packet.Version5), []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),
			[]packet.Packet{&packet.Connack{}, &packet.Disconnect{Reason: packet.MalformedPacket}}, false},
		// The first packet must be CONNECT ([MQTT-3.1.0-1]).
		{"PINGREQ before CONNECT", packet.Version311, []byte{0xC0, 0x00}, nil, false},
		// A second CONNECT is a protocol error ([MQTT-3.1.0-2]).
		{"MQTT 5 second CONNECT", packet.Version5, cat(connect(packet.Version5), connect(packet.Version5)),
			[]packet.Packet{&packet.Connack{}, &packet.Disconnect{Reason: packet.ProtocolError}}, false},
		// The reserved CONNECT flag must be 0 ([MQTT-3.1.2-3]); MQTT 5 may
		// say so in a CONNACK (section 4.13.1), 3.1.1 has no code for it.
		{"MQTT 5 reserved CONNECT flag", packet.Version5, reservedFlag(connect(packet.Version5)),
			[]packet.Packet{&packet.Connack{Reason: packet.MalformedPacket}}, false},
		{"MQTT 3.1.1 reserved CONNECT flag", packet.Version311, reservedFlag(connect(packet.Version311)), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, closed := exchangeRaw(t, b.MQTT, tc.send, tc.version)
			if !closed {
				t.Errorf("the server did not close the connection within %s", wait)
			}
			if tc.mayRefuse && len(got) == 1 && got[0].Type() == packet.CONNACK && reasonOf(got[0]).Failed() {
				t.Logf("the server answered %s before closing", describePackets(got))
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("the server answered %s, want %s", describePackets(got), describePackets(tc.want))
			}
			for i, w := range tc.want {
				if reasonOf(got[i]) != reasonOf(w) || got[i].Type() != w.Type() {
					t.Errorf("answer %d: %s, want %s", i, describePackets(got[i:i+1]), describePackets([]packet.Packet{w}))
				}
			}
		})
	}
	if !b.Running() {
		t.Fatal("pier is no longer running")
	}
	c, ack, err := dial(b.MQTT, nil, &packet.Connect{Version: packet.Version5, ClientID: "after-bad-input", CleanStart: true}, nil)
	if err != nil || ack.Reason != packet.Success {
		t.Fatalf("a good client after the bad input: %v %v", ack, err)
	}
	c.disconnect()
}

func encode(t *testing.T, p packet.Packet, version byte) []byte {
	t.Helper()
	b, err := packet.Append(nil, p, version)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// rawConnect is a CONNECT with any protocol name and level: clean
// session, keep-alive 60, client id "raw".
func rawConnect(name string, level byte) []byte {
	body := []byte{0, byte(len(name))}
	body = append(body, name...)
	body = append(body, level, 0x02, 0, 60, 0, 3, 'r', 'a', 'w')
	return append([]byte{0x10, byte(len(body))}, body...)
}

// reservedFlag sets the reserved bit of a (3.1.1) CONNECT's flags byte.
func reservedFlag(connect []byte) []byte {
	out := bytes.Clone(connect)
	out[2+2+4+1] |= 0x01 // fixed header, name length, "MQTT", level
	return out
}

// exchangeRaw writes send to a new connection and reads the answer until
// the server closes it (closed) or wait passes; the answer is decoded for
// version.
func exchangeRaw(t *testing.T, addr string, send []byte, version byte) (got []packet.Packet, closed bool) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(send); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(wait))
	raw, err := io.ReadAll(nc)
	closed = err == nil || !errors.Is(err, os.ErrDeadlineExceeded)
	r := packet.NewReader(bufio.NewReader(bytes.NewReader(raw)), version, packet.Limits{})
	for {
		p, err := r.ReadPacket()
		if errors.Is(err, io.EOF) {
			return got, closed
		}
		if err != nil {
			t.Errorf("the answer % x does not decode: %v", raw, err)
			return got, closed
		}
		got = append(got, p)
	}
}

// reasonOf is the reason code of a CONNACK or DISCONNECT.
func reasonOf(p packet.Packet) packet.ReasonCode {
	switch p := p.(type) {
	case *packet.Connack:
		return p.Reason
	case *packet.Disconnect:
		return p.Reason
	}
	return 0
}

func describePackets(ps []packet.Packet) string {
	if len(ps) == 0 {
		return "nothing"
	}
	var b bytes.Buffer
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Type().String() + " " + reasonOf(p).String())
	}
	return b.String()
}
