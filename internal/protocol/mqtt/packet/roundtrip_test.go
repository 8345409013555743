package packet

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

// decodeAll reads every packet in b for version, failing on any error.
func decodeAll(t *testing.T, b []byte, version byte) []Packet {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(b))
	var out []Packet
	for r.Buffered() > 0 || len(out) == 0 {
		p, err := ReadPacket(r, version, Limits{})
		if err != nil {
			t.Fatalf("ReadPacket: %v", err)
		}
		out = append(out, p)
		if _, err := r.Peek(1); err != nil {
			break
		}
	}
	return out
}

// encode appends p for version, failing on error.
func encode(t testing.TB, p Packet, version byte) []byte {
	t.Helper()
	b, err := Append(nil, p, version)
	if err != nil {
		t.Fatalf("Append %s: %v", p.Type(), err)
	}
	return b
}

// fullProps sets every property a context may carry to a non-default value.
func fullProps(ctx Type) Properties {
	all := Properties{
		PayloadFormat: 1, MessageExpiry: ptr[uint32](3600), ContentType: "text/plain",
		ResponseTopic: "reply/to", CorrelationData: []byte{1, 2, 3},
		SubscriptionIDs: []uint32{7, 268435455}, SessionExpiry: ptr[uint32](0xFFFFFFFF),
		AssignedClientID: "auto-1", ServerKeepAlive: ptr[uint16](0), AuthMethod: "SCRAM-SHA-1",
		AuthData: []byte{}, RequestProblemInfo: ptr(false), WillDelay: 30, RequestResponseInfo: true,
		ResponseInfo: "resp/", ServerReference: "other:1883", ReasonString: "because",
		ReceiveMaximum: 10, TopicAliasMaximum: 5, TopicAlias: 3, MaximumQoS: ptr[byte](1),
		RetainAvailable: ptr(false), MaximumPacketSize: 1 << 20,
		User:                 []UserProperty{{"a", "b"}, {"a", "c"}, {"", ""}, {"ключ", "значение"}},
		WildcardSubAvailable: ptr(false), SubIDsAvailable: ptr(true), SharedSubAvailable: ptr(false),
	}
	var p Properties
	allowed := allowedProps(ctx)
	src, dst := reflect.ValueOf(all), reflect.ValueOf(&p).Elem()
	ids := []uint32{propPayloadFormat, propMessageExpiry, propContentType, propResponseTopic,
		propCorrelationData, propSubscriptionID, propSessionExpiry, propAssignedClientID,
		propServerKeepAlive, propAuthMethod, propAuthData, propRequestProblemInfo, propWillDelay,
		propRequestResponseInfo, propResponseInfo, propServerReference, propReasonString,
		propReceiveMaximum, propTopicAliasMaximum, propTopicAlias, propMaximumQoS,
		propRetainAvailable, propUserProperty, propMaximumPacketSize, propWildcardSubAvailable,
		propSubIDsAvailable, propSharedSubAvailable}
	for i, id := range ids { // the fields are declared in identifier order
		if allowed&(1<<id) != 0 {
			dst.Field(i).Set(src.Field(i))
		}
	}
	if ctx == SUBSCRIBE {
		p.SubscriptionIDs = p.SubscriptionIDs[:1]
	}
	return p
}

