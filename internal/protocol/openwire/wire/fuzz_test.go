package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecode checks that no input panics the decoder and that whatever
// decodes re-encodes to something that decodes to the same value.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.bin")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, cmd := range roundTripCases() {
		b, err := Marshal(cmd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		opts := Options{MaxFrameSize: 1 << 20}
		cmd, err := NewDecoder(bytes.NewReader(in), opts).Decode()
		if err != nil {
			return
		}
		exerciseHelpers(cmd)
		out, err := Marshal(cmd)
		if err != nil {
			t.Fatalf("decoded %T does not re-encode: %v", cmd, err)
		}
		again, err := Unmarshal(out, opts)
		if err != nil {
			t.Fatalf("re-encoded %T does not decode: %v\n%x", cmd, err, out)
		}
		if !reflect.DeepEqual(again, cmd) {
			// Float NaNs in WireFormatInfo properties are never DeepEqual;
			// the encodings must still agree.
			out2, err := Marshal(again)
			if _, wf := cmd.(*WireFormatInfo); !wf || err != nil || !bytes.Equal(out, out2) {
				t.Fatalf("round trip differs:\n%+v\n%+v", cmd, again)
			}
		}
	})
}

// exerciseHelpers runs the body helpers over decoded messages: they must not
// panic on any input.
func exerciseHelpers(cmd Command) {
	m, ok := cmd.(*Message)
	if d, isDispatch := cmd.(*MessageDispatch); isDispatch && d.Message != nil {
		m, ok = d.Message, true
	}
	if !ok {
		return
	}
	_, _ = m.Properties()
	body, err := m.Body(1 << 16)
	if err != nil {
		return
	}
	_, _, _ = DecodeText(body)
	_, _ = DecodeStream(body)
	_, _ = DecodeMap(body)
}
