package wire

import (
	"bytes"
	"testing"
)

// The Java client reads top-level property strings as plain UTF-8, and
// nested ones with readUTF (modified UTF-8).
func TestMarshalJavaProperties(t *testing.T) {
	s := "e\U0001F600 n[\x00] é"
	b, err := MarshalJavaProperties(map[string]any{"s": s, "m": map[string]any{"n": s}, "i": int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, append([]byte{primString, 0, byte(len(s))}, s...)) {
		t.Fatalf("top-level string not in plain UTF-8: % x", b)
	}
	mod := AppendModifiedUTF8(nil, s)
	if !bytes.Contains(b, mod) {
		t.Fatalf("nested string not in modified UTF-8: % x", b)
	}
	big := string(bytes.Repeat([]byte("\U0001F600"), 5000)) // 10000 UTF-16 units
	b, err = MarshalJavaProperties(map[string]any{"big": big})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, append([]byte{primBigString, 0, 0, 0x4e, 0x20}, big[:8]...)) {
		t.Fatalf("big string not code 13 with plain UTF-8: % x", b[:20])
	}
}
