package packet

import (
	"errors"
	"fmt"
)

// Error is a packet the decoder refused. Reason is the MQTT 5 reason code
// the server answers with (in a CONNACK if the packet was a CONNECT, in a
// DISCONNECT otherwise) before closing the connection; an MQTT 3.1.1
// server closes the connection, answering a CONNECT it refuses for its
// protocol version with CONNACK return code 1.
type Error struct {
	Reason  ReasonCode
	Type    Type // the packet being decoded; 0 before its type was known
	Version byte // the version the answer is for: Version5 or Version311
	Msg     string
}

func (e *Error) Error() string {
	if e.Type == 0 {
		return fmt.Sprintf("mqtt: %s (%s)", e.Msg, e.Reason)
	}
	return fmt.Sprintf("mqtt: %s: %s (%s)", e.Type, e.Msg, e.Reason)
}

// Is makes errors.Is(err, ErrMalformed) and its siblings match any Error
// with the same reason code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Reason == e.Reason
}

// Sentinels for errors.Is: each matches every Error with its reason code.
var (
	ErrMalformed          error = &Error{Reason: MalformedPacket}
	ErrProtocol           error = &Error{Reason: ProtocolError}
	ErrTooLarge           error = &Error{Reason: PacketTooLarge}
	ErrUnsupportedVersion error = &Error{Reason: UnsupportedProtocolVersion}
	ErrTopicAlias         error = &Error{Reason: TopicAliasInvalid}
)

// ErrEncode is wrapped by every error of the encoder: a packet that cannot
// be written as it is (a value out of range, a string too long, a
// property its packet may not carry).
var ErrEncode = errors.New("mqtt: cannot encode")
