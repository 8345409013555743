package packet

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/protocol/connbuf"
)

// hx decodes space-separated hex bytes.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func read(b []byte, version byte, limits Limits) (Packet, error) {
	return ReadPacket(bufio.NewReader(bytes.NewReader(b)), version, limits)
}

// Each case is refused with the reason code the specification gives.
func TestMalformedRefused(t *testing.T) {
	const v0, v4, v5 = 0, Version311, Version5
	cases := []struct {
		name    string
		version byte
		hex     string
		reason  ReasonCode
	}{
		// Fixed header (MQTT 5.0 section 2.1).
		{"reserved type 0", v4, "00 00", MalformedPacket},
		{"AUTH in 3.1.1", v4, "f0 00", MalformedPacket},
		{"PUBREL flags 0", v4, "60 02 00 01", MalformedPacket},
		{"SUBSCRIBE flags 0", v5, "80 07 00 01 00 00 01 61 00", MalformedPacket},
		{"UNSUBSCRIBE flags 0", v4, "a0 05 00 01 00 01 61", MalformedPacket},
		{"PINGREQ flag bit", v4, "c1 00", MalformedPacket},
		{"CONNECT flag bit", v0, "11 0c 00 04 4d 51 54 54 04 02 00 3c 00 00", MalformedPacket},
		{"remaining length of 5 bytes", v4, "30 ff ff ff ff 7f", MalformedPacket},
		{"remaining length not shortest", v4, "c0 80 00", MalformedPacket},
		{"first packet not CONNECT", v0, "c0 00", ProtocolError},
		// Lengths inside.
		{"PINGREQ with a body", v4, "c0 01 00", MalformedPacket},
		{"DISCONNECT 3.1.1 with a body", v4, "e0 01 00", MalformedPacket},
		{"PUBACK 3.1.1 trailing byte", v4, "40 03 00 01 00", MalformedPacket},
		{"string longer than the packet", v4, "30 03 00 05 61", MalformedPacket},
		{"packet id cut short", v4, "40 01 00", MalformedPacket},
		{"property length beyond the packet", v5, "30 05 00 01 61 09 01", MalformedPacket},
		{"property value cut short", v5, "30 06 00 01 61 02 02 00", MalformedPacket},
		// PUBLISH.
		{"QoS 3", v4, "36 05 00 01 61 00 01", MalformedPacket},
		{"DUP on QoS 0", v4, "38 03 00 01 61", MalformedPacket},
		{"packet id 0", v4, "32 05 00 01 61 00 00", ProtocolError},
		{"topic with +", v4, "30 05 00 03 61 2f 2b", MalformedPacket},
		{"topic with #", v5, "30 04 00 01 23 00", MalformedPacket},
		{"empty topic 3.1.1", v4, "30 02 00 00", MalformedPacket},
		{"empty topic without alias", v5, "30 03 00 00 00", ProtocolError},
		{"topic not UTF-8", v4, "30 03 00 01 ff", MalformedPacket},
		{"topic with a surrogate", v4, "30 05 00 03 ed a0 80", MalformedPacket},
		{"topic with an overlong encoding", v4, "30 04 00 02 c0 af", MalformedPacket},
		{"topic with U+0000", v4, "30 04 00 02 61 00", MalformedPacket},
		// Properties (section 2.2.2).
		{"property not allowed", v5, "30 09 00 01 61 05 11 00 00 00 01", MalformedPacket},
		{"unknown property", v5, "30 05 00 01 61 01 7f", MalformedPacket},
		{"duplicate Message Expiry", v5, "30 0e 00 01 61 0a 02 00 00 00 01 02 00 00 00 02", ProtocolError},
		{"Topic Alias 0", v5, "30 07 00 01 61 03 23 00 00", TopicAliasInvalid},
		{"Payload Format 2", v5, "30 06 00 01 61 02 01 02", ProtocolError},
		{"Subscription Identifier 0", v5, "30 06 00 01 61 02 0b 00", ProtocolError},
		{"Response Topic with wildcard", v5, "30 08 00 01 61 04 08 00 01 23", MalformedPacket},
		{"User Property value not UTF-8", v5, "30 0b 00 01 61 07 26 00 01 61 00 01 ff", MalformedPacket},
		{"two Subscription Identifiers in SUBSCRIBE", v5, "82 0b 00 01 04 0b 01 0b 02 00 01 61 00", ProtocolError},
		{"Receive Maximum 0", v0, "10 10 00 04 4d 51 54 54 05 02 00 3c 03 21 00 00 00 00", ProtocolError},
		{"Maximum Packet Size 0", v0, "10 12 00 04 4d 51 54 54 05 02 00 3c 05 27 00 00 00 00 00 00", ProtocolError},
		{"Request Problem Information 2", v0, "10 0f 00 04 4d 51 54 54 05 02 00 3c 02 17 02 00 00", ProtocolError},
		{"Authentication Data without Method", v0, "10 10 00 04 4d 51 54 54 05 02 00 3c 03 16 00 00 00 00", ProtocolError},
		{"Maximum QoS 2", v5, "20 05 00 00 02 24 02", ProtocolError},
		{"Will Delay in CONNECT properties", v0, "10 12 00 04 4d 51 54 54 05 02 00 3c 05 18 00 00 00 01 00 00", MalformedPacket},
		// CONNECT (section 3.1).
		{"protocol name", v0, "10 0c 00 04 4d 51 54 58 04 02 00 3c 00 00", UnsupportedProtocolVersion},
		{"MQTT 3.1", v0, "10 0e 00 06 4d 51 49 73 64 70 03 02 00 3c 00 00", UnsupportedProtocolVersion},
		{"protocol level 6", v0, "10 0c 00 04 4d 51 54 54 06 02 00 3c 00 00", UnsupportedProtocolVersion},
		{"reserved connect flag", v0, "10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00", MalformedPacket},
		{"will QoS 3", v0, "10 0c 00 04 4d 51 54 54 04 1c 00 3c 00 00", MalformedPacket},
		{"will retain without will", v0, "10 0c 00 04 4d 51 54 54 04 22 00 3c 00 00", MalformedPacket},
		{"will QoS without will", v0, "10 0c 00 04 4d 51 54 54 04 0a 00 3c 00 00", MalformedPacket},
		{"password without user name", v0, "10 0e 00 04 4d 51 54 54 04 42 00 3c 00 00 00 00", MalformedPacket},
		{"will topic with wildcard", v0, "10 11 00 04 4d 51 54 54 04 06 00 3c 00 00 00 01 23 00 00", MalformedPacket},
		{"client id not UTF-8", v0, "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 fe", MalformedPacket},
		{"missing will payload", v0, "10 0f 00 04 4d 51 54 54 04 06 00 3c 00 00 00 01 77", MalformedPacket},
		// CONNACK.
		{"CONNACK reserved flags", v4, "20 02 02 00", MalformedPacket},
		{"CONNACK return code 6", v4, "20 02 00 06", MalformedPacket},
		{"CONNACK session present on failure", v4, "20 02 01 05", ProtocolError},
		{"CONNACK reason not its own", v5, "20 03 00 02 00", MalformedPacket},
		// Acknowledgements and DISCONNECT.
		{"PUBACK packet id 0", v4, "40 02 00 00", ProtocolError},
		{"PUBACK reason not its own", v5, "40 03 00 01 04", MalformedPacket},
		{"PUBCOMP reason not its own", v5, "70 03 00 01 10", MalformedPacket},
		{"DISCONNECT reason not its own", v5, "e0 01 01", MalformedPacket},
		{"AUTH reason not its own", v5, "f0 01 87", MalformedPacket},
		{"SUBACK 3.1.1 return code 3", v4, "90 03 00 01 03", MalformedPacket},
		{"SUBACK without reason code", v5, "90 03 00 01 00", ProtocolError},
		// SUBSCRIBE and UNSUBSCRIBE (sections 3.8, 3.10).
		{"empty SUBSCRIBE 3.1.1", v4, "82 02 00 01", ProtocolError},
		{"empty SUBSCRIBE 5", v5, "82 03 00 01 00", ProtocolError},
		{"empty UNSUBSCRIBE", v4, "a2 02 00 01", ProtocolError},
		{"SUBSCRIBE packet id 0", v4, "82 06 00 00 00 01 61 00", ProtocolError},
		{"requested QoS 3", v4, "82 06 00 01 00 01 61 03", MalformedPacket},
		{"reserved QoS bits 3.1.1", v4, "82 06 00 01 00 01 61 04", MalformedPacket},
		{"reserved option bits", v5, "82 07 00 01 00 00 01 61 40", MalformedPacket},
		{"maximum QoS 3", v5, "82 07 00 01 00 00 01 61 03", ProtocolError},
		{"retain handling 3", v5, "82 07 00 01 00 00 01 61 30", ProtocolError},
		{"No Local on a shared subscription", v5, "82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 61 04", ProtocolError},
		{"shared without a filter", v5, "82 0e 00 01 00 00 08 24 73 68 61 72 65 2f 67 00", MalformedPacket},
		{"shared with an empty share name", v5, "82 0f 00 01 00 00 09 24 73 68 61 72 65 2f 2f 61 00", MalformedPacket},
		{"# not last", v4, "82 0a 00 01 00 05 61 2f 23 2f 62 00", MalformedPacket},
		{"+ inside a level", v4, "82 07 00 01 00 02 61 2b 00", MalformedPacket},
		{"empty filter", v4, "82 05 00 01 00 00 00", MalformedPacket},
		{"UNSUBSCRIBE bad filter", v5, "a2 07 00 01 00 00 02 23 61", MalformedPacket},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := read(hx(c.hex), c.version, Limits{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %#v, %v; want an *Error", p, err)
			}
			if e.Reason != c.reason {
				t.Fatalf("reason %s, want %s (%v)", e.Reason, c.reason, err)
			}
			t.Log(err)
		})
	}
}

