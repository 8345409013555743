// Package stomp owns the STOMP wire protocol (1.0, 1.1 and 1.2): the frame
// codec in the frame*.go files (pure: no broker, no network) and, beside it,
// the broker-side connection adapter.
//
// The codec reads frames with a Reader, which reports heart-beats (bare EOLs
// between frames) as nil frames, enforces Limits, and fails with typed errors
// (ErrFrameTooLarge, ErrTooManyHeaders, ErrHeaderTooLong, ErrMalformed) so a
// server can send an ERROR frame and close. It writes frames with a Writer or
// AppendFrame, escaping header names and values as the negotiated Version
// requires. CONNECT, STOMP and CONNECTED frames are never escaped or unescaped.
package stomp

import (
	"errors"
	"fmt"
	"strings"
)

// Version is a STOMP protocol version.
type Version uint8

// Protocol versions. The zero value is not a version.
const (
	V10 Version = iota + 1
	V11
	V12
)

// String returns the version as it appears on the wire, e.g. "1.2".
func (v Version) String() string {
	switch v {
	case V10:
		return "1.0"
	case V11:
		return "1.1"
	case V12:
		return "1.2"
	}
	return fmt.Sprintf("Version(%d)", uint8(v))
}

// ParseVersion parses a wire version string ("1.0", "1.1" or "1.2").
func ParseVersion(s string) (Version, error) {
	switch s {
	case "1.0":
		return V10, nil
	case "1.1":
		return V11, nil
	case "1.2":
		return V12, nil
	}
	return 0, fmt.Errorf("stomp: unknown version %q", s)
}

// Client and server commands.
const (
	CmdConnect     = "CONNECT"
	CmdStomp       = "STOMP"
	CmdSend        = "SEND"
	CmdSubscribe   = "SUBSCRIBE"
	CmdUnsubscribe = "UNSUBSCRIBE"
	CmdBegin       = "BEGIN"
	CmdCommit      = "COMMIT"
	CmdAbort       = "ABORT"
	CmdAck         = "ACK"
	CmdNack        = "NACK"
	CmdDisconnect  = "DISCONNECT"
	CmdConnected   = "CONNECTED"
	CmdMessage     = "MESSAGE"
	CmdReceipt     = "RECEIPT"
	CmdError       = "ERROR"
)

// Header names the codec itself interprets.
const (
	HdrContentLength = "content-length"
)

// Errors returned by Reader. Every error but io.EOF at a frame boundary
// leaves the stream at an unknown position: the caller should report the
// error (an ERROR frame) and close the connection.
var (
	// ErrFrameTooLarge: the body exceeds Limits.MaxFrameSize.
	ErrFrameTooLarge = errors.New("stomp: frame too large")
	// ErrTooManyHeaders: the frame has more than Limits.MaxHeaders headers.
	ErrTooManyHeaders = errors.New("stomp: too many headers")
	// ErrHeaderTooLong: the command or a header line exceeds Limits.MaxHeaderLength.
	ErrHeaderTooLong = errors.New("stomp: header line too long")
	// ErrMalformed: the bytes are not a STOMP frame. The returned error is a
	// *MalformedError carrying the detail.
	ErrMalformed = errors.New("stomp: malformed frame")
)

// MalformedError describes why a frame could not be decoded or encoded.
// errors.Is(err, ErrMalformed) reports true for it.
type MalformedError struct {
	Detail string
}

func (e *MalformedError) Error() string { return "stomp: malformed frame: " + e.Detail }

// Unwrap returns ErrMalformed.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

func malformed(format string, args ...any) error {
	return &MalformedError{Detail: fmt.Sprintf(format, args...)}
}

// Header is one header line. A frame may repeat a name; the first
// occurrence wins (STOMP 1.2).
type Header struct {
	Key   string
	Value string
}

// Frame is one STOMP frame.
type Frame struct {
	Command string
	Headers []Header // in wire order, repeats allowed
	Body    []byte
}

// NewFrame returns a frame with the given command and headers given as
// alternating keys and values. An odd trailing key gets an empty value.
func NewFrame(command string, kv ...string) *Frame {
	f := &Frame{Command: command, Headers: make([]Header, 0, (len(kv)+1)/2)}
	for i := 0; i < len(kv); i += 2 {
		h := Header{Key: kv[i]}
		if i+1 < len(kv) {
			h.Value = kv[i+1]
		}
		f.Headers = append(f.Headers, h)
	}
	return f
}

// Lookup returns the value of the first header named key.
func (f *Frame) Lookup(key string) (string, bool) {
	for _, h := range f.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return "", false
}

// Get returns the value of the first header named key, or "".
func (f *Frame) Get(key string) string {
	v, _ := f.Lookup(key)
	return v
}

// Add appends a header, even if the name is already present.
func (f *Frame) Add(key, value string) {
	f.Headers = append(f.Headers, Header{Key: key, Value: value})
}

// Set replaces the value of the first header named key and removes later
// repeats, or appends the header if it is absent.
func (f *Frame) Set(key, value string) {
	for i, h := range f.Headers {
		if h.Key == key {
			f.Headers[i].Value = value
			f.delFrom(key, i+1)
			return
		}
	}
	f.Add(key, value)
}

// Del removes every header named key.
func (f *Frame) Del(key string) { f.delFrom(key, 0) }

func (f *Frame) delFrom(key string, start int) {
	out := f.Headers[:start]
	for _, h := range f.Headers[start:] {
		if h.Key != key {
			out = append(out, h)
		}
	}
	clear(f.Headers[len(out):])
	f.Headers = out
}

// escapes reports whether header names and values of a frame with this
// command are escaped in version v. CONNECT, STOMP and CONNECTED never are,
// so that 1.0 peers can read them.
func escapes(command string, v Version) bool {
	if v < V11 {
		return false
	}
	switch command {
	case CmdConnect, CmdStomp, CmdConnected:
		return false
	}
	return true
}

// validCommand reports whether s is a plausible command: 1 or more ASCII
// upper-case letters. The codec does not check that it is a known command;
// that is the adapter's job.
func validCommand(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// unescape decodes the escape sequences of version v (\n \c \\ and, in 1.2,
// \r). Any other sequence, or a trailing backslash, is an error.
func unescape(s string, v Version) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return "", malformed("header ends with a lone backslash")
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'c':
			b.WriteByte(':')
		case '\\':
			b.WriteByte('\\')
		case 'r':
			if v < V12 {
				return "", malformed("escape \\r is not defined in STOMP %s", v)
			}
			b.WriteByte('\r')
		default:
			return "", malformed("invalid escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// appendEscaped appends s escaped for version v (v >= V11).
func appendEscaped(dst []byte, s string, v Version) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case ':':
			dst = append(dst, '\\', 'c')
		case '\r':
			if v >= V12 {
				dst = append(dst, '\\', 'r')
			} else {
				dst = append(dst, c)
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
