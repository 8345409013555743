package packet

// Publish is a PUBLISH packet (MQTT 3.1.1 section 3.3, MQTT 5.0 section
// 3.3). Payload is a slice of the buffer the packet was read into, which
// belongs to the packet.
type Publish struct {
	Dup        bool
	QoS        byte
	Retain     bool
	Topic      string // empty in MQTT 5 when Properties.TopicAlias stands for it
	PacketID   uint16 // QoS 1 and 2 only
	Properties Properties
	Payload    []byte
}

// Type implements Packet.
func (*Publish) Type() Type { return PUBLISH }

func (p *Publish) decode(d *decoder, flags byte) {
	p.Dup, p.QoS, p.Retain = flags&8 != 0, flags>>1&3, flags&1 != 0
	switch {
	case p.QoS == 3:
		d.malformed("QoS 3")
	case p.Dup && p.QoS == 0:
		d.malformed("DUP set on a QoS 0 message")
	}
	p.Topic = d.str("topic name")
	if p.QoS > 0 {
		p.PacketID = d.packetID()
	}
	if d.version == Version5 {
		d.properties(&p.Properties, PUBLISH)
	}
	if !d.ok() {
		return
	}
	switch {
	case p.Topic == "" && d.version == Version5 && p.Properties.TopicAlias == 0:
		d.protocol("empty topic name without a Topic Alias")
	case p.Topic != "" || d.version != Version5:
		if problem := nameShapeProblem(p.Topic); problem != "" {
			d.malformed("topic name %q: %s", p.Topic, problem)
		}
	}
	p.Payload, d.b = d.b[:len(d.b):len(d.b)], d.b[len(d.b):]
}

func (p *Publish) encode(e *encoder) byte {
	switch {
	case p.QoS > 2:
		e.fail("QoS %d", p.QoS)
	case p.Dup && p.QoS == 0:
		e.fail("DUP set on a QoS 0 message")
	case p.Topic == "" && (e.version != Version5 || p.Properties.TopicAlias == 0):
		e.fail("empty topic name without a Topic Alias")
	}
	e.str(p.Topic, "topic name")
	if p.QoS > 0 {
		e.packetID(p.PacketID)
	}
	if e.version == Version5 {
		e.properties(&p.Properties, PUBLISH)
	}
	e.b = append(e.b, p.Payload...)
	return b2u(p.Dup)<<3 | p.QoS<<1 | b2u(p.Retain)
}

// Ack is the body that PUBACK, PUBREC, PUBREL and PUBCOMP share (sections
// 3.4 to 3.7). Reason and Properties are MQTT 5; the encoder writes the
// short forms the specification allows: no properties when there are
// none, and no reason code either when it is Success.
type Ack struct {
	PacketID   uint16
	Reason     ReasonCode
	Properties Properties
}

// Puback is a PUBACK packet: QoS 1 delivery acknowledged.
type Puback struct{ Ack }

// Pubrec is a PUBREC packet: QoS 2 delivery received, part 1.
type Pubrec struct{ Ack }

// Pubrel is a PUBREL packet: QoS 2 delivery release, part 2.
type Pubrel struct{ Ack }

// Pubcomp is a PUBCOMP packet: QoS 2 delivery complete, part 3.
type Pubcomp struct{ Ack }

// Type implements Packet.
func (*Puback) Type() Type { return PUBACK }

// Type implements Packet.
func (*Pubrec) Type() Type { return PUBREC }

// Type implements Packet.
func (*Pubrel) Type() Type { return PUBREL }

// Type implements Packet.
func (*Pubcomp) Type() Type { return PUBCOMP }

func (a *Ack) decode(d *decoder, _ byte) {
	a.PacketID = d.packetID()
	if d.version == Version5 {
		d.reasonAndProperties(&a.Reason, &a.Properties)
	}
	d.end()
}

func (a *Ack) encode(e *encoder) byte {
	e.packetID(a.PacketID)
	if e.version == Version5 {
		e.reasonAndProperties(a.Reason, &a.Properties)
	}
	return 0
}

// reasonAndProperties reads what may end an MQTT 5 PUBACK, PUBREC, PUBREL,
// PUBCOMP, DISCONNECT or AUTH: a reason code (Success when absent) and
// properties (none when absent).
func (d *decoder) reasonAndProperties(c *ReasonCode, p *Properties) {
	if !d.ok() || len(d.b) == 0 {
		return
	}
	*c = ReasonCode(d.u8("reason code"))
	if !validReason(d.t, *c) {
		d.malformed("reason code %s is not one of %s", *c, d.t)
	}
	if len(d.b) > 0 {
		d.properties(p, d.t)
	}
}

// reasonAndProperties writes the reason code and properties in their
// shortest form.
func (e *encoder) reasonAndProperties(c ReasonCode, p *Properties) {
	start := len(e.b)
	e.reason(c)
	e.properties(p, e.t)
	if len(e.b) == start+2 && e.b[start+1] == 0 {
		e.b = e.b[:start+1]
		if c == Success {
			e.b = e.b[:start]
		}
	}
}