// What the specification allows next to the refusals above is accepted.
func TestAcceptedEdgeCases(t *testing.T) {
	cases := []struct {
		name    string
		version byte
		hex     string
	}{
		{"password without user name in MQTT 5", 0, "10 0f 00 04 4d 51 54 54 05 42 00 3c 00 00 00 00 00"},
		{"two Subscription Identifiers in PUBLISH", Version5, "30 08 00 01 61 04 0b 01 0b 02"},
		{"empty topic with a Topic Alias", Version5, "30 06 00 00 03 23 00 01"},
		{"user properties repeat", Version5, "30 10 00 01 61 0c 26 00 01 61 00 00 26 00 01 61 00 00"},
		{"$share filter in 3.1.1 is a plain filter", Version311, "82 0d 00 01 00 08 24 73 68 61 72 65 2f 67 00"},
		{"PUBACK short form", Version5, "40 02 00 01"},
		{"PUBACK reason without properties", Version5, "40 03 00 01 10"},
		{"DISCONNECT with no body", Version5, "e0 00"},
		{"AUTH with no body", Version5, "f0 00"},
		{"remaining length 127 in one byte", Version311, "30 7f 00 01 61" + strings.Repeat(" 00", 124)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := read(hx(c.hex), c.version, Limits{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The version in an Error says how to answer: a refused CONNECT of an
// unknown or old level is answered as 3.1.1, one of level 5 as MQTT 5.
func TestErrorVersion(t *testing.T) {
	for _, c := range []struct {
		hex     string
		version byte
	}{
		{"10 0e 00 06 4d 51 49 73 64 70 03 02 00 3c 00 00", Version311},
		{"10 0c 00 04 4d 51 54 54 07 02 00 3c 00 00", Version311},
		{"10 0d 00 04 4d 51 54 54 05 03 00 3c 00 00 00", Version5},
		{"10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00", Version311},
	} {
		_, err := read(hx(c.hex), 0, Limits{})
		var e *Error
		if !errors.As(err, &e) || e.Version != c.version {
			t.Errorf("%s: %v, want version %d", c.hex, err, c.version)
		}
	}
}

func TestErrorsIs(t *testing.T) {
	_, err := read(hx("36 05 00 01 61 00 01"), Version311, Limits{})
	if !errors.Is(err, ErrMalformed) || errors.Is(err, ErrProtocol) {
		t.Fatalf("QoS 3: %v should be ErrMalformed only", err)
	}
	if want := "mqtt: PUBLISH: QoS 3 (0x81 Malformed Packet)"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	_, err = read(hx("10 0c 00 04 4d 51 54 54 06 02 00 3c 00 00"), 0, Limits{})
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("level 6: %v", err)
	}
}

// tripwire fails the test if the decoder reads past the fixed header.
type tripwire struct{ t *testing.T }

func (w tripwire) Read([]byte) (int, error) {
	w.t.Error("the body of a packet over the limit was read")
	return 0, io.EOF
}

func TestTooLargeRefusedBeforeBody(t *testing.T) {
	for _, c := range []struct {
		header  string
		version byte
		limit   uint32
	}{
		{"30 0b", Version5, 12},                         // 13 bytes, limit 12
		{"30 80 80 80 01", Version5, 1 << 20},           // 2 MiB + 5
		{"30 ff ff ff 7f", Version311, 1 << 28},         // the largest remaining length
		{"30 ff ff ff 7f", Version5, MaxPacketSize - 1}, // one byte over
		{"82 80 01", Version311, 100},                   // SUBSCRIBE of 131 bytes
		// A CONNECT before the version is known: its first seven body
		// bytes are looked at (not taken) for the version to answer in.
		{"10 ff ff 03 00 04 4d 51 54 54 05", 0, 65538},
		{"10 ff ff 03 00 04 4d 51 54 54 04", 0, 65538},
	} {
		r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(hx(c.header)), tripwire{t}), 16)
		_, err := ReadPacket(r, c.version, Limits{MaxPacketSize: c.limit})
		var e *Error
		if !errors.Is(err, ErrTooLarge) || !errors.As(err, &e) {
			t.Errorf("%s with limit %d: %v, want Packet too large", c.header, c.limit, err)
			continue
		}
		if want := map[bool]byte{true: Version5, false: Version311}[strings.HasSuffix(c.header, "05") || c.version == Version5]; e.Version != want {
			t.Errorf("%s: answered as version %d, want %d", c.header, e.Version, want)
		}
	}
	// At the limit exactly, the packet is read.
	if _, err := read(hx("30 0b 00 01 61 00 00 00 00 00 00 00 00"), Version5, Limits{MaxPacketSize: 13}); err != nil {
		t.Fatalf("packet at the limit: %v", err)
	}
}

// A large body is read in pieces as it arrives, not allocated at once.
func TestLargeBodyGrows(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 3*connbuf.ReadChunk+17)
	b := encode(t, &Publish{Topic: "big", Payload: payload}, Version311)
	p, err := read(b, Version311, Limits{})
	if err != nil || !bytes.Equal(p.(*Publish).Payload, payload) {
		t.Fatalf("large PUBLISH: %v", err)
	}
	// Cut short inside the body: unexpected EOF.
	if _, err := read(b[:len(b)-1], Version311, Limits{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut short: %v", err)
	}
	// The largest remaining length is accepted without a limit; its body
	// is missing here, and only 64 KiB were set aside for it.
	if _, err := read(hx("30 ff ff ff 7f"), Version5, Limits{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("largest remaining length: %v", err)
	}
	// Nothing at all: io.EOF itself.
	if _, err := read(nil, Version311, Limits{}); err != io.EOF {
		t.Fatalf("empty input: %v", err)
	}
}