// samples returns one or more packets of every type for version, with
// every field they have in that version set.
func samples(v byte) []Packet {
	props := func(t Type) Properties {
		if v == Version5 {
			return fullProps(t)
		}
		return Properties{}
	}
	ack := func(t Type, reason ReasonCode) Ack {
		a := Ack{PacketID: 0xFFFF, Properties: props(t)}
		if v == Version5 {
			a.Reason = reason
		}
		return a
	}
	willProps := props(willProperties)
	ps := []Packet{
		&Connect{Version: v, CleanStart: true, KeepAlive: 60, Properties: props(CONNECT), ClientID: "client-1",
			Will:        &Will{QoS: 2, Retain: true, Properties: willProps, Topic: "status/client-1", Payload: []byte("gone")},
			HasUsername: true, Username: "user", HasPassword: true, Password: []byte("secret")},
		&Connect{Version: v, ClientID: ""},
		&Connack{SessionPresent: true, Properties: props(CONNACK)},
		&Connack{Reason: NotAuthorized},
		&Publish{QoS: 0, Topic: "a/b", Payload: []byte{}, Properties: props(PUBLISH)},
		&Publish{Dup: true, QoS: 1, Retain: true, Topic: "a/b/c", PacketID: 1, Payload: []byte("hello")},
		&Publish{QoS: 2, Topic: "x", PacketID: 65535, Payload: bytes.Repeat([]byte{0}, 300)},
		&Puback{ack(PUBACK, NoMatchingSubscribers)}, &Pubrec{ack(PUBREC, QuotaExceeded)},
		&Pubrel{ack(PUBREL, PacketIDNotFound)}, &Pubcomp{ack(PUBCOMP, Success)},
		&Puback{Ack{PacketID: 2}},
		&Subscribe{PacketID: 3, Properties: props(SUBSCRIBE), Subscriptions: []Subscription{
			{Filter: "a/+/c", QoS: 1}, {Filter: "#", QoS: 2}, {Filter: "$SYS/x"}}},
		&Suback{PacketID: 3, Properties: props(SUBACK), Reasons: []ReasonCode{GrantedQoS1, GrantedQoS2, Success, UnspecifiedError}},
		&Unsubscribe{PacketID: 4, Properties: props(UNSUBSCRIBE), Filters: []string{"a/+/c", "#"}},
		&Pingreq{}, &Pingresp{}, &Disconnect{},
	}
	if v == Version311 {
		return append(ps, &Unsuback{PacketID: 4})
	}
	return append(ps,
		&Subscribe{PacketID: 5, Subscriptions: []Subscription{
			{Filter: "$share/g/a/#", QoS: 1, RetainAsPublished: true, RetainHandling: 2},
			{Filter: "b", NoLocal: true, RetainHandling: 1}}},
		&Suback{PacketID: 5, Reasons: []ReasonCode{NotAuthorized, SharedSubNotSupported}},
		&Unsuback{PacketID: 4, Properties: props(UNSUBACK), Reasons: []ReasonCode{Success, NoSubscriptionExisted}},
		&Publish{QoS: 1, PacketID: 9, Properties: Properties{TopicAlias: 4}, Payload: []byte("aliased")},
		&Disconnect{Reason: DisconnectWithWill},
		&Disconnect{Reason: ServerShuttingDown, Properties: props(DISCONNECT)},
		&Auth{}, &Auth{Reason: ContinueAuthentication, Properties: props(AUTH)},
		&Auth{Reason: ReAuthenticate},
	)
}

func TestRoundTrip(t *testing.T) {
	for _, v := range []byte{Version311, Version5} {
		for _, p := range samples(v) {
			b := encode(t, p, v)
			readVersion := v
			if p.Type() == CONNECT {
				readVersion = 0
			}
			got := decodeAll(t, b, readVersion)
			if len(got) != 1 || !reflect.DeepEqual(got[0], p) {
				t.Errorf("v%d %s: round trip\n got %#v\nwant %#v\nbytes % x", v, p.Type(), got[0], p, b)
			}
			// The Writer writes the same bytes.
			var out bytes.Buffer
			if err := NewWriter(&out).WritePacket(p, v); err != nil || !bytes.Equal(out.Bytes(), b) {
				t.Errorf("v%d %s: Writer wrote % x (%v), Append % x", v, p.Type(), out.Bytes(), err, b)
			}
		}
	}
}

// TestAppendKeepsPrefix checks that Append adds after what dst holds.
func TestAppendKeepsPrefix(t *testing.T) {
	prefix := []byte("xyz")
	b, err := Append(prefix, &Pingreq{}, Version311)
	if err != nil || string(b) != "xyz\xc0\x00" {
		t.Fatalf("Append = %q, %v", b, err)
	}
	if _, err := Append(prefix, &Auth{}, Version311); !errors.Is(err, ErrEncode) {
		t.Fatalf("AUTH in 3.1.1: %v, want ErrEncode", err)
	}
}
