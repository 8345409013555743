package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them (or an
// I/O error from the underlying reader or writer), so callers can use errors.Is.
var (
	// ErrFrameTooLarge: a frame's size prefix exceeds the configured maximum.
	ErrFrameTooLarge = errors.New("openwire: frame too large")
	// ErrMalformed: the bytes do not form a valid loose-encoded OpenWire object.
	ErrMalformed = errors.New("openwire: malformed")
	// ErrUnknownType: a type byte this package cannot decode or encode.
	ErrUnknownType = errors.New("openwire: unknown or unsupported data type")
	// ErrUnsupportedVersion: an OpenWire version other than 1, 9, 10, 11, 12.
	ErrUnsupportedVersion = errors.New("openwire: unsupported OpenWire version")
	// ErrInvalidValue: a Go value that cannot be encoded (string too long,
	// unsupported map value type, ...).
	ErrInvalidValue = errors.New("openwire: value cannot be encoded")
)

// MalformedError describes where decoding failed. It matches ErrMalformed.
type MalformedError struct {
	Offset int    // byte offset inside the frame body (after the type byte)
	Detail string // what was wrong
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("openwire: malformed at offset %d: %s", e.Offset, e.Detail)
}

// Is reports whether target is ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// UnknownTypeError names the offending type byte. It matches ErrUnknownType.
// Version is set when the type exists in OpenWire but not in that version
// (e.g. BrokerSubscriptionInfo before v12, MessagePull in v1).
type UnknownTypeError struct {
	Type    byte
	Version int
}

func (e *UnknownTypeError) Error() string {
	if e.Version != 0 {
		return fmt.Sprintf("openwire: data type %d does not exist in OpenWire version %d", e.Type, e.Version)
	}
	return fmt.Sprintf("openwire: unknown or unsupported data type %d", e.Type)
}

// Is reports whether target is ErrUnknownType.
func (e *UnknownTypeError) Is(target error) bool { return target == ErrUnknownType }
