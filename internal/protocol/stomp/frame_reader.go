package stomp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/protocol/connbuf"
)

// Default limits.
const (
	DefaultMaxFrameSize    = 10 << 20 // body bytes
	DefaultMaxHeaders      = 1000
	DefaultMaxHeaderLength = 64 << 10 // bytes of one line, EOL excluded
)

// Limits bound what a Reader accepts. Zero fields take the defaults.
type Limits struct {
	// MaxFrameSize is the largest body in bytes. The header section is
	// bounded separately by MaxHeaders × MaxHeaderLength.
	MaxFrameSize int
	// MaxHeaders is the largest number of header lines in one frame.
	MaxHeaders int
	// MaxHeaderLength is the longest command or header line in bytes,
	// before unescaping and without its EOL.
	MaxHeaderLength int
}

// EnsureDefaults returns l with every zero or negative field set to its default.
func (l Limits) EnsureDefaults() Limits {
	if l.MaxFrameSize <= 0 {
		l.MaxFrameSize = DefaultMaxFrameSize
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxHeaderLength <= 0 {
		l.MaxHeaderLength = DefaultMaxHeaderLength
	}
	return l
}

// Reader decodes frames from a byte stream.
//
// It accepts LF and CRLF as EOL in every version: STOMP 1.2 allows CRLF,
// the CONNECT frame is read before any version is negotiated, and 1.0/1.1
// peers that send CRLF are common. A raw CR anywhere else in a header line
// is accepted only where no escaping applies (1.0, 1.1, CONNECT/CONNECTED),
// and never as the last octet before the EOL, since a writer could not
// reproduce it.
//
// Header values are never trimmed. The codec gives no meaning to commands
// beyond their escaping rules: checking that a command is known and may
// carry a body is left to the caller.
//
// ReadFrame blocks on the underlying reader; cancel it with a deadline on,
// or by closing, the connection beneath. A Reader is not safe for
// concurrent use.
type Reader struct {
	br      BufReader
	lim     Limits
	version Version
	line    []byte // scratch for lines longer than br's buffer
}

// BufReader is what a Reader reads frames from: a *bufio.Reader, or a
// connection's growing buffer (connbuf.Reader).
type BufReader interface {
	io.Reader
	io.ByteReader
	// ReadSlice reads as bufio.Reader.ReadSlice does: a line longer than
	// the buffer returns bufio.ErrBufferFull with the buffer's worth.
	ReadSlice(delim byte) ([]byte, error)
}

// NewReader returns a Reader over br with the given limits, decoding
// version 1.0 (no escaping) until SetVersion is called.
func NewReader(br BufReader, lim Limits) *Reader {
	return &Reader{br: br, lim: lim.EnsureDefaults(), version: V10}
}

// SetVersion sets the negotiated version used to unescape later frames.
func (r *Reader) SetVersion(v Version) { r.version = v }

// Version returns the version in use.
func (r *Reader) Version() Version { return r.version }

// ReadFrame reads the next frame. A heart-beat (a bare EOL between frames,
// including the optional EOLs that may follow a frame's NUL) is returned as
// (nil, nil), so the caller can count it as liveness. At a clean end of
// stream between frames it returns io.EOF; inside a frame,
// io.ErrUnexpectedEOF (wrapped).
func (r *Reader) ReadFrame() (*Frame, error) {
	line, err := r.readLine()
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil, io.EOF
		}
		return nil, r.eofIsUnexpected(err, "command")
	}
	if len(line) == 0 {
		return nil, nil // heart-beat
	}
	if !validCommand(string(line)) {
		return nil, malformed("invalid command %q", truncate(line))
	}
	f := &Frame{Command: string(line)}
	esc := escapes(f.Command, r.version)
	for {
		line, err = r.readLine()
		if err != nil {
			return nil, r.eofIsUnexpected(err, "headers")
		}
		if len(line) == 0 {
			break
		}
		if len(f.Headers) == r.lim.MaxHeaders {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyHeaders, r.lim.MaxHeaders)
		}
		h, err := parseHeader(line, esc, r.version)
		if err != nil {
			return nil, err
		}
		f.Headers = append(f.Headers, h)
	}
	if f.Body, err = r.readBody(f); err != nil {
		return nil, err
	}
	return f, nil
}

