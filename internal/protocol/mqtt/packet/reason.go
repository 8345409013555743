package packet

import "fmt"

// ReasonCode is an MQTT 5 reason code (section 2.4). Values below 0x80
// report success, 0x80 and above failure. MQTT 3.1.1 packets that carry a
// result (CONNACK, SUBACK) are mapped to and from these codes, so that the
// server speaks one vocabulary for both versions.
type ReasonCode byte

// The reason codes of MQTT 5.0 section 2.4, Table 2-6.
const (
	Success                     ReasonCode = 0x00 // also Normal disconnection, Granted QoS 0
	GrantedQoS1                 ReasonCode = 0x01
	GrantedQoS2                 ReasonCode = 0x02
	DisconnectWithWill          ReasonCode = 0x04
	NoMatchingSubscribers       ReasonCode = 0x10
	NoSubscriptionExisted       ReasonCode = 0x11
	ContinueAuthentication      ReasonCode = 0x18
	ReAuthenticate              ReasonCode = 0x19
	UnspecifiedError            ReasonCode = 0x80
	MalformedPacket             ReasonCode = 0x81
	ProtocolError               ReasonCode = 0x82
	ImplementationError         ReasonCode = 0x83
	UnsupportedProtocolVersion  ReasonCode = 0x84
	ClientIDNotValid            ReasonCode = 0x85
	BadUsernameOrPassword       ReasonCode = 0x86
	NotAuthorized               ReasonCode = 0x87
	ServerUnavailable           ReasonCode = 0x88
	ServerBusy                  ReasonCode = 0x89
	Banned                      ReasonCode = 0x8A
	ServerShuttingDown          ReasonCode = 0x8B
	BadAuthenticationMethod     ReasonCode = 0x8C
	KeepAliveTimeout            ReasonCode = 0x8D
	SessionTakenOver            ReasonCode = 0x8E
	TopicFilterInvalid          ReasonCode = 0x8F
	TopicNameInvalid            ReasonCode = 0x90
	PacketIDInUse               ReasonCode = 0x91
	PacketIDNotFound            ReasonCode = 0x92
	ReceiveMaximumExceeded      ReasonCode = 0x93
	TopicAliasInvalid           ReasonCode = 0x94
	PacketTooLarge              ReasonCode = 0x95
	MessageRateTooHigh          ReasonCode = 0x96
	QuotaExceeded               ReasonCode = 0x97
	AdministrativeAction        ReasonCode = 0x98
	PayloadFormatInvalid        ReasonCode = 0x99
	RetainNotSupported          ReasonCode = 0x9A
	QoSNotSupported             ReasonCode = 0x9B
	UseAnotherServer            ReasonCode = 0x9C
	ServerMoved                 ReasonCode = 0x9D
	SharedSubNotSupported       ReasonCode = 0x9E
	ConnectionRateExceeded      ReasonCode = 0x9F
	MaximumConnectTime          ReasonCode = 0xA0
	SubscriptionIDsNotSupported ReasonCode = 0xA1
	WildcardSubNotSupported     ReasonCode = 0xA2
)

var reasonNames = map[ReasonCode]string{
	Success: "Success", GrantedQoS1: "Granted QoS 1", GrantedQoS2: "Granted QoS 2",
	DisconnectWithWill: "Disconnect with Will Message", NoMatchingSubscribers: "No matching subscribers",
	NoSubscriptionExisted: "No subscription existed", ContinueAuthentication: "Continue authentication",
	ReAuthenticate: "Re-authenticate", UnspecifiedError: "Unspecified error",
	MalformedPacket: "Malformed Packet", ProtocolError: "Protocol Error",
	ImplementationError: "Implementation specific error", UnsupportedProtocolVersion: "Unsupported Protocol Version",
	ClientIDNotValid: "Client Identifier not valid", BadUsernameOrPassword: "Bad User Name or Password",
	NotAuthorized: "Not authorized", ServerUnavailable: "Server unavailable", ServerBusy: "Server busy",
	Banned: "Banned", ServerShuttingDown: "Server shutting down", BadAuthenticationMethod: "Bad authentication method",
	KeepAliveTimeout: "Keep Alive timeout", SessionTakenOver: "Session taken over",
	TopicFilterInvalid: "Topic Filter invalid", TopicNameInvalid: "Topic Name invalid",
	PacketIDInUse: "Packet Identifier in use", PacketIDNotFound: "Packet Identifier not found",
	ReceiveMaximumExceeded: "Receive Maximum exceeded", TopicAliasInvalid: "Topic Alias invalid",
	PacketTooLarge: "Packet too large", MessageRateTooHigh: "Message rate too high",
	QuotaExceeded: "Quota exceeded", AdministrativeAction: "Administrative action",
	PayloadFormatInvalid: "Payload format invalid", RetainNotSupported: "Retain not supported",
	QoSNotSupported: "QoS not supported", UseAnotherServer: "Use another server", ServerMoved: "Server moved",
	SharedSubNotSupported: "Shared Subscriptions not supported", ConnectionRateExceeded: "Connection rate exceeded",
	MaximumConnectTime: "Maximum connect time", SubscriptionIDsNotSupported: "Subscription Identifiers not supported",
	WildcardSubNotSupported: "Wildcard Subscriptions not supported",
}

