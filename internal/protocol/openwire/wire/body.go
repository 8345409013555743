package wire

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Deflate zlib-compresses b as java.util.zip.Deflater does by default.
func Deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("openwire: deflate: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("openwire: deflate: %w", err)
	}
	return buf.Bytes(), nil
}

// Inflate decompresses zlib data, failing with ErrFrameTooLarge if the result
// would exceed maxSize bytes and with ErrMalformed if the data is corrupt.
func Inflate(b []byte, maxSize int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("openwire: inflate: %w", &MalformedError{Detail: err.Error()})
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(maxSize)+1))
	if err != nil {
		return nil, fmt.Errorf("openwire: inflate: %w", &MalformedError{Detail: err.Error()})
	}
	if len(out) > maxSize {
		return nil, fmt.Errorf("%w: inflated body exceeds %d bytes", ErrFrameTooLarge, maxSize)
	}
	return out, nil
}

// Body returns the message content uncompressed (at most maxSize bytes):
// for BytesMessage the int32 length prefix Java adds before the deflated
// data is checked and removed. A nil Content yields nil.
func (m *Message) Body(maxSize int) ([]byte, error) {
	if !m.Compressed || m.Content == nil {
		return m.Content, nil
	}
	data := m.Content
	want := -1
	if m.DataType() == TypeBytesMessage {
		if len(data) < 4 {
			return nil, fmt.Errorf("openwire: compressed bytes body: %w", &MalformedError{Detail: "missing length"})
		}
		want = int(int32(binary.BigEndian.Uint32(data)))
		if want < 0 {
			return nil, fmt.Errorf("openwire: compressed bytes body: %w", &MalformedError{
				Detail: fmt.Sprintf("declared length %d", want)})
		}
		if want > maxSize {
			return nil, fmt.Errorf("%w: compressed bytes body declares %d bytes", ErrFrameTooLarge, want)
		}
		data = data[4:]
	}
	out, err := Inflate(data, maxSize)
	if err != nil {
		return nil, err
	}
	if want >= 0 && len(out) != want {
		return nil, fmt.Errorf("openwire: compressed bytes body: %w", &MalformedError{
			Detail: fmt.Sprintf("declared %d bytes, inflated %d", want, len(out))})
	}
	return out, nil
}

// SetBody stores body as the message content, deflating it (in the layout of
// the message type) if compress is set.
func (m *Message) SetBody(body []byte, compress bool) error {
	m.Compressed = false
	m.Content = body
	if !compress || body == nil {
		return nil
	}
	z, err := Deflate(body)
	if err != nil {
		return err
	}
	if m.DataType() == TypeBytesMessage {
		if len(body) > math.MaxInt32 {
			return fmt.Errorf("%w: bytes body of %d bytes", ErrInvalidValue, len(body))
		}
		z = append(binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(z)), uint32(len(body))), z...)
	}
	m.Content = z
	m.Compressed = true
	return nil
}

// Properties decodes MarshalledProperties (nil if there are none).
func (m *Message) Properties() (map[string]any, error) {
	if m.MarshalledProperties == nil {
		return nil, nil
	}
	return UnmarshalPrimitiveMap(m.MarshalledProperties, 0)
}

// SetProperties encodes props into MarshalledProperties; nil or empty clears
// them.
func (m *Message) SetProperties(props map[string]any) error {
	if len(props) == 0 {
		m.MarshalledProperties = nil
		return nil
	}
	b, err := MarshalPrimitiveMap(props)
	if err != nil {
		return err
	}
	m.MarshalledProperties = b
	return nil
}

// EncodeText returns a TextMessage body: int32 length and modified UTF-8.
func EncodeText(s string) []byte {
	b := make([]byte, 4, 4+ModifiedUTF8Len(s))
	b = AppendModifiedUTF8(b, s)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// DecodeText decodes a TextMessage body (uncompressed). valid is false for a
// null text (length -1 or a nil body).
func DecodeText(body []byte) (text string, valid bool, err error) {
	if body == nil {
		return "", false, nil
	}
	r := &reader{buf: body, maxDepth: defaultMaxDepth}
	n := r.i32()
	if r.err == nil && n == -1 && r.remaining() == 0 {
		return "", false, nil
	}
	if r.err == nil && n < 0 {
		r.fail("text length %d", n)
	}
	s := r.utfBytes(int(n))
	if r.err == nil && r.remaining() > 0 {
		r.fail("%d trailing bytes after text", r.remaining())
	}
	if r.err != nil {
		return "", false, fmt.Errorf("openwire: text body: %w", r.err)
	}
	return s, true, nil
}

// Text returns the text of a TextMessage, inflating it if needed.
func (m *Message) Text(maxSize int) (text string, valid bool, err error) {
	body, err := m.Body(maxSize)
	if err != nil {
		return "", false, err
	}
	return DecodeText(body)
}

// SetText sets the body of a TextMessage.
func (m *Message) SetText(s string, compress bool) error {
	return m.SetBody(EncodeText(s), compress)
}

// EncodeStream returns a StreamMessage body: each value type-tagged as in a
// primitive map (same Go types).
func EncodeStream(values []any) ([]byte, error) {
	w := &writer{buf: []byte{}}
	for _, v := range values {
		w.primitive(v)
	}
	if w.err != nil {
		return nil, fmt.Errorf("openwire: stream body: %w", w.err)
	}
	return w.buf, nil
}

// DecodeStream decodes a StreamMessage body into its values.
func DecodeStream(body []byte) ([]any, error) {
	r := &reader{buf: body, maxDepth: defaultMaxDepth}
	var out []any
	for r.remaining() > 0 && r.err == nil {
		out = append(out, r.primitive(0))
	}
	if r.err != nil {
		return nil, fmt.Errorf("openwire: stream body: %w", r.err)
	}
	return out, nil
}

// EncodeMap returns a MapMessage body (a primitive map).
func EncodeMap(m map[string]any) ([]byte, error) { return MarshalPrimitiveMap(m) }

// DecodeMap decodes a MapMessage body.
func DecodeMap(body []byte) (map[string]any, error) { return UnmarshalPrimitiveMap(body, 0) }
