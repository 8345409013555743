package client

import (
	"errors"
	"strings"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// Sentinel errors. Errors returned by this package wrap one of them, a
// *BrokerError, a context error or an I/O error, so callers can use
// errors.Is and errors.As.
var (
	// ErrClosed: the connection, session, producer or consumer is closed.
	ErrClosed = errors.New("client: closed")
	// ErrConnectionLost: the socket failed (read or write error, inactivity,
	// broker gone). Operations in flight fail with an error wrapping it.
	ErrConnectionLost = errors.New("client: connection lost")
	// ErrFailoverTimeout: a call waited longer than the failover URL's
	// timeout option for a broker to reconnect to. The connection itself
	// goes on reconnecting. The error wraps ErrConnectionLost too.
	ErrFailoverTimeout = errors.New("client: failover timeout")
	// ErrNegotiation: the broker's WireFormatInfo could not be accepted.
	ErrNegotiation = errors.New("client: wire format negotiation failed")
	// ErrNoMessage: a pull consumer's Receive ended without a message because
	// the broker reported none before the context's deadline.
	ErrNoMessage = errors.New("client: no message before the deadline")
	// ErrWrongMode: the call does not fit the session's AckMode (Commit on a
	// non-transacted session, Ack on a transacted one, ...).
	ErrWrongMode = errors.New("client: not allowed in this acknowledgement mode")
	// ErrPropertyType: a property value of a type JMS does not allow, or a
	// property getter that cannot convert the stored value.
	ErrPropertyType = errors.New("client: property type")

	// Well-known broker-side failures; a *BrokerError matches the one its
	// Java exception class names.
	ErrInvalidClientID       = errors.New("client: invalid client id")
	ErrInvalidDestination    = errors.New("client: invalid destination")
	ErrInvalidSelector       = errors.New("client: invalid selector")
	ErrTransactionRolledBack = errors.New("client: transaction rolled back")
	ErrSecurity              = errors.New("client: security")
	ErrResourceAllocation    = errors.New("client: resource allocation")
)

// BrokerError is an ExceptionResponse or ConnectionError from the broker:
// the Java exception class it named and its message. It matches, with
// errors.Is, the sentinel for its class (ErrInvalidClientID, ...).
type BrokerError struct {
	Class   string // e.g. "javax.jms.InvalidClientIDException"
	Message string
}

func (e *BrokerError) Error() string {
	if e.Message == "" {
		return "client: broker: " + e.Class
	}
	return "client: broker: " + e.Class + ": " + e.Message
}

// Is reports whether target is the sentinel for e's exception class.
func (e *BrokerError) Is(target error) bool {
	k := e.kind()
	return k != nil && k == target
}

// kind maps the simple Java class name (javax.jms and jakarta.jms alike)
// to a sentinel: the one place broker exceptions are interpreted.
func (e *BrokerError) kind() error {
	name := e.Class
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	switch name {
	case "InvalidClientIDException":
		return ErrInvalidClientID
	case "InvalidDestinationException":
		return ErrInvalidDestination
	case "InvalidSelectorException":
		return ErrInvalidSelector
	case "TransactionRolledBackException":
		return ErrTransactionRolledBack
	case "SecurityException", "JMSSecurityException":
		return ErrSecurity
	case "ResourceAllocationException":
		return ErrResourceAllocation
	}
	return nil
}

func brokerError(t *wire.Throwable) *BrokerError {
	if t == nil {
		return &BrokerError{Class: "javax.jms.JMSException", Message: "exception without details"}
	}
	return &BrokerError{Class: t.Class, Message: t.Message}
}
