package packet

import (
	"fmt"
	"io"
)

// Append appends p, encoded for version (Version311 or Version5; a
// Connect is encoded for its own Version when it has one), to dst. The
// error wraps ErrEncode when p cannot be written as it is; dst is then
// returned unchanged. A connection writes through one Writer instead.
func Append(dst []byte, p Packet, version byte) ([]byte, error) {
	start := len(dst)
	e := encoder{b: dst}
	h, err := e.packet(p, version)
	if err != nil {
		return dst, err
	}
	b := e.b
	copy(b[start:], b[h:])
	return b[:len(b)-(h-start)], nil
}

// packet appends p after five bytes of room for the fixed header, which
// it writes right-aligned in that room, starting at h.
func (e *encoder) packet(p Packet, version byte) (h int, err error) {
	start := len(e.b)
	t := p.Type()
	if c, ok := p.(*Connect); ok && c.Version != 0 {
		version = c.Version
	}
	if version != Version311 && version != Version5 {
		return 0, fmt.Errorf("%w %s: protocol version %d", ErrEncode, t, version)
	}
	e.b, e.t, e.version, e.err = append(e.b, 0, 0, 0, 0, 0), t, version, nil
	flags := p.encode(e) | fixedFlags(t)
	if e.err != nil {
		e.b = e.b[:start]
		return 0, e.err
	}
	n := len(e.b) - start - 5
	if n > MaxRemainingLength {
		e.b = e.b[:start]
		return 0, fmt.Errorf("%w %s: %d bytes, more than a packet can hold", ErrEncode, t, n)
	}
	var hdr [5]byte
	l := appendVBI(append(hdr[:0], byte(t)<<4|flags), uint32(n))
	h = start + 5 - len(l)
	copy(e.b[h:], l)
	return h, nil
}

// Writer encodes packets into a buffer it reuses and writes each to w in
// one Write call (w is typically a bufio.Writer).
type Writer struct {
	w io.Writer
	e encoder
	// MaxPacketSize, when not 0, is the largest packet the peer accepts
	// (its MQTT 5 Maximum Packet Size): WritePacket refuses a larger one,
	// writing nothing, with an error that matches ErrTooLarge.
	MaxPacketSize uint32
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// keepBuffer is the largest buffer a Writer keeps between packets.
const keepBuffer = 1 << 20

// WritePacket encodes p for version and writes it.
func (w *Writer) WritePacket(p Packet, version byte) error {
	w.e.b = w.e.b[:0]
	h, err := w.e.packet(p, version)
	b := w.e.b
	if cap(b) > keepBuffer {
		w.e.b = nil
	}
	if err != nil {
		return err
	}
	if w.MaxPacketSize != 0 && len(b)-h > int(w.MaxPacketSize) {
		return &Error{Reason: PacketTooLarge, Type: p.Type(), Version: version,
			Msg: fmt.Sprintf("%d bytes, more than the peer's maximum of %d", len(b)-h, w.MaxPacketSize)}
	}
	_, err = w.w.Write(b[h:])
	return err
}
