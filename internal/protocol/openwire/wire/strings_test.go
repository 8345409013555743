package wire

import (
	"testing"
	"unsafe"
)

// TestStringCache: a string decoded again is the one handed out before (no
// copy), other bytes in its slot replace it, and what is not cached (too
// long, not ASCII) decodes as DecodeModifiedUTF8 does.
func TestStringCache(t *testing.T) {
	c := newStringCache()
	id := []byte("ID:host-41573-1765100000000-1:1")
	first, _ := c.decode(id)
	again, _ := c.decode(append([]byte{}, id...))
	if again != string(id) || unsafe.StringData(again) != unsafe.StringData(first) {
		t.Fatalf("decoded %q again as a new string", again)
	}
	// Strings seen once, between uses of id, some in its set: id stays.
	for i := 0; i < 8*cacheSets; i++ {
		b := append([]byte{}, id...)
		b[len(b)-1] = byte('a' + i%26)
		b[len(b)-2] = byte('a' + i/26)
		if s, err := c.decode(b); s != string(b) || err != nil {
			t.Fatalf("decoded %q as %q, %v", b, s, err)
		}
		if s, _ := c.decode(id); unsafe.StringData(s) != unsafe.StringData(first) {
			t.Fatalf("after %q, %q is a new string", b, id)
		}
	}
	long := make([]byte, maxCachedString+1)
	for i := range long {
		long[i] = 'x'
	}
	for _, b := range [][]byte{long, []byte("caf\xc3\xa9"), {0xc0, 0x80}, {}, {0xff}} {
		want, wantErr := DecodeModifiedUTF8(b)
		got, err := c.decode(b)
		if got != want || (err == nil) != (wantErr == nil) {
			t.Errorf("%x: got %q, %v; want %q, %v", b, got, err, want, wantErr)
		}
	}
}
