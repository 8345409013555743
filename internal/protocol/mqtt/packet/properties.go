package packet

import "fmt"

// Property identifiers (MQTT 5.0 section 2.2.2.2, Table 2-4).
const (
	propPayloadFormat             = 0x01
	propMessageExpiry             = 0x02
	propContentType               = 0x03
	propResponseTopic             = 0x08
	propCorrelationData           = 0x09
	propSubscriptionID            = 0x0B
	propSessionExpiry             = 0x11
	propAssignedClientID          = 0x12
	propServerKeepAlive           = 0x13
	propAuthMethod                = 0x15
	propAuthData                  = 0x16
	propRequestProblemInfo        = 0x17
	propWillDelay                 = 0x18
	propRequestResponseInfo       = 0x19
	propResponseInfo              = 0x1A
	propServerReference           = 0x1C
	propReasonString              = 0x1F
	propReceiveMaximum            = 0x21
	propTopicAliasMaximum         = 0x22
	propTopicAlias                = 0x23
	propMaximumQoS                = 0x24
	propRetainAvailable           = 0x25
	propUserProperty              = 0x26
	propMaximumPacketSize         = 0x27
	propWildcardSubAvailable      = 0x28
	propSubIDsAvailable           = 0x29
	propSharedSubAvailable        = 0x2A
	willProperties           Type = 0 // the context of the Will Properties of a CONNECT
)

var propNames = [...]string{
	propPayloadFormat: "Payload Format Indicator", propMessageExpiry: "Message Expiry Interval",
	propContentType: "Content Type", propResponseTopic: "Response Topic",
	propCorrelationData: "Correlation Data", propSubscriptionID: "Subscription Identifier",
	propSessionExpiry: "Session Expiry Interval", propAssignedClientID: "Assigned Client Identifier",
	propServerKeepAlive: "Server Keep Alive", propAuthMethod: "Authentication Method",
	propAuthData: "Authentication Data", propRequestProblemInfo: "Request Problem Information",
	propWillDelay: "Will Delay Interval", propRequestResponseInfo: "Request Response Information",
	propResponseInfo: "Response Information", propServerReference: "Server Reference",
	propReasonString: "Reason String", propReceiveMaximum: "Receive Maximum",
	propTopicAliasMaximum: "Topic Alias Maximum", propTopicAlias: "Topic Alias",
	propMaximumQoS: "Maximum QoS", propRetainAvailable: "Retain Available",
	propUserProperty: "User Property", propMaximumPacketSize: "Maximum Packet Size",
	propWildcardSubAvailable: "Wildcard Subscription Available",
	propSubIDsAvailable:      "Subscription Identifier Available",
	propSharedSubAvailable:   "Shared Subscription Available",
}

func propName(id uint32) string {
	if id < uint32(len(propNames)) && propNames[id] != "" {
		return propNames[id]
	}
	return fmt.Sprintf("unknown property 0x%02X", id)
}

func bits(ids ...uint32) (m uint64) {
	for _, id := range ids {
		m |= 1 << id
	}
	return m
}

// allowedProps is the set of properties a packet of type t (or the Will
// Properties, for willProperties) may carry, as Table 2-4 lists them.
func allowedProps(t Type) uint64 {
	switch t {
	case willProperties:
		return bits(propPayloadFormat, propMessageExpiry, propContentType, propResponseTopic,
			propCorrelationData, propWillDelay, propUserProperty)
	case CONNECT:
		return bits(propSessionExpiry, propAuthMethod, propAuthData, propRequestProblemInfo,
			propRequestResponseInfo, propReceiveMaximum, propTopicAliasMaximum, propUserProperty,
			propMaximumPacketSize)
	case CONNACK:
		return bits(propSessionExpiry, propAssignedClientID, propServerKeepAlive, propAuthMethod,
			propAuthData, propResponseInfo, propServerReference, propReasonString, propReceiveMaximum,
			propTopicAliasMaximum, propMaximumQoS, propRetainAvailable, propUserProperty,
			propMaximumPacketSize, propWildcardSubAvailable, propSubIDsAvailable, propSharedSubAvailable)
	case PUBLISH:
		return bits(propPayloadFormat, propMessageExpiry, propContentType, propResponseTopic,
			propCorrelationData, propSubscriptionID, propTopicAlias, propUserProperty)
	case PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK:
		return bits(propReasonString, propUserProperty)
	case SUBSCRIBE:
		return bits(propSubscriptionID, propUserProperty)
	case UNSUBSCRIBE:
		return bits(propUserProperty)
	case DISCONNECT:
		return bits(propSessionExpiry, propServerReference, propReasonString, propUserProperty)
	case AUTH:
		return bits(propAuthMethod, propAuthData, propReasonString, propUserProperty)
	}
	return 0
}

