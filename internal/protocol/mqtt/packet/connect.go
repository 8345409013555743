package packet

// Connect is a CONNECT packet (MQTT 3.1.1 section 3.1, MQTT 5.0 section
// 3.1). The decoder reads it whatever version the connection has so far:
// Version is the protocol level it carries, and the version of everything
// that follows on the connection.
type Connect struct {
	Version     byte // Version311 or Version5; the encoder writes this level
	CleanStart  bool // Clean Session in MQTT 3.1.1
	KeepAlive   uint16
	Properties  Properties // MQTT 5
	ClientID    string
	Will        *Will // nil without the Will Flag
	HasUsername bool
	Username    string
	HasPassword bool // MQTT 3.1.1 allows a password only with a user name
	Password    []byte
}

// Will is the Will Message of a CONNECT.
type Will struct {
	QoS        byte
	Retain     bool
	Properties Properties // MQTT 5 Will Properties
	Topic      string
	Payload    []byte
}

// Type implements Packet.
func (*Connect) Type() Type { return CONNECT }

// Connect flag bits (section 3.1.2.3).
const (
	flagReserved   = 0x01
	flagCleanStart = 0x02
	flagWill       = 0x04
	flagWillRetain = 0x20
	flagPassword   = 0x40
	flagUsername   = 0x80
)

func (c *Connect) decode(d *decoder, _ byte) {
	name := d.str("protocol name")
	level := d.u8("protocol level")
	if !d.ok() {
		return
	}
	switch {
	case name == "MQTT" && (level == Version311 || level == Version5):
	case name == "MQIsdp" && level == 3:
		d.fail(UnsupportedProtocolVersion, "MQTT 3.1 (protocol level 3) is not supported")
	case name == "MQTT":
		d.fail(UnsupportedProtocolVersion, "protocol level %d is not supported", level)
	default:
		d.fail(UnsupportedProtocolVersion, "protocol name %q is not MQTT", name)
	}
	if !d.ok() {
		return
	}
	c.Version, d.version = level, level
	f := d.u8("connect flags")
	willQoS := f >> 3 & 3
	switch {
	case f&flagReserved != 0:
		d.malformed("reserved connect flag is 1")
	case willQoS == 3:
		d.malformed("will QoS 3")
	case f&flagWill == 0 && (willQoS != 0 || f&flagWillRetain != 0):
		d.malformed("will QoS or will retain set without the will flag")
	case level == Version311 && f&flagPassword != 0 && f&flagUsername == 0:
		d.malformed("password flag set without the user name flag")
	}
	c.CleanStart = f&flagCleanStart != 0
	c.HasUsername = f&flagUsername != 0
	c.HasPassword = f&flagPassword != 0
	c.KeepAlive = d.u16("keep alive")
	if level == Version5 {
		d.properties(&c.Properties, CONNECT)
	}
	c.ClientID = d.str("client identifier")
	if f&flagWill != 0 {
		w := &Will{QoS: willQoS, Retain: f&flagWillRetain != 0}
		if level == Version5 {
			d.properties(&w.Properties, willProperties)
		}
		w.Topic = d.str("will topic")
		if problem := nameShapeProblem(w.Topic); d.ok() && problem != "" {
			d.malformed("will topic %q: %s", w.Topic, problem)
		}
		w.Payload = d.bin("will payload")
		c.Will = w
	}
	if c.HasUsername {
		c.Username = d.str("user name")
	}
	if c.HasPassword {
		c.Password = d.bin("password")
	}
	d.end()
}

func (c *Connect) encode(e *encoder) byte {
	v := e.version
	if v != Version311 && v != Version5 {
		e.fail("protocol level %d", v)
		return 0
	}
	e.str("MQTT", "protocol name")
	e.u8(v)
	var f byte
	if c.CleanStart {
		f |= flagCleanStart
	}
	if w := c.Will; w != nil {
		if w.QoS > 2 {
			e.fail("will QoS %d", w.QoS)
		}
		f |= flagWill | w.QoS<<3
		if w.Retain {
			f |= flagWillRetain
		}
	}
	if c.HasUsername {
		f |= flagUsername
	}
	if c.HasPassword {
		if v == Version311 && !c.HasUsername {
			e.fail("MQTT 3.1.1 allows a password only with a user name")
		}
		f |= flagPassword
	}
	e.u8(f)
	e.u16(c.KeepAlive)
	if v == Version5 {
		e.properties(&c.Properties, CONNECT)
	}
	e.str(c.ClientID, "client identifier")
	if w := c.Will; w != nil {
		if v == Version5 {
			e.properties(&w.Properties, willProperties)
		}
		e.str(w.Topic, "will topic")
		e.bin(w.Payload, "will payload")
	}
	if c.HasUsername {
		e.str(c.Username, "user name")
	}
	if c.HasPassword {
		e.bin(c.Password, "password")
	}
	return 0
}

// Connack is a CONNACK packet. Reason is an MQTT 5 reason code; for MQTT
// 3.1.1 the decoder maps the return code to one (1 Unsupported Protocol
// Version, 2 Client Identifier not valid, 3 Server unavailable, 4 Bad User
// Name or Password, 5 Not authorized) and the encoder maps back, any other
// failure becoming 3 (Server unavailable).
type Connack struct {
	SessionPresent bool
	Reason         ReasonCode
	Properties     Properties // MQTT 5
}

// Type implements Packet.
func (*Connack) Type() Type { return CONNACK }

func (c *Connack) decode(d *decoder, _ byte) {
	f := d.u8("acknowledge flags")
	code := d.u8("reason code")
	if !d.ok() {
		return
	}
	if f&^1 != 0 {
		d.malformed("reserved acknowledge flags 0x%02X", f&^1)
	}
	c.SessionPresent = f&1 != 0
	if d.version == Version311 {
		if int(code) >= len(connackV311) {
			d.malformed("return code %d", code)
			return
		}
		c.Reason = connackV311[code]
	} else {
		c.Reason = ReasonCode(code)
		if !validReason(CONNACK, c.Reason) {
			d.malformed("reason code %s is not one of CONNACK", c.Reason)
		}
		d.properties(&c.Properties, CONNACK)
	}
	if d.ok() && c.SessionPresent && c.Reason.Failed() {
		d.protocol("session present with reason code %s", c.Reason)
	}
	d.end()
}

func (c *Connack) encode(e *encoder) byte {
	if c.SessionPresent && c.Reason.Failed() {
		e.fail("session present with reason code %s", c.Reason)
	}
	e.u8(b2u(c.SessionPresent))
	if e.version == Version311 {
		e.u8(connackReturnCode(c.Reason))
		return 0
	}
	e.reason(c.Reason)
	e.properties(&c.Properties, CONNACK)
	return 0
}

// reason appends an MQTT 5 reason code, which must be one of the packet's.
func (e *encoder) reason(c ReasonCode) {
	if !validReason(e.t, c) {
		e.fail("reason code %s is not one of %s", c, e.t)
	}
	e.u8(byte(c))
}