// parseHeader splits "name:value" at the first raw colon and unescapes both.
func parseHeader(line []byte, esc bool, v Version) (Header, error) {
	if line[len(line)-1] == '\r' {
		return Header{}, malformed("bare CR before EOL in header %q", truncate(line))
	}
	if esc && v >= V12 && bytes.IndexByte(line, '\r') >= 0 {
		return Header{}, malformed("raw CR in header %q (escape it as \\r)", truncate(line))
	}
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return Header{}, malformed("header line without colon %q", truncate(line))
	}
	if i == 0 {
		return Header{}, malformed("empty header name")
	}
	s := string(line) // one allocation for name and value
	h := Header{Key: s[:i], Value: s[i+1:]}
	if !esc {
		return h, nil
	}
	var err error
	if h.Key, err = unescape(h.Key, v); err != nil {
		return Header{}, err
	}
	if h.Value, err = unescape(h.Value, v); err != nil {
		return Header{}, err
	}
	return h, nil
}

// readBody reads the body and its NUL: exactly content-length bytes when the
// header is present, else up to the first NUL.
func (r *Reader) readBody(f *Frame) ([]byte, error) {
	if cl, ok := f.Lookup(HdrContentLength); ok {
		n, err := parseContentLength(cl)
		if err != nil {
			return nil, err
		}
		if n > int64(r.lim.MaxFrameSize) {
			return nil, fmt.Errorf("%w: content-length %d exceeds %d", ErrFrameTooLarge, n, r.lim.MaxFrameSize)
		}
		var body []byte
		if n > 0 {
			if body, err = connbuf.ReadN(r.br, int(n)); err != nil {
				return nil, r.eofIsUnexpected(err, "body")
			}
		}
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, r.eofIsUnexpected(err, "body")
		}
		if c != 0 {
			return nil, malformed("body of content-length %d not followed by NUL", n)
		}
		return body, nil
	}
	var body []byte
	for {
		chunk, err := r.br.ReadSlice(0)
		if len(body)+len(chunk) > r.lim.MaxFrameSize+1 {
			return nil, fmt.Errorf("%w: body exceeds %d", ErrFrameTooLarge, r.lim.MaxFrameSize)
		}
		if err == nil && body == nil {
			if len(chunk) == 1 {
				return nil, nil
			}
			return bytes.Clone(chunk[:len(chunk)-1]), nil
		}
		if cap(body)-len(body) < len(chunk) {
			// Doubling, up to the limit, keeps what a long body costs
			// within about twice its size.
			room := r.lim.MaxFrameSize + 1 - len(body)
			body = slices.Grow(body, max(len(chunk), min(len(body), room)))
		}
		body = append(body, chunk...)
		switch {
		case err == nil:
			return body[:len(body)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			return nil, r.eofIsUnexpected(err, "body")
		}
	}
}

// parseContentLength accepts a non-negative decimal, tolerating surrounding
// spaces as ActiveMQ does.
func parseContentLength(s string) (int64, error) {
	t := strings.TrimSpace(s)
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || t == "" || t[0] == '+' {
		return 0, malformed("invalid content-length %q", s)
	}
	return n, nil
}

// readLine returns the next line without its EOL (LF or CRLF). The slice is
// valid until the next read. At end of stream it returns what it read
// together with the error.
func (r *Reader) readLine() ([]byte, error) {
	max := r.lim.MaxHeaderLength + 1 // room for a CR
	chunk, err := r.br.ReadSlice('\n')
	if err == nil {
		return trimEOL(chunk, r.lim.MaxHeaderLength)
	}
	r.line = append(r.line[:0], chunk...)
	for errors.Is(err, bufio.ErrBufferFull) {
		if len(r.line) > max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrHeaderTooLong, r.lim.MaxHeaderLength)
		}
		chunk, err = r.br.ReadSlice('\n')
		r.line = append(r.line, chunk...)
	}
	if err != nil {
		return r.line, err
	}
	return trimEOL(r.line, r.lim.MaxHeaderLength)
}

func trimEOL(line []byte, max int) ([]byte, error) {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrHeaderTooLong, max)
	}
	return line, nil
}

func (r *Reader) eofIsUnexpected(err error, where string) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("stomp: read %s: %w", where, err)
}

// truncate shortens a line for error messages.
func truncate(b []byte) string {
	const n = 64
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