func (c ReasonCode) String() string {
	if n, ok := reasonNames[c]; ok {
		return fmt.Sprintf("0x%02X %s", byte(c), n)
	}
	return fmt.Sprintf("0x%02X", byte(c))
}

// Failed reports whether c reports a failure (0x80 or above).
func (c ReasonCode) Failed() bool { return c >= 0x80 }

// codes builds a set of reason codes.
func codes(cs ...ReasonCode) (s [4]uint64) {
	for _, c := range cs {
		s[c>>6] |= 1 << (c & 63)
	}
	return s
}

// validReason reports whether an MQTT 5 packet of type t may carry c
// (the tables of sections 3.2.2.2, 3.4.2.1, 3.5.2.1, 3.6.2.1, 3.7.2.1,
// 3.9.3, 3.11.3, 3.14.2.1 and 3.15.2.1).
func validReason(t Type, c ReasonCode) bool {
	var s [4]uint64
	switch t {
	case CONNACK:
		s = codes(Success, UnspecifiedError, MalformedPacket, ProtocolError, ImplementationError,
			UnsupportedProtocolVersion, ClientIDNotValid, BadUsernameOrPassword, NotAuthorized,
			ServerUnavailable, ServerBusy, Banned, BadAuthenticationMethod, TopicNameInvalid,
			PacketTooLarge, QuotaExceeded, PayloadFormatInvalid, RetainNotSupported, QoSNotSupported,
			UseAnotherServer, ServerMoved, ConnectionRateExceeded)
	case PUBACK, PUBREC:
		s = codes(Success, NoMatchingSubscribers, UnspecifiedError, ImplementationError, NotAuthorized,
			TopicNameInvalid, PacketIDInUse, QuotaExceeded, PayloadFormatInvalid)
	case PUBREL, PUBCOMP:
		s = codes(Success, PacketIDNotFound)
	case SUBACK:
		s = codes(Success, GrantedQoS1, GrantedQoS2, UnspecifiedError, ImplementationError, NotAuthorized,
			TopicFilterInvalid, PacketIDInUse, QuotaExceeded, SharedSubNotSupported,
			SubscriptionIDsNotSupported, WildcardSubNotSupported)
	case UNSUBACK:
		s = codes(Success, NoSubscriptionExisted, UnspecifiedError, ImplementationError, NotAuthorized,
			TopicFilterInvalid, PacketIDInUse)
	case DISCONNECT:
		s = codes(Success, DisconnectWithWill, UnspecifiedError, MalformedPacket, ProtocolError,
			ImplementationError, NotAuthorized, ServerBusy, ServerShuttingDown, KeepAliveTimeout,
			SessionTakenOver, TopicFilterInvalid, TopicNameInvalid, ReceiveMaximumExceeded,
			TopicAliasInvalid, PacketTooLarge, MessageRateTooHigh, QuotaExceeded, AdministrativeAction,
			PayloadFormatInvalid, RetainNotSupported, QoSNotSupported, UseAnotherServer, ServerMoved,
			SharedSubNotSupported, ConnectionRateExceeded, MaximumConnectTime,
			SubscriptionIDsNotSupported, WildcardSubNotSupported)
	case AUTH:
		s = codes(Success, ContinueAuthentication, ReAuthenticate)
	}
	return s[c>>6]&(1<<(c&63)) != 0
}

// MQTT 3.1.1 CONNACK return codes (section 3.2.2.3) and the reason codes
// they stand for.
var connackV311 = [...]ReasonCode{
	Success, UnsupportedProtocolVersion, ClientIDNotValid, ServerUnavailable,
	BadUsernameOrPassword, NotAuthorized,
}

// connackReturnCode maps a reason code to the nearest MQTT 3.1.1 CONNACK
// return code.
func connackReturnCode(c ReasonCode) byte {
	for i, r := range connackV311 {
		if r == c {
			return byte(i)
		}
	}
	switch c {
	case BadAuthenticationMethod:
		return 4
	case Banned:
		return 5
	}
	if !c.Failed() {
		return 0
	}
	return 3 // Server unavailable
}
