package stomp

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Validate reports whether f can be encoded in version v so that a Reader
// decodes the same frame: the command is upper-case letters, no header name
// is empty, and where no escaping applies (1.0, CONNECT, STOMP, CONNECTED)
// names hold no colon or LF and values no LF; a value may not end in a CR
// that the version cannot escape.
func (f *Frame) Validate(v Version) error {
	if !validCommand(f.Command) {
		return malformed("invalid command %q", f.Command)
	}
	esc := escapes(f.Command, v)
	for _, h := range f.Headers {
		if h.Key == "" {
			return malformed("empty header name")
		}
		if !esc && (strings.ContainsAny(h.Key, ":\n") || strings.ContainsRune(h.Value, '\n')) {
			return malformed("header %q: colon or LF cannot be sent unescaped in %s %s", h.Key, f.Command, v)
		}
		// A raw CR ending the line would read as part of a CRLF.
		if (!esc || v < V12) && strings.HasSuffix(h.Value, "\r") {
			return malformed("header %q: trailing CR cannot be sent in %s %s", h.Key, f.Command, v)
		}
	}
	return nil
}

// AppendFrame appends the wire form of f in version v to dst and returns
// the extended slice. Header names and values are escaped as v requires.
// The first content-length header, if any, is rewritten to len(f.Body)
// unless it already says so; one is added when the body contains a NUL,
// which could not be sent otherwise. The frame ends with a NUL and no EOL.
// AppendFrame does not validate f: see Validate.
func AppendFrame(dst []byte, f *Frame, v Version) []byte {
	return appendFrame(dst, f, v, false)
}

func appendFrame(dst []byte, f *Frame, v Version, forceLength bool) []byte {
	esc := escapes(f.Command, v)
	dst = append(dst, f.Command...)
	dst = append(dst, '\n')
	hasLength := false
	for _, h := range f.Headers {
		value := h.Value
		if h.Key == HdrContentLength && !hasLength {
			hasLength = true
			if n, err := parseContentLength(value); err != nil || n != int64(len(f.Body)) {
				value = strconv.Itoa(len(f.Body))
			}
		}
		if esc {
			dst = appendEscaped(dst, h.Key, v)
			dst = append(dst, ':')
			dst = appendEscaped(dst, value, v)
		} else {
			dst = append(dst, h.Key...)
			dst = append(dst, ':')
			dst = append(dst, value...)
		}
		dst = append(dst, '\n')
	}
	if !hasLength && (forceLength && len(f.Body) > 0 || containsNUL(f.Body)) {
		dst = append(dst, HdrContentLength...)
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, int64(len(f.Body)), 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, f.Body...)
	return append(dst, 0)
}

func containsNUL(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return true
		}
	}
	return false
}

// Writer encodes frames onto an io.Writer, one Write call per frame. Wrap
// the destination in a bufio.Writer to batch frames, and flush it yourself.
// A Writer is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	version Version
	buf     []byte
	// ContentLength, when set, adds a content-length header to every frame
	// with a non-empty body that lacks one.
	ContentLength bool
}

// NewWriter returns a Writer encoding version v.
func NewWriter(w io.Writer, v Version) *Writer {
	return &Writer{w: w, version: v}
}

// SetVersion sets the negotiated version used to escape later frames.
func (w *Writer) SetVersion(v Version) { w.version = v }

// WriteFrame validates and writes f.
func (w *Writer) WriteFrame(f *Frame) error {
	if err := f.Validate(w.version); err != nil {
		return err
	}
	w.buf = appendFrame(w.buf[:0], f, w.version, w.ContentLength)
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("stomp: write %s: %w", f.Command, err)
	}
	if cap(w.buf) > 64<<10 {
		w.buf = nil // do not pin one large body's buffer forever
	}
	return nil
}

// WriteHeartBeat writes a heart-beat (one LF).
func (w *Writer) WriteHeartBeat() error {
	if _, err := w.w.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("stomp: write heart-beat: %w", err)
	}
	return nil
}
