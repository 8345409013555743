package packet

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// decoder reads the body of one packet. Its error is sticky: after the
// first problem every read returns a zero value and the error stays the
// first one, so that decoding code reads as the packet layout does.
type decoder struct {
	b       []byte // what is left of the body (or of a property block)
	t       Type
	version byte
	err     *Error
}

func (d *decoder) fail(reason ReasonCode, format string, args ...any) {
	if d.err == nil {
		d.err = &Error{Reason: reason, Type: d.t, Version: d.version, Msg: fmt.Sprintf(format, args...)}
	}
	d.b = nil
}

func (d *decoder) malformed(format string, args ...any) { d.fail(MalformedPacket, format, args...) }

func (d *decoder) protocol(format string, args ...any) { d.fail(ProtocolError, format, args...) }

func (d *decoder) ok() bool { return d.err == nil }

// take returns the next n bytes, capacity-limited so that appending to
// them cannot overwrite what follows.
func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.malformed("%s: needs %d bytes, %d left in the packet", what, n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8(what string) byte {
	if b := d.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if b := d.take(2, what); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if b := d.take(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) vbi(what string) uint32 {
	if d.err != nil {
		return 0
	}
	v, n, problem := decodeVBI(d.b)
	if problem != "" {
		d.malformed("%s: %s", what, problem)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bin reads Binary Data: a two-byte length and that many bytes. The
// result is never nil when the read succeeds, so that present-but-empty
// stays distinct from absent.
func (d *decoder) bin(what string) []byte {
	n := d.u16(what)
	return d.take(int(n), what)
}

// str reads a UTF-8 Encoded String (MQTT 5.0 section 1.5.4).
func (d *decoder) str(what string) string {
	b := d.bin(what)
	if d.err != nil {
		return ""
	}
	s := string(b)
	if problem := utf8Problem(s); problem != "" {
		d.malformed("%s: %s", what, problem)
		return ""
	}
	return s
}

// packetID reads a Packet Identifier, which must not be 0 (section 2.2.1).
func (d *decoder) packetID() uint16 {
	id := d.u16("packet identifier")
	if d.ok() && id == 0 {
		d.protocol("packet identifier 0")
	}
	return id
}

// end refuses bytes left over after the last field.
func (d *decoder) end() {
	if d.err == nil && len(d.b) > 0 {
		d.malformed("%d bytes left over after the last field", len(d.b))
	}
}

// utf8Problem says why b is not a valid MQTT UTF-8 string: ill-formed
// UTF-8 (surrogates and overlong forms included) or U+0000; "" if valid.
func utf8Problem(s string) string {
	if !utf8.ValidString(s) {
		return "not well-formed UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains U+0000"
	}
	return ""
}

// decodeVBI decodes a Variable Byte Integer at the start of b and returns
// its value and length, or a problem: truncated, longer than four bytes,
// or not in its shortest form (MQTT-1.5.5-1).
func decodeVBI(b []byte) (v uint32, n int, problem string) {
	for i := 0; i < 4; i++ {
		if i == len(b) {
			return 0, 0, "variable byte integer cut short"
		}
		c := b[i]
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, 0, "variable byte integer not in its shortest form"
			}
			return v, i + 1, ""
		}
	}
	return 0, 0, "variable byte integer longer than 4 bytes"
}

// appendVBI appends v as a Variable Byte Integer; v must not exceed
// MaxRemainingLength.
func appendVBI(dst []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

// encoder appends the body of one packet. Like the decoder, its error is
// sticky.
type encoder struct {
	b       []byte
	t       Type
	version byte
	err     error
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("%w %s: %s", ErrEncode, e.t, fmt.Sprintf(format, args...))
	}
}

func (e *encoder) u8(v byte)    { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

func (e *encoder) vbi(v uint32, what string) {
	if v > MaxRemainingLength {
		e.fail("%s: %d does not fit a variable byte integer", what, v)
		return
	}
	e.b = appendVBI(e.b, v)
}

func (e *encoder) bin(v []byte, what string) {
	if len(v) > 0xffff {
		e.fail("%s: %d bytes, at most 65535", what, len(v))
		return
	}
	e.u16(uint16(len(v)))
	e.b = append(e.b, v...)
}

func (e *encoder) str(v string, what string) {
	if len(v) > 0xffff {
		e.fail("%s: %d bytes, at most 65535", what, len(v))
		return
	}
	e.u16(uint16(len(v)))
	e.b = append(e.b, v...)
}

// packetID appends a Packet Identifier, which must not be 0.
func (e *encoder) packetID(id uint16) {
	if id == 0 {
		e.fail("packet identifier 0")
	}
	e.u16(id)
}

// open reserves room for a Variable Byte Integer length of what follows;
// close fills it in with the length of what was appended since, moving
// that left over the room a shorter integer did not use.
func (e *encoder) open() int {
	e.b = append(e.b, 0, 0, 0, 0)
	return len(e.b) - 4
}

func (e *encoder) close(mark int, what string) {
	n := len(e.b) - mark - 4
	if n > MaxRemainingLength {
		e.fail("%s: %d bytes, too long", what, n)
		return
	}
	var tmp [4]byte
	l := appendVBI(tmp[:0], uint32(n))
	copy(e.b[mark+len(l):], e.b[mark+4:])
	copy(e.b[mark:], l)
	e.b = e.b[:len(e.b)-(4-len(l))]
}
