package frame

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTripTornCorrupt(t *testing.T) {
	rec := Append([]byte("x"), 3, []byte("payload"))[1:]
	typ, p, n, err := Parse(append(bytes.Clone(rec), "next"...), 3, 100)
	if err != nil || typ != 3 || string(p) != "payload" || n != len(rec) {
		t.Fatalf("Parse: %d %q %d %v", typ, p, n, err)
	}
	for i := 0; i < len(rec); i++ {
		if _, _, _, err := Parse(rec[:i], 3, 100); !errors.Is(err, ErrTorn) {
			t.Fatalf("%d of %d bytes: %v, want ErrTorn", i, len(rec), err)
		}
	}
	for i := 0; i < len(rec); i++ {
		bad := bytes.Clone(rec)
		bad[i] ^= 0x10
		if _, _, _, err := Parse(bad, 3, 100); err == nil {
			t.Fatalf("bit flip at %d accepted", i)
		}
	}
	if _, _, _, err := Parse(rec, 2, 100); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("type over maxType: %v", err)
	}
	if _, _, _, err := Parse(rec, 3, 3); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("payload over the limit: %v", err)
	}
	if _, _, _, err := Parse(make([]byte, 32), 3, 100); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("zeros: %v", err)
	}
}

// FuzzParse: any bytes either parse to a record that re-encodes to the
// same bytes, or are refused; nothing panics.
func FuzzParse(f *testing.F) {
	f.Add(Append(nil, 1, []byte("hello")))
	f.Add(Append(nil, 4, nil))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, p, n, err := Parse(b, 4, 1<<20)
		if err != nil {
			return
		}
		if again := Append(nil, typ, p); !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoded record differs")
		}
	})
}

func TestUnwritten(t *testing.T) {
	if !Unwritten(nil) || !Unwritten(make([]byte, 100)) {
		t.Fatal("zeros not unwritten")
	}
	b := make([]byte, 100)
	b[99] = 1
	if Unwritten(b) {
		t.Fatal("a non-zero byte counted as unwritten")
	}
}

func TestUnfinished(t *testing.T) {
	rec := Append(nil, 1, bytes.Repeat([]byte{7}, 100))
	tail := func(b []byte) []byte { return append(b, make([]byte, 300)...) }
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"zeros", make([]byte, 50), true},
		{"empty", nil, true},
		{"part of the header", tail(append([]byte(nil), rec[:3]...)), true},
		{"header and part of the payload", tail(append([]byte(nil), rec[:40]...)), true},
		// The last record written, damaged or torn, ends in zeros: no
		// way to tell, and either way it was never acknowledged whole.
		{"last record with a bad checksum", tail(append(append(append([]byte(nil), rec[:4]...), 1, 2, 3, 4), rec[8:]...)), true},
		{"bytes past the record's end", append(tail(append([]byte(nil), rec...)), 5), false},
		{"a damaged length", append(append([]byte{1, 0, 0, 0}, rec[4:]...), make([]byte, 10)...), false},
	} {
		if got := Unfinished(tc.b); got != tc.want {
			t.Errorf("%s: Unfinished = %v, want %v", tc.name, got, tc.want)
		}
	}
}
