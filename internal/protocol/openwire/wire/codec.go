package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

const (
	defaultMaxFrameSize = 64 << 20
	defaultMaxDepth     = 32
	// frames above this size are read incrementally, so a lying size prefix
	// cannot make the decoder allocate the maximum up front: what it holds
	// is at most twice what the peer actually sent.
	directReadLimit = 64 << 10
	// preallocLimit bounds the room reserved from a declared element count
	// (maps, lists, arrays, stack traces). Counts are checked against the
	// bytes left, but containers nested to MaxDepth could each declare the
	// whole rest of the frame, and reserving that at every level would turn
	// a 1 MiB frame into gigabytes; past the limit a container grows only as
	// its elements actually decode.
	preallocLimit = 64
)

// Options configure a Decoder, an Encoder, Unmarshal and AppendFrame. The
// zero value is usable: OpenWire v12, 64 MiB frames, nesting depth 32, no
// stack traces.
type Options struct {
	// Version is the negotiated OpenWire version: 1, 9, 10, 11 or 12; 0
	// means 12. It selects the field lists (see the package doc); any other
	// value makes every Decode and Encode fail with ErrUnsupportedVersion.
	Version int
	// MaxFrameSize bounds the size prefix (type byte + body) of decoded frames.
	MaxFrameSize int
	// MaxDepth bounds the nesting of objects, throwables and primitive maps.
	MaxDepth int
	// StackTraceEnabled is the negotiated StackTraceEnabled flag: throwables
	// then carry stack frames and a cause.
	StackTraceEnabled bool
}

func (o Options) withDefaults() Options {
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = defaultMaxFrameSize
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = defaultMaxDepth
	}
	if o.Version == 0 {
		o.Version = ProtocolVersion
	}
	return o
}

// VersionSupported reports whether v is an OpenWire version this package
// speaks: 1, 9, 10, 11 or 12 (the versions an ActiveMQ 5.x Java client can
// negotiate).
func VersionSupported(v int) bool {
	switch v {
	case 1, 9, 10, 11, 12:
		return true
	}
	return false
}

func checkVersion(v int) error {
	if !VersionSupported(v) {
		return fmt.Errorf("%w: %d (supported: 1, 9, 10, 11, 12)", ErrUnsupportedVersion, v)
	}
	return nil
}

// Decoder reads size-prefixed loose-encoded frames.
type Decoder struct {
	r    io.Reader
	opts Options
	hdr  [4]byte
	rd   reader       // of the frame being decoded
	strs *stringCache // the strings decoded last, handed out again
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader, opts Options) *Decoder {
	return &Decoder{r: r, opts: opts.withDefaults(), strs: newStringCache()}
}

// SetStackTraceEnabled applies the negotiated StackTraceEnabled flag.
func (d *Decoder) SetStackTraceEnabled(v bool) { d.opts.StackTraceEnabled = v }

// SetVersion applies the negotiated OpenWire version to the frames decoded
// from now on (WireFormatInfo itself reads the same in every version). An
// unsupported version is refused and leaves the Decoder unchanged.
func (d *Decoder) SetVersion(v int) error {
	if err := checkVersion(v); err != nil {
		return err
	}
	d.opts.Version = v
	return nil
}

// Decode reads one frame. It returns io.EOF at a clean end of stream,
// io.ErrUnexpectedEOF inside a frame, and (nil, nil) for a null frame
// (type 0). Decoded byte slices alias a buffer owned by the result.
func (d *Decoder) Decode() (Command, error) {
	if _, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("openwire: read frame size: %w", err)
		}
		return nil, err
	}
	size := int64(int32(binary.BigEndian.Uint32(d.hdr[:])))
	if size > int64(d.opts.MaxFrameSize) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, size, d.opts.MaxFrameSize)
	}
	if size < 1 {
		return nil, &MalformedError{Offset: -4, Detail: fmt.Sprintf("frame size %d", size)}
	}
	var frame []byte
	if size <= directReadLimit {
		frame = make([]byte, size)
		if _, err := io.ReadFull(d.r, frame); err != nil {
			return nil, fmt.Errorf("openwire: read frame of %d bytes: %w", size, noEOF(err))
		}
	} else {
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, d.r, size); err != nil {
			return nil, fmt.Errorf("openwire: read frame of %d bytes: %w", size, noEOF(err))
		}
		frame = buf.Bytes()
	}
	d.rd = reader{strs: d.strs}
	cmd, err := decodeFrame(frame, d.opts, &d.rd)
	d.rd = reader{} // holds nothing of the frame
	return cmd, err
}

// Intern returns b as a string: for a short ASCII b, the same string as
// the last time the Decoder met those bytes, in a frame or here.
func (d *Decoder) Intern(b []byte) string {
	if !cacheable(b) {
		return string(b)
	}
	return d.strs.intern(b)
}