// contextName names where properties are, for error messages.
func contextName(t Type) string {
	if t == willProperties {
		return "the Will Properties"
	}
	return t.String()
}

// UserProperty is one User Property, a name and a value; names may repeat.
type UserProperty struct {
	Key, Value string
}

// Properties are the MQTT 5 properties of a packet (section 2.2.2). A
// field whose zero value means the same as its absence is a plain value
// and is omitted when zero; a field whose absence means something else is
// a pointer (nil: absent). The comment of each field gives its identifier
// and where absence differs from zero. A packet may carry only the
// properties Table 2-4 allows it; MQTT 3.1.1 packets carry none (the
// encoder leaves them out).
type Properties struct {
	PayloadFormat        byte     // 0x01: 0 unspecified bytes, 1 UTF-8
	MessageExpiry        *uint32  // 0x02: seconds; absent, the message does not expire
	ContentType          string   // 0x03
	ResponseTopic        string   // 0x08
	CorrelationData      []byte   // 0x09: nil when absent
	SubscriptionIDs      []uint32 // 0x0B: several in PUBLISH, at most one in SUBSCRIBE
	SessionExpiry        *uint32  // 0x11: seconds; absent in CONNACK/DISCONNECT, unchanged
	AssignedClientID     string   // 0x12
	ServerKeepAlive      *uint16  // 0x13: seconds
	AuthMethod           string   // 0x15
	AuthData             []byte   // 0x16: nil when absent
	RequestProblemInfo   *bool    // 0x17: absent means true
	WillDelay            uint32   // 0x18: seconds
	RequestResponseInfo  bool     // 0x19
	ResponseInfo         string   // 0x1A
	ServerReference      string   // 0x1C
	ReasonString         string   // 0x1F
	ReceiveMaximum       uint16   // 0x21: 0 when absent, which means 65535
	TopicAliasMaximum    uint16   // 0x22
	TopicAlias           uint16   // 0x23: 0 when absent
	MaximumQoS           *byte    // 0x24: absent means 2
	RetainAvailable      *bool    // 0x25: absent means true
	User                 []UserProperty
	MaximumPacketSize    uint32 // 0x27: 0 when absent, which means no limit
	WildcardSubAvailable *bool  // 0x28: absent means true
	SubIDsAvailable      *bool  // 0x29: absent means true
	SharedSubAvailable   *bool  // 0x2A: absent means true
}

// properties reads a Property Length and the properties of context ctx.
func (d *decoder) properties(p *Properties, ctx Type) {
	n := d.vbi("property length")
	block := d.take(int(n), "properties")
	if !d.ok() {
		return
	}
	sub := decoder{b: block, t: d.t, version: d.version}
	allowed := allowedProps(ctx)
	var seen uint64
	for sub.ok() && len(sub.b) > 0 {
		id := sub.vbi("property identifier")
		if !sub.ok() {
			break
		}
		if id >= 64 || allowed&(1<<id) == 0 {
			sub.malformed("%s not allowed in %s", propName(id), contextName(ctx))
			break
		}
		repeatable := id == propUserProperty || id == propSubscriptionID && ctx == PUBLISH
		if seen&(1<<id) != 0 && !repeatable {
			sub.protocol("%s more than once", propName(id))
			break
		}
		seen |= 1 << id
		sub.property(p, id)
	}
	if sub.err != nil {
		d.err, d.b = sub.err, nil
		return
	}
	if seen&(1<<propAuthData) != 0 && p.AuthMethod == "" {
		d.protocol("Authentication Data without Authentication Method")
	}
}

