package packet

// Subscription is one topic filter of a SUBSCRIBE and its options (MQTT
// 5.0 section 3.8.3.1; MQTT 3.1.1 has only the QoS).
type Subscription struct {
	Filter            string
	QoS               byte // the maximum QoS
	NoLocal           bool // MQTT 5: not to the publishing connection's own client id
	RetainAsPublished bool // MQTT 5: keep the RETAIN flag when forwarding
	RetainHandling    byte // MQTT 5: 0 send retained, 1 only if new, 2 do not send
}

// Subscribe is a SUBSCRIBE packet (MQTT 5.0 section 3.8). A filter of the
// form $share/{ShareName}/{filter} is a shared subscription in MQTT 5, an
// ordinary filter in MQTT 3.1.1.
type Subscribe struct {
	PacketID      uint16
	Properties    Properties // MQTT 5: Subscription Identifier, User Property
	Subscriptions []Subscription
}

// Type implements Packet.
func (*Subscribe) Type() Type { return SUBSCRIBE }

// Subscription option bits (section 3.8.3.1).
const (
	optNoLocal           = 0x04
	optRetainAsPublished = 0x08
)

// filterListHeader reads what SUBSCRIBE and UNSUBSCRIBE have before their
// list of topic filters, and refuses an empty list.
func (d *decoder) filterListHeader(id *uint16, p *Properties) {
	*id = d.packetID()
	if d.version == Version5 {
		d.properties(p, d.t)
	}
	if d.ok() && len(d.b) == 0 {
		d.protocol("no topic filter")
	}
}

func (s *Subscribe) decode(d *decoder, _ byte) {
	d.filterListHeader(&s.PacketID, &s.Properties)
	for d.ok() && len(d.b) > 0 {
		var sub Subscription
		sub.Filter = d.str("topic filter")
		o := d.u8("subscription options")
		if !d.ok() {
			break
		}
		sub.QoS, sub.RetainHandling = o&3, o>>4&3
		sub.NoLocal, sub.RetainAsPublished = o&optNoLocal != 0, o&optRetainAsPublished != 0
		d.subscriptionOptions(&sub, o)
		s.Subscriptions = append(s.Subscriptions, sub)
	}
}

// subscriptionOptions checks a filter and its options byte o.
func (d *decoder) subscriptionOptions(sub *Subscription, o byte) {
	if problem := filterProblem(sub.Filter, d.version); problem != "" {
		d.malformed("topic filter %q: %s", sub.Filter, problem)
		return
	}
	switch {
	case d.version == Version311 && o&^3 != 0:
		d.malformed("reserved bits of the requested QoS byte 0x%02X", o)
	case d.version == Version311 && o == 3:
		d.malformed("requested QoS 3")
	case o&0xC0 != 0:
		d.malformed("reserved subscription option bits 0x%02X", o&0xC0)
	case sub.QoS == 3:
		d.protocol("maximum QoS 3")
	case sub.RetainHandling == 3:
		d.protocol("retain handling 3")
	case sub.NoLocal && isShared(sub.Filter):
		d.protocol("No Local on the shared subscription %q", sub.Filter)
	}
}

// filterListHeader writes what SUBSCRIBE and UNSUBSCRIBE have before
// their n topic filters, and refuses an empty list.
func (e *encoder) filterListHeader(id uint16, p *Properties, n int) {
	e.packetID(id)
	if e.version == Version5 {
		e.properties(p, e.t)
	}
	if n == 0 {
		e.fail("no topic filter")
	}
}

func (s *Subscribe) encode(e *encoder) byte {
	e.filterListHeader(s.PacketID, &s.Properties, len(s.Subscriptions))
	for _, sub := range s.Subscriptions {
		e.str(sub.Filter, "topic filter")
		if sub.QoS > 2 || sub.RetainHandling > 2 {
			e.fail("QoS %d, retain handling %d", sub.QoS, sub.RetainHandling)
		}
		o := sub.QoS
		if e.version == Version5 {
			o |= sub.RetainHandling << 4
			if sub.NoLocal {
				o |= optNoLocal
			}
			if sub.RetainAsPublished {
				o |= optRetainAsPublished
			}
		}
		e.u8(o)
	}
	return 0
}

