package wire

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendModifiedUTF8 appends s in Java's "modified UTF-8" (the encoding of
// DataOutput.writeUTF, without the length prefix): U+0000 becomes C0 80 and
// characters above U+FFFF become two 3-byte surrogate encodings (CESU-8).
// Invalid UTF-8 in s is encoded as U+FFFD.
func AppendModifiedUTF8(dst []byte, s string) []byte {
	if ascii(s) {
		return append(dst, s...)
	}
	for _, r := range s {
		switch {
		case r == 0:
			dst = append(dst, 0xC0, 0x80)
		case r < 0x80:
			dst = append(dst, byte(r))
		case r < 0x800:
			dst = append(dst, 0xC0|byte(r>>6), 0x80|byte(r&0x3F))
		case r < 0x10000:
			dst = append3(dst, r)
		default:
			hi, lo := utf16.EncodeRune(r)
			dst = append3(dst, hi)
			dst = append3(dst, lo)
		}
	}
	return dst
}

func append3(dst []byte, r rune) []byte {
	return append(dst, 0xE0|byte(r>>12), 0x80|byte((r>>6)&0x3F), 0x80|byte(r&0x3F))
}

// ModifiedUTF8Len is the number of bytes AppendModifiedUTF8 produces for s.
func ModifiedUTF8Len(s string) int {
	if ascii(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		switch {
		case r == 0:
			n += 2
		case r < 0x80:
			n++
		case r < 0x800:
			n += 2
		case r < 0x10000:
			n += 3
		default:
			n += 6
		}
	}
	return n
}

// JavaLength is the length of s in UTF-16 code units (Java's String.length()).
func JavaLength(s string) int {
	if ascii(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// DecodeModifiedUTF8 decodes Java modified UTF-8 as Java's readUTF does: 1-, 2-
// and 3-byte forms are accepted (also overlong ones, like Java). Unlike
// readUTF it also takes plain UTF-8's 4-byte form, which Pier writes in
// property strings (MarshalJavaProperties); stray continuation bytes and
// truncated sequences are rejected. Surrogate pairs are joined; a lone
// surrogate becomes U+FFFD, since a Go string cannot hold it.
func DecodeModifiedUTF8(b []byte) (string, error) {
	if ascii(b) {
		return string(b), nil
	}
	units := make([]uint16, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			units = append(units, uint16(c))
			i++
		case c&0xE0 == 0xC0:
			if i+1 >= len(b) || b[i+1]&0xC0 != 0x80 {
				return "", fmt.Errorf("bad 2-byte sequence at byte %d", i)
			}
			units = append(units, uint16(c&0x1F)<<6|uint16(b[i+1]&0x3F))
			i += 2
		case c&0xF0 == 0xE0:
			if i+2 >= len(b) || b[i+1]&0xC0 != 0x80 || b[i+2]&0xC0 != 0x80 {
				return "", fmt.Errorf("bad 3-byte sequence at byte %d", i)
			}
			units = append(units, uint16(c&0x0F)<<12|uint16(b[i+1]&0x3F)<<6|uint16(b[i+2]&0x3F))
			i += 3
		case c&0xF8 == 0xF0:
			// Plain UTF-8's 4-byte form: Java never writes it in modified
			// UTF-8, but its client reads property strings as plain UTF-8,
			// so Pier writes those that way (MarshalJavaProperties) and
			// reads both.
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 || n != 4 {
				return "", fmt.Errorf("bad 4-byte sequence at byte %d", i)
			}
			r1, r2 := utf16.EncodeRune(r)
			units = append(units, uint16(r1), uint16(r2))
			i += 4
		default:
			return "", fmt.Errorf("invalid byte %#x at byte %d", c, i)
		}
	}
	runes := utf16.Decode(units)
	out := make([]byte, 0, len(b))
	for _, r := range runes {
		out = utf8.AppendRune(out, r)
	}
	return string(out), nil
}