// flag reads a byte property that must be 0 or 1.
func (d *decoder) flag(id uint32) bool {
	v := d.u8(propName(id))
	if v > 1 {
		d.protocol("%s is %d, not 0 or 1", propName(id), v)
	}
	return v == 1
}

func (d *decoder) flagPtr(id uint32) *bool {
	v := d.flag(id)
	return &v
}

func (d *decoder) u32Ptr(id uint32) *uint32 {
	v := d.u32(propName(id))
	return &v
}

// nonZero reads a two-byte property that must not be 0.
func (d *decoder) nonZero16(id uint32, reason ReasonCode) uint16 {
	v := d.u16(propName(id))
	if d.ok() && v == 0 {
		d.fail(reason, "%s is 0", propName(id))
	}
	return v
}

// property reads the value of property id into p.
func (d *decoder) property(p *Properties, id uint32) {
	name := propName(id)
	switch id {
	case propPayloadFormat:
		if d.flag(id) {
			p.PayloadFormat = 1
		}
	case propMessageExpiry:
		p.MessageExpiry = d.u32Ptr(id)
	case propContentType:
		p.ContentType = d.str(name)
	case propResponseTopic:
		p.ResponseTopic = d.str(name)
		if problem := nameShapeProblem(p.ResponseTopic); d.ok() && problem != "" {
			d.malformed("%s %q: %s", name, p.ResponseTopic, problem)
		}
	case propCorrelationData:
		p.CorrelationData = d.bin(name)
	case propSubscriptionID:
		v := d.vbi(name)
		if d.ok() && v == 0 {
			d.protocol("%s is 0", name)
		}
		p.SubscriptionIDs = append(p.SubscriptionIDs, v)
	case propSessionExpiry:
		p.SessionExpiry = d.u32Ptr(id)
	case propAssignedClientID:
		p.AssignedClientID = d.str(name)
	case propServerKeepAlive:
		v := d.u16(name)
		p.ServerKeepAlive = &v
	case propAuthMethod:
		p.AuthMethod = d.str(name)
	case propAuthData:
		p.AuthData = d.bin(name)
	case propRequestProblemInfo:
		p.RequestProblemInfo = d.flagPtr(id)
	case propWillDelay:
		p.WillDelay = d.u32(name)
	case propRequestResponseInfo:
		p.RequestResponseInfo = d.flag(id)
	case propResponseInfo:
		p.ResponseInfo = d.str(name)
	case propServerReference:
		p.ServerReference = d.str(name)
	case propReasonString:
		p.ReasonString = d.str(name)
	case propReceiveMaximum:
		p.ReceiveMaximum = d.nonZero16(id, ProtocolError)
	case propTopicAliasMaximum:
		p.TopicAliasMaximum = d.u16(name)
	case propTopicAlias:
		p.TopicAlias = d.nonZero16(id, TopicAliasInvalid)
	case propMaximumQoS:
		q := d.u8(name)
		if q > 1 {
			d.protocol("%s is %d, not 0 or 1", name, q)
		}
		p.MaximumQoS = &q
	case propRetainAvailable:
		p.RetainAvailable = d.flagPtr(id)
	case propUserProperty:
		k := d.str("User Property name")
		v := d.str("User Property value")
		p.User = append(p.User, UserProperty{k, v})
	case propMaximumPacketSize:
		p.MaximumPacketSize = d.u32(name)
		if d.ok() && p.MaximumPacketSize == 0 {
			d.protocol("%s is 0", name)
		}
	case propWildcardSubAvailable:
		p.WildcardSubAvailable = d.flagPtr(id)
	case propSubIDsAvailable:
		p.SubIDsAvailable = d.flagPtr(id)
	case propSharedSubAvailable:
		p.SharedSubAvailable = d.flagPtr(id)
	}
}

// prop appends the identifier of a property about to be written, or fails
// if ctx may not carry it.
func (e *encoder) prop(id byte, ctx Type) bool {
	if allowedProps(ctx)&(1<<id) == 0 {
		e.fail("%s not allowed in %s", propName(uint32(id)), contextName(ctx))
		return false
	}
	e.u8(id)
	return true
}

