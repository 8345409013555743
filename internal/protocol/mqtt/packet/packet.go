package packet

import "fmt"

// Protocol levels, as the CONNECT packet carries them.
const (
	Version311 byte = 4 // MQTT 3.1.1
	Version5   byte = 5 // MQTT 5.0
)

// MaxRemainingLength is the largest Remaining Length a four-byte Variable
// Byte Integer can hold (MQTT 5.0 section 1.5.5).
const MaxRemainingLength = 268_435_455

// MaxPacketSize is the largest whole packet the protocol allows: a fixed
// header of five bytes and the largest Remaining Length.
const MaxPacketSize = MaxRemainingLength + 5

// Type is an MQTT control packet type, the high four bits of the first byte.
type Type byte

// The control packet types (MQTT 5.0 section 2.1.2; AUTH is MQTT 5 only).
const (
	CONNECT     Type = 1
	CONNACK     Type = 2
	PUBLISH     Type = 3
	PUBACK      Type = 4
	PUBREC      Type = 5
	PUBREL      Type = 6
	PUBCOMP     Type = 7
	SUBSCRIBE   Type = 8
	SUBACK      Type = 9
	UNSUBSCRIBE Type = 10
	UNSUBACK    Type = 11
	PINGREQ     Type = 12
	PINGRESP    Type = 13
	DISCONNECT  Type = 14
	AUTH        Type = 15
)

var typeNames = [...]string{
	"reserved type 0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH",
}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type %d", byte(t))
}

// fixedFlags are the flag bits (the low four bits of the first byte) that a
// packet of type t must carry; PUBLISH has flags of its own (section 2.1.3).
func fixedFlags(t Type) byte {
	switch t {
	case PUBREL, SUBSCRIBE, UNSUBSCRIBE:
		return 0b0010
	}
	return 0
}

// Packet is one MQTT control packet: *Connect, *Connack, *Publish, *Puback,
// *Pubrec, *Pubrel, *Pubcomp, *Subscribe, *Suback, *Unsubscribe,
// *Unsuback, *Pingreq, *Pingresp, *Disconnect or *Auth.
type Packet interface {
	Type() Type
	// decode fills the packet from its body; flags are the low four bits
	// of the fixed header.
	decode(d *decoder, flags byte)
	// encode appends the body for version and returns the flag bits.
	encode(e *encoder) byte
}

// Limits bound what the decoder accepts.
type Limits struct {
	// MaxPacketSize is the largest whole packet (fixed header included,
	// as MQTT 5's Maximum Packet Size counts it) the decoder reads; a
	// larger one is refused with PacketTooLarge before its body is read.
	// Zero means the protocol's own limit, MaxPacketSize.
	MaxPacketSize uint32
}

// maxPacketSize is the limit in force.
func (l Limits) maxPacketSize() uint32 {
	if l.MaxPacketSize == 0 || l.MaxPacketSize > MaxPacketSize {
		return MaxPacketSize
	}
	return l.MaxPacketSize
}

// newPacket returns an empty packet of type t, or nil for a reserved type.
func newPacket(t Type) Packet {
	switch t {
	case CONNECT:
		return &Connect{}
	case CONNACK:
		return &Connack{}
	case PUBLISH:
		return &Publish{}
	case PUBACK:
		return &Puback{}
	case PUBREC:
		return &Pubrec{}
	case PUBREL:
		return &Pubrel{}
	case PUBCOMP:
		return &Pubcomp{}
	case SUBSCRIBE:
		return &Subscribe{}
	case SUBACK:
		return &Suback{}
	case UNSUBSCRIBE:
		return &Unsubscribe{}
	case UNSUBACK:
		return &Unsuback{}
	case PINGREQ:
		return &Pingreq{}
	case PINGRESP:
		return &Pingresp{}
	case DISCONNECT:
		return &Disconnect{}
	case AUTH:
		return &Auth{}
	}
	return nil
}