// Suback is a SUBACK packet: one reason code per subscription, in order.
// MQTT 3.1.1 knows only Granted QoS 0, 1, 2 and Failure (0x80): the
// encoder writes every failure as 0x80 there.
type Suback struct {
	PacketID   uint16
	Properties Properties // MQTT 5
	Reasons    []ReasonCode
}

// Unsuback is an UNSUBACK packet: in MQTT 5 one reason code per filter,
// in order; in MQTT 3.1.1 only the packet identifier.
type Unsuback struct {
	PacketID   uint16
	Properties Properties // MQTT 5
	Reasons    []ReasonCode
}

// Type implements Packet.
func (*Suback) Type() Type { return SUBACK }

// Type implements Packet.
func (*Unsuback) Type() Type { return UNSUBACK }

func (s *Suback) decode(d *decoder, _ byte) { d.reasonList(&s.PacketID, &s.Properties, &s.Reasons) }

func (s *Suback) encode(e *encoder) byte {
	e.reasonList(s.PacketID, &s.Properties, s.Reasons)
	return 0
}

func (u *Unsuback) decode(d *decoder, _ byte) { d.reasonList(&u.PacketID, &u.Properties, &u.Reasons) }

func (u *Unsuback) encode(e *encoder) byte {
	e.reasonList(u.PacketID, &u.Properties, u.Reasons)
	return 0
}

// reasonList reads the body of a SUBACK or UNSUBACK.
func (d *decoder) reasonList(id *uint16, p *Properties, rs *[]ReasonCode) {
	*id = d.packetID()
	if d.version == Version311 && d.t == UNSUBACK {
		d.end()
		return
	}
	if d.version == Version5 {
		d.properties(p, d.t)
	}
	if d.ok() && len(d.b) == 0 {
		d.protocol("no reason code")
	}
	for d.ok() && len(d.b) > 0 {
		c := ReasonCode(d.u8("reason code"))
		valid := validReason(d.t, c)
		if d.version == Version311 {
			valid = c <= GrantedQoS2 || c == UnspecifiedError
		}
		if !valid {
			d.malformed("reason code %s is not one of %s", c, d.t)
		}
		*rs = append(*rs, c)
	}
}

// reasonList writes the body of a SUBACK or UNSUBACK.
func (e *encoder) reasonList(id uint16, p *Properties, rs []ReasonCode) {
	e.packetID(id)
	if e.version == Version311 && e.t == UNSUBACK {
		return
	}
	if e.version == Version5 {
		e.properties(p, e.t)
	}
	if len(rs) == 0 {
		e.fail("no reason code")
	}
	for _, c := range rs {
		if e.version == Version311 {
			if c.Failed() {
				c = UnspecifiedError
			} else if c > GrantedQoS2 {
				e.fail("return code %s", c)
			}
			e.u8(byte(c))
			continue
		}
		e.reason(c)
	}
}

// Unsubscribe is an UNSUBSCRIBE packet (MQTT 5.0 section 3.10).
type Unsubscribe struct {
	PacketID   uint16
	Properties Properties // MQTT 5: User Property
	Filters    []string
}

// Type implements Packet.
func (*Unsubscribe) Type() Type { return UNSUBSCRIBE }

func (u *Unsubscribe) decode(d *decoder, _ byte) {
	d.filterListHeader(&u.PacketID, &u.Properties)
	for d.ok() && len(d.b) > 0 {
		f := d.str("topic filter")
		if problem := filterProblem(f, d.version); d.ok() && problem != "" {
			d.malformed("topic filter %q: %s", f, problem)
		}
		u.Filters = append(u.Filters, f)
	}
}

func (u *Unsubscribe) encode(e *encoder) byte {
	e.filterListHeader(u.PacketID, &u.Properties, len(u.Filters))
	for _, f := range u.Filters {
		e.str(f, "topic filter")
	}
	return 0
}
