package packet

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// The Variable Byte Integer boundaries of MQTT 5.0 Table 1-1 (MQTT 3.1.1
// Table 2.4), each as the Remaining Length of a real packet.
func TestVariableByteIntegerBoundaries(t *testing.T) {
	cases := []struct {
		value uint32
		hex   string
	}{
		{0, "00"}, {127, "7f"}, {128, "80 01"}, {16383, "ff 7f"}, {16384, "80 80 01"},
		{2097151, "ff ff 7f"}, {2097152, "80 80 80 01"}, {268435455, "ff ff ff 7f"},
	}
	for _, c := range cases {
		want := hx(c.hex)
		if got := appendVBI(nil, c.value); !bytes.Equal(got, want) {
			t.Errorf("encode %d: % x, want % x", c.value, got, want)
		}
		if v, n, problem := decodeVBI(want); v != c.value || n != len(want) || problem != "" {
			t.Errorf("decode % x: %d, %d, %q", want, v, n, problem)
		}
		if c.value == 0 || c.value > 1<<22 {
			continue // PINGREQ below; 256 MiB is more than a unit test should allocate
		}
		p := &Publish{Topic: "t", Payload: make([]byte, c.value-3)}
		b := encode(t, p, Version311)
		if !bytes.Equal(b[1:1+len(want)], want) || len(b) != 1+len(want)+int(c.value) {
			t.Errorf("PUBLISH of remaining length %d: header % x", c.value, b[:1+len(want)])
		}
		if got, err := read(b, Version311, Limits{}); err != nil || len(got.(*Publish).Payload) != int(c.value-3) {
			t.Errorf("PUBLISH of remaining length %d: %v", c.value, err)
		}
	}
	if b := encode(t, &Pingreq{}, Version311); !bytes.Equal(b, hx("c0 00")) {
		t.Errorf("PINGREQ % x", b)
	}
	for _, bad := range []string{"ff ff ff ff 7f", "ff ff ff ff", "80 00", "ff 80 00", "80"} {
		if _, _, problem := decodeVBI(hx(bad)); problem == "" {
			t.Errorf("% x accepted", bad)
		}
	}
	// Five bytes as a Remaining Length, and as a property length.
	if _, err := read(hx("30 80 80 80 80 01"), Version311, Limits{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("5-byte remaining length: %v", err)
	}
	if _, err := read(hx("30 09 00 01 61 80 80 80 80 01 00"), Version5, Limits{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("5-byte property length: %v", err)
	}
}

// Packets built by hand from the examples and figures of the
// specifications, byte for byte, both ways.
func TestSpecificationExamples(t *testing.T) {
	will := func() *Will { return &Will{QoS: 1, Topic: "w", Payload: []byte("bye")} }
	cases := []struct {
		name    string
		version byte
		p       Packet
		hex     string
	}{
		// MQTT 3.1.1 section 3.1.2.11, Figure 3.6 (flags 0xCE, keep alive 10), with a payload.
		{"CONNECT 3.1.1", Version311, &Connect{Version: Version311, CleanStart: true, KeepAlive: 10, ClientID: "pier",
			Will: will(), HasUsername: true, Username: "u", HasPassword: true, Password: []byte("p")},
			"10 1e 00 04 4d 51 54 54 04 ce 00 0a 00 04 70 69 65 72 00 01 77 00 03 62 79 65 00 01 75 00 01 70"},
		// MQTT 5.0 section 3.1.2.12, Figure 3-6: the same with Session Expiry Interval 10.
		{"CONNECT 5", Version5, &Connect{Version: Version5, CleanStart: true, KeepAlive: 10,
			Properties: Properties{SessionExpiry: ptr[uint32](10)}, ClientID: "pier",
			Will: will(), HasUsername: true, Username: "u", HasPassword: true, Password: []byte("p")},
			"10 25 00 04 4d 51 54 54 05 ce 00 0a 05 11 00 00 00 0a 00 04 70 69 65 72 00 00 01 77 00 03 62 79 65 00 01 75 00 01 70"},
		{"CONNACK 3.1.1", Version311, &Connack{SessionPresent: true}, "20 02 01 00"},
		{"CONNACK 3.1.1 refused", Version311, &Connack{Reason: BadUsernameOrPassword}, "20 02 00 04"},
		{"CONNACK 5", Version5, &Connack{}, "20 03 00 00 00"},
		// MQTT 3.1.1 section 3.3.2.3, Figure 3.11: topic "a/b", packet identifier 10.
		{"PUBLISH 3.1.1", Version311, &Publish{QoS: 1, Topic: "a/b", PacketID: 10, Payload: []byte("hi")},
			"32 09 00 03 61 2f 62 00 0a 68 69"},
		{"PUBLISH 5", Version5, &Publish{QoS: 1, Topic: "a/b", PacketID: 10, Payload: []byte("hi")},
			"32 0a 00 03 61 2f 62 00 0a 00 68 69"},
		// MQTT 5.0 section 1.5.4, Figure 1-2: "A" U+2A6D4.
		{"UTF-8 example topic", Version311, &Publish{Topic: "A\U0002A6D4", Payload: []byte{}},
			"30 07 00 05 41 f0 aa 9b 94"},
		{"PUBLISH retained with user properties", Version5, &Publish{Retain: true, Topic: "t",
			Properties: Properties{User: []UserProperty{{"a", "b"}}}, Payload: []byte{}},
			"31 0b 00 01 74 07 26 00 01 61 00 01 62"},
		{"PUBACK 3.1.1", Version311, &Puback{Ack{PacketID: 10}}, "40 02 00 0a"},
		{"PUBACK 5 success", Version5, &Puback{Ack{PacketID: 10}}, "40 02 00 0a"},
		{"PUBACK 5 reason", Version5, &Puback{Ack{PacketID: 10, Reason: NoMatchingSubscribers}}, "40 03 00 0a 10"},
		{"PUBACK 5 properties", Version5, &Puback{Ack{PacketID: 10, Properties: Properties{ReasonString: "x"}}},
			"40 08 00 0a 00 04 1f 00 01 78"},
		{"PUBREC", Version311, &Pubrec{Ack{PacketID: 10}}, "50 02 00 0a"},
		{"PUBREL", Version311, &Pubrel{Ack{PacketID: 10}}, "62 02 00 0a"},
		{"PUBCOMP", Version5, &Pubcomp{Ack{PacketID: 10, Reason: PacketIDNotFound}}, "70 03 00 0a 92"},
		// MQTT 3.1.1 section 3.8.3, Figure 3.22: "a/b" QoS 1, "c/d" QoS 2.
		{"SUBSCRIBE 3.1.1", Version311, &Subscribe{PacketID: 10, Subscriptions: []Subscription{
			{Filter: "a/b", QoS: 1}, {Filter: "c/d", QoS: 2}}},
			"82 0e 00 0a 00 03 61 2f 62 01 00 03 63 2f 64 02"},
		// MQTT 5.0 section 3.8.3.1: options QoS 1, No Local, Retain As Published, Retain Handling 2.
		{"SUBSCRIBE 5", Version5, &Subscribe{PacketID: 10, Subscriptions: []Subscription{
			{Filter: "a/b", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2}}},
			"82 09 00 0a 00 00 03 61 2f 62 2d"},
		{"SUBSCRIBE 5 with a Subscription Identifier", Version5, &Subscribe{PacketID: 10,
			Properties: Properties{SubscriptionIDs: []uint32{200}}, Subscriptions: []Subscription{{Filter: "a"}}},
			"82 0a 00 0a 03 0b c8 01 00 01 61 00"},
		// MQTT 3.1.1 section 3.9.3, Figure 3.26: QoS 0, QoS 2, Failure.
		{"SUBACK 3.1.1", Version311, &Suback{PacketID: 10, Reasons: []ReasonCode{Success, GrantedQoS2, UnspecifiedError}},
			"90 05 00 0a 00 02 80"},
		{"SUBACK 5", Version5, &Suback{PacketID: 10, Reasons: []ReasonCode{GrantedQoS1, NotAuthorized}},
			"90 05 00 0a 00 01 87"},
		// MQTT 3.1.1 section 3.10.3, Figure 3.30: "a/b", "c/d".
		{"UNSUBSCRIBE 3.1.1", Version311, &Unsubscribe{PacketID: 10, Filters: []string{"a/b", "c/d"}},
			"a2 0c 00 0a 00 03 61 2f 62 00 03 63 2f 64"},
		{"UNSUBACK 3.1.1", Version311, &Unsuback{PacketID: 10}, "b0 02 00 0a"},
		{"UNSUBACK 5", Version5, &Unsuback{PacketID: 10, Reasons: []ReasonCode{Success, NoSubscriptionExisted}},
			"b0 05 00 0a 00 00 11"},
		{"PINGREQ", Version5, &Pingreq{}, "c0 00"},
		{"PINGRESP", Version311, &Pingresp{}, "d0 00"},
		{"DISCONNECT 3.1.1", Version311, &Disconnect{}, "e0 00"},
		{"DISCONNECT 5 normal", Version5, &Disconnect{}, "e0 00"},
		{"DISCONNECT 5 with will", Version5, &Disconnect{Reason: DisconnectWithWill}, "e0 01 04"},
		{"DISCONNECT 5 session expiry", Version5, &Disconnect{Properties: Properties{SessionExpiry: ptr[uint32](0)}},
			"e0 07 00 05 11 00 00 00 00"},
		{"AUTH", Version5, &Auth{Reason: ContinueAuthentication, Properties: Properties{AuthMethod: "m"}},
			"f0 06 18 04 15 00 01 6d"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := hx(c.hex)
			if got := encode(t, c.p, c.version); !bytes.Equal(got, want) {
				t.Errorf("encoded\n % x\nwant\n % x", got, want)
			}
			rv := c.version
			if c.p.Type() == CONNECT {
				rv = 0
			}
			got, err := read(want, rv, Limits{})
			if err != nil || !reflect.DeepEqual(got, c.p) {
				t.Errorf("decoded %#v, %v\nwant %#v", got, err, c.p)
			}
		})
	}
}

// The encoder refuses what it cannot write as the specification says.
func TestEncodeRefuses(t *testing.T) {
	long := string(make([]byte, 70000))
	cases := []struct {
		name    string
		version byte
		p       Packet
	}{
		{"QoS 3", Version311, &Publish{QoS: 3, Topic: "a"}},
		{"packet id 0", Version311, &Publish{QoS: 1, Topic: "a"}},
		{"DUP on QoS 0", Version5, &Publish{Dup: true, Topic: "a"}},
		{"empty topic", Version311, &Publish{Topic: ""}},
		{"topic too long", Version311, &Publish{Topic: long}},
		{"property not allowed", Version5, &Publish{Topic: "a", Properties: Properties{SessionExpiry: ptr[uint32](1)}}},
		{"two Subscription Identifiers in SUBSCRIBE", Version5, &Subscribe{PacketID: 1,
			Properties: Properties{SubscriptionIDs: []uint32{1, 2}}, Subscriptions: []Subscription{{Filter: "a"}}}},
		{"empty SUBSCRIBE", Version311, &Subscribe{PacketID: 1}},
		{"empty UNSUBSCRIBE", Version311, &Unsubscribe{PacketID: 1}},
		{"SUBACK without reasons", Version5, &Suback{PacketID: 1}},
		{"PUBACK reason not its own", Version5, &Puback{Ack{PacketID: 1, Reason: GrantedQoS1}}},
		{"CONNACK session present on failure", Version5, &Connack{SessionPresent: true, Reason: Banned}},
		{"password without user 3.1.1", Version311, &Connect{HasPassword: true}},
		{"CONNECT level 3", Version311, &Connect{Version: 3}},
		{"AUTH in 3.1.1", Version311, &Auth{}},
		{"unknown version", 6, &Pingreq{}},
		{"will QoS 3", Version5, &Connect{Will: &Will{QoS: 3, Topic: "w"}}},
	}
	for _, c := range cases {
		if _, err := Append(nil, c.p, c.version); !errors.Is(err, ErrEncode) {
			t.Errorf("%s: %v, want ErrEncode", c.name, err)
		}
	}
}

// MQTT 3.1.1 has fewer codes: the encoder maps MQTT 5 reasons onto them.
func TestVersion311Mapping(t *testing.T) {
	for reason, code := range map[ReasonCode]byte{
		Success: 0, UnsupportedProtocolVersion: 1, ClientIDNotValid: 2, ServerUnavailable: 3,
		BadUsernameOrPassword: 4, NotAuthorized: 5, Banned: 5, BadAuthenticationMethod: 4,
		ServerBusy: 3, QuotaExceeded: 3,
	} {
		if b := encode(t, &Connack{Reason: reason}, Version311); b[3] != code {
			t.Errorf("CONNACK %s: return code %d, want %d", reason, b[3], code)
		}
	}
	b := encode(t, &Suback{PacketID: 1, Reasons: []ReasonCode{NotAuthorized, GrantedQoS1}}, Version311)
	if !bytes.Equal(b, hx("90 04 00 01 80 01")) {
		t.Errorf("SUBACK 3.1.1 % x", b)
	}
	// MQTT 5 fields are left out of MQTT 3.1.1 packets.
	b = encode(t, &Puback{Ack{PacketID: 1, Reason: QuotaExceeded, Properties: Properties{ReasonString: "x"}}}, Version311)
	if !bytes.Equal(b, hx("40 02 00 01")) {
		t.Errorf("PUBACK 3.1.1 % x", b)
	}
}

// The Writer refuses a packet over the peer's maximum and writes nothing.
func TestWriterMaxPacketSize(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.MaxPacketSize = 10
	if err := w.WritePacket(&Publish{Topic: "a", Payload: []byte("12345")}, Version5); !errors.Is(err, ErrTooLarge) || out.Len() != 0 {
		t.Fatalf("11-byte packet, maximum 10: %v, wrote %d bytes", err, out.Len())
	}
	if err := w.WritePacket(&Publish{Topic: "a", Payload: []byte("1234")}, Version5); err != nil || out.Len() != 10 {
		t.Fatalf("10-byte packet: %v, wrote %d bytes", err, out.Len())
	}
}