func (e *encoder) flag(id byte, ctx Type, v *bool) {
	if v != nil && e.prop(id, ctx) {
		e.u8(b2u(*v))
	}
}

func (e *encoder) propStr(id byte, ctx Type, v string) {
	if v != "" && e.prop(id, ctx) {
		e.str(v, propName(uint32(id)))
	}
}

func (e *encoder) propBin(id byte, ctx Type, v []byte) {
	if v != nil && e.prop(id, ctx) {
		e.bin(v, propName(uint32(id)))
	}
}

func (e *encoder) prop16(id byte, ctx Type, v uint16) {
	if v != 0 && e.prop(id, ctx) {
		e.u16(v)
	}
}

func (e *encoder) prop32(id byte, ctx Type, v *uint32) {
	if v != nil && e.prop(id, ctx) {
		e.u32(*v)
	}
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// properties appends a Property Length and the properties p holds for
// context ctx, in identifier order (user properties in their order).
func (e *encoder) properties(p *Properties, ctx Type) {
	mark := e.open()
	if p.PayloadFormat != 0 && e.prop(propPayloadFormat, ctx) {
		e.u8(p.PayloadFormat)
	}
	e.prop32(propMessageExpiry, ctx, p.MessageExpiry)
	e.propStr(propContentType, ctx, p.ContentType)
	e.propStr(propResponseTopic, ctx, p.ResponseTopic)
	e.propBin(propCorrelationData, ctx, p.CorrelationData)
	if len(p.SubscriptionIDs) > 1 && ctx != PUBLISH {
		e.fail("%d Subscription Identifiers, at most one", len(p.SubscriptionIDs))
	}
	for _, id := range p.SubscriptionIDs {
		if id == 0 {
			e.fail("Subscription Identifier 0")
		}
		if e.prop(propSubscriptionID, ctx) {
			e.vbi(id, "Subscription Identifier")
		}
	}
	e.prop32(propSessionExpiry, ctx, p.SessionExpiry)
	e.propStr(propAssignedClientID, ctx, p.AssignedClientID)
	if p.ServerKeepAlive != nil && e.prop(propServerKeepAlive, ctx) {
		e.u16(*p.ServerKeepAlive)
	}
	e.propStr(propAuthMethod, ctx, p.AuthMethod)
	e.propBin(propAuthData, ctx, p.AuthData)
	e.flag(propRequestProblemInfo, ctx, p.RequestProblemInfo)
	if p.WillDelay != 0 {
		e.prop32(propWillDelay, ctx, &p.WillDelay)
	}
	if p.RequestResponseInfo && e.prop(propRequestResponseInfo, ctx) {
		e.u8(1)
	}
	e.propStr(propResponseInfo, ctx, p.ResponseInfo)
	e.propStr(propServerReference, ctx, p.ServerReference)
	e.propStr(propReasonString, ctx, p.ReasonString)
	e.prop16(propReceiveMaximum, ctx, p.ReceiveMaximum)
	e.prop16(propTopicAliasMaximum, ctx, p.TopicAliasMaximum)
	e.prop16(propTopicAlias, ctx, p.TopicAlias)
	if p.MaximumQoS != nil && e.prop(propMaximumQoS, ctx) {
		e.u8(*p.MaximumQoS)
	}
	e.flag(propRetainAvailable, ctx, p.RetainAvailable)
	for _, u := range p.User {
		if e.prop(propUserProperty, ctx) {
			e.str(u.Key, "User Property name")
			e.str(u.Value, "User Property value")
		}
	}
	if p.MaximumPacketSize != 0 {
		e.prop32(propMaximumPacketSize, ctx, &p.MaximumPacketSize)
	}
	e.flag(propWildcardSubAvailable, ctx, p.WildcardSubAvailable)
	e.flag(propSubIDsAvailable, ctx, p.SubIDsAvailable)
	e.flag(propSharedSubAvailable, ctx, p.SharedSubAvailable)
	e.close(mark, "properties")
}
