package packet

import (
	"errors"
	"fmt"
	"io"

	"github.com/piermq/pier/internal/protocol/connbuf"
)

// Reader reads packets from a connection. It learns the connection's
// protocol version from the CONNECT and decodes what follows by it; one
// Reader per connection reuses its decoding state, so that reading a
// packet allocates only the packet, its body and its strings.
type Reader struct {
	r       ByteReader
	limits  Limits
	version byte
	d       decoder
}

// ByteReader is what a Reader reads from: a *bufio.Reader, or a
// connection's *connbuf.Reader.
type ByteReader interface {
	io.Reader
	io.ByteReader
	Peek(n int) ([]byte, error)
}

// NewReader returns a Reader of r. version is the connection's protocol
// version if it is known (a client knows the version of the CONNECT it
// sent), or 0 for a server that has not read the CONNECT yet.
func NewReader(r ByteReader, version byte, limits Limits) *Reader {
	return &Reader{r: r, version: version, limits: limits}
}

// Version is the connection's protocol version: what NewReader was given,
// or what the first CONNECT carried; 0 until then.
func (r *Reader) Version() byte { return r.version }

// ReadPacket reads one packet. Before the version is known only a CONNECT
// is accepted, and its protocol level becomes the version (a CONNECT is
// always decoded by the level it carries).
//
// The fixed header is checked before anything else is read: a Remaining
// Length of more than four bytes or not in its shortest form, a packet
// larger than the limits allow, a reserved packet type or wrong flag bits
// are refused without reading or allocating the body. The body is then
// read in full, and every length inside it checked against what is left.
//
// A refused packet is an *Error (see Error for how to answer it); the
// connection cannot go on after one. A clean end of input before a packet
// begins is io.EOF; one inside a packet is io.ErrUnexpectedEOF, wrapped.
func (r *Reader) ReadPacket() (Packet, error) {
	first, err := r.r.ReadByte()
	if err != nil {
		return nil, err
	}
	var lenBuf [4]byte
	n := 0
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("mqtt: read fixed header: %w", noEOF(err))
		}
		lenBuf[n] = c
		n++
		if c&0x80 == 0 || n == len(lenBuf) {
			break
		}
	}
	t, flags := Type(first>>4), first&0x0f
	d := &r.d
	*d = decoder{t: t, version: r.version}
	if r.version == 0 {
		d.version = Version311 // the answer to a refused CONNECT, until its level is known
	}
	remaining, _, problem := decodeVBI(lenBuf[:n])
	size := uint64(1+n) + uint64(remaining)
	switch {
	case problem != "":
		d.malformed("remaining length: %s", problem)
	case size > uint64(r.limits.maxPacketSize()):
		if t == CONNECT && r.version == 0 && r.connectsV5() {
			d.version = Version5 // answered as its client reads it
		}
		d.fail(PacketTooLarge, "%d bytes, more than the limit of %d", size, r.limits.maxPacketSize())
	case t == 0 || t == AUTH && r.version == Version311:
		d.malformed("reserved packet type %d", t)
	case r.version == 0 && t != CONNECT:
		d.protocol("the first packet must be CONNECT")
	case t != PUBLISH && flags != fixedFlags(t):
		d.malformed("fixed header flags 0x%X, must be 0x%X", flags, fixedFlags(t))
	}
	if d.err != nil {
		return nil, d.err
	}
	d.b, err = connbuf.ReadN(r.r, int(remaining))
	if err != nil {
		return nil, fmt.Errorf("mqtt: read %s body: %w", t, noEOF(err))
	}
	p := newPacket(t)
	p.decode(d, flags)
	if err := d.err; err != nil {
		*d = decoder{}
		return nil, err
	}
	*d = decoder{}
	if c, ok := p.(*Connect); ok && r.version == 0 {
		r.version = c.Version
	}
	return p, nil
}

// connectsV5 reports whether the CONNECT whose body comes next says
// protocol level 5, looking at its first bytes without taking them (a
// CONNECT refused before its body is read is still answered in its
// version).
func (r *Reader) connectsV5() bool {
	b, err := r.r.Peek(7)
	return err == nil && string(b[:6]) == "\x00\x04MQTT" && b[6] == Version5
}

// ReadPacket reads one packet from r for version (0 before the CONNECT);
// see Reader.ReadPacket. A connection reads through one Reader instead.
func ReadPacket(r ByteReader, version byte, limits Limits) (Packet, error) {
	return NewReader(r, version, limits).ReadPacket()
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
