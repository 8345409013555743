package packet

// Pingreq is a PINGREQ packet; it has no body.
type Pingreq struct{}

// Pingresp is a PINGRESP packet; it has no body.
type Pingresp struct{}

// Type implements Packet.
func (*Pingreq) Type() Type { return PINGREQ }

// Type implements Packet.
func (*Pingresp) Type() Type { return PINGRESP }

func (*Pingreq) decode(d *decoder, _ byte)  { d.end() }
func (*Pingresp) decode(d *decoder, _ byte) { d.end() }
func (*Pingreq) encode(*encoder) byte       { return 0 }
func (*Pingresp) encode(*encoder) byte      { return 0 }

// Disconnect is a DISCONNECT packet. In MQTT 3.1.1 it has no body; in
// MQTT 5 a reason code (Success, "Normal disconnection", when absent) and
// properties, both written only when needed.
type Disconnect struct {
	Reason     ReasonCode
	Properties Properties
}

// Type implements Packet.
func (*Disconnect) Type() Type { return DISCONNECT }

func (p *Disconnect) decode(d *decoder, _ byte) {
	if d.version == Version5 {
		d.reasonAndProperties(&p.Reason, &p.Properties)
	}
	d.end()
}

func (p *Disconnect) encode(e *encoder) byte {
	if e.version == Version5 {
		e.reasonAndProperties(p.Reason, &p.Properties)
	}
	return 0
}

// Auth is an AUTH packet (MQTT 5 only, section 3.15): a step of extended
// authentication.
type Auth struct {
	Reason     ReasonCode // Success, Continue authentication or Re-authenticate
	Properties Properties // Authentication Method and Data, Reason String, User Property
}

// Type implements Packet.
func (*Auth) Type() Type { return AUTH }

func (p *Auth) decode(d *decoder, _ byte) {
	d.reasonAndProperties(&p.Reason, &p.Properties)
	d.end()
}

func (p *Auth) encode(e *encoder) byte {
	if e.version != Version5 {
		e.fail("AUTH exists only in MQTT 5")
	}
	e.reasonAndProperties(p.Reason, &p.Properties)
	return 0
}