// UnmarshalPrimitiveMap decodes a primitive map as the package function
// does, handing out the strings the Decoder decoded last where they repeat
// (a message's property keys).
func (d *Decoder) UnmarshalPrimitiveMap(b []byte, maxEntries int) (map[string]any, error) {
	return unmarshalPrimitiveMap(&reader{buf: b, maxDepth: defaultMaxDepth, strs: d.strs}, maxEntries)
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Unmarshal decodes one complete frame (size prefix included); the prefix
// must match len(frame)-4.
func Unmarshal(frame []byte, opts Options) (Command, error) {
	opts = opts.withDefaults()
	if len(frame) < 5 {
		return nil, &MalformedError{Offset: -4, Detail: fmt.Sprintf("frame of %d bytes", len(frame))}
	}
	size := int64(int32(binary.BigEndian.Uint32(frame)))
	if size != int64(len(frame)-4) {
		return nil, &MalformedError{Offset: -4, Detail: fmt.Sprintf("size prefix %d, frame holds %d", size, len(frame)-4)}
	}
	if size > int64(opts.MaxFrameSize) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, size, opts.MaxFrameSize)
	}
	return decodeFrame(frame[4:], opts, &reader{})
}

// decodeFrame decodes type byte + body with r, a reader set up with
// nothing but (optionally) its string cache.
func decodeFrame(frame []byte, opts Options, r *reader) (Command, error) {
	if err := checkVersion(opts.Version); err != nil {
		return nil, err
	}
	t := frame[0]
	if t == TypeNull {
		if len(frame) > 1 {
			return nil, &MalformedError{Offset: 0, Detail: "null frame with a body"}
		}
		return nil, nil
	}
	cmd := newDataStructure(t)
	if cmd == nil {
		return nil, fmt.Errorf("openwire: decode frame: %w", &UnknownTypeError{Type: t})
	}
	if !typeInVersion(t, opts.Version) {
		return nil, fmt.Errorf("openwire: decode frame: %w", &UnknownTypeError{Type: t, Version: opts.Version})
	}
	r.buf, r.maxDepth, r.stackTrace, r.version = frame[1:], opts.MaxDepth, opts.StackTraceEnabled, opts.Version
	cmd.unmarshal(r)
	if r.err == nil && r.remaining() > 0 {
		r.fail("%d trailing bytes", r.remaining())
	}
	if r.err != nil {
		return nil, fmt.Errorf("openwire: decode type %d: %w", t, r.err)
	}
	return cmd, nil
}

// Encoder writes size-prefixed loose-encoded frames, one Write per frame.
type Encoder struct {
	w    io.Writer
	opts Options
	buf  []byte
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer, opts Options) *Encoder {
	return &Encoder{w: w, opts: opts.withDefaults()}
}

// SetStackTraceEnabled applies the negotiated StackTraceEnabled flag.
func (e *Encoder) SetStackTraceEnabled(v bool) { e.opts.StackTraceEnabled = v }

// SetVersion applies the negotiated OpenWire version to the frames encoded
// from now on. An unsupported version is refused and leaves the Encoder
// unchanged.
func (e *Encoder) SetVersion(v int) error {
	if err := checkVersion(v); err != nil {
		return err
	}
	e.opts.Version = v
	return nil
}

// Encode writes cmd as one frame; a nil cmd writes a null frame.
func (e *Encoder) Encode(cmd Command) error {
	b, err := AppendFrame(e.buf[:0], cmd, e.opts)
	if err != nil {
		return err
	}
	e.buf = b
	if cap(b) > maxKeptFrame {
		e.buf = nil // do not pin one large message's frame for the connection's life
	}
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("openwire: write frame: %w", err)
	}
	return nil
}

// maxKeptFrame is the largest frame buffer an Encoder keeps for the next.
const maxKeptFrame = 64 << 10

// Marshal returns cmd as a complete frame (size prefix, type, loose body),
// without stack traces in throwables.
func Marshal(cmd Command) ([]byte, error) {
	return AppendFrame(nil, cmd, Options{})
}

// AppendFrame appends cmd as a complete frame to dst, in the field lists of
// opts.Version (fields the version lacks are left out, as Java does).
func AppendFrame(dst []byte, cmd Command, opts Options) ([]byte, error) {
	if opts.Version == 0 {
		opts.Version = ProtocolVersion
	}
	if err := checkVersion(opts.Version); err != nil {
		return dst, err
	}
	start := len(dst)
	w := &writer{buf: append(dst, 0, 0, 0, 0), stackTrace: opts.StackTraceEnabled, version: opts.Version}
	if isNil(cmd) {
		w.u8(TypeNull)
	} else {
		w.object(cmd)
	}
	if w.err != nil {
		return dst, fmt.Errorf("openwire: encode type %d: %w", typeOf(cmd), w.err)
	}
	n := len(w.buf) - start - 4
	if n > math.MaxInt32 {
		return dst, fmt.Errorf("%w: frame of %d bytes", ErrFrameTooLarge, n)
	}
	binary.BigEndian.PutUint32(w.buf[start:], uint32(n))
	return w.buf, nil
}

func typeOf(cmd Command) byte {
	if isNil(cmd) {
		return TypeNull
	}
	return cmd.DataType()
}
