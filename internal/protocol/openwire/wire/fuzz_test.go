package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecode checks that no input panics the decoder and that whatever
// decodes re-encodes to something that decodes to the same value. The first
// input byte picks the version (fuzzVersions[b%5]); the rest is the frame.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/golden/*.bin")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{4}, b...))
	}
	for i, v := range fuzzVersions {
		files, _ := filepath.Glob(filepath.Join("testdata", "golden", "versions", fmt.Sprintf("v%d", v), "*.bin"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(append([]byte{byte(i)}, b...))
		}
		for _, cmd := range roundTripCases() {
			if b, err := AppendFrame([]byte{byte(i)}, cmd, Options{Version: v}); err == nil {
				f.Add(b)
			}
		}
	}
	for _, b := range malformedLengthFrames(f) {
		f.Add(append([]byte{4}, b...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		opts := Options{MaxFrameSize: 1 << 20, Version: fuzzVersions[in[0]%5]}
		// The first frame twice: the second decodes with the strings the
		// first left in the Decoder's cache.
		stream, twice := in[1:], false
		if len(stream) >= 4 {
			if n := 4 + int64(int32(binary.BigEndian.Uint32(stream))); n > 4 && n <= int64(len(stream)) {
				stream, twice = append(append([]byte{}, stream[:n]...), stream[:n]...), true
			}
		}
		dec := NewDecoder(bytes.NewReader(stream), opts)
		cmd, err := dec.Decode()
		if err != nil {
			return
		}
		exerciseHelpers(cmd)
		out, err := AppendFrame(nil, cmd, opts)
		if err != nil {
			t.Fatalf("decoded %T does not re-encode: %v", cmd, err)
		}
		if second, err := dec.Decode(); twice && (err != nil || !sameEncoding(t, second, out, opts)) {
			t.Fatalf("the frame decodes otherwise the second time: %v\n%+v\n%+v", err, cmd, second)
		}
		again, err := Unmarshal(out, opts)
		if err != nil {
			t.Fatalf("re-encoded %T does not decode: %v\n%x", cmd, err, out)
		}
		if !reflect.DeepEqual(again, cmd) {
			// Float NaNs in WireFormatInfo properties are never DeepEqual;
			// the encodings must still agree.
			out2, err := AppendFrame(nil, again, opts)
			if _, wf := cmd.(*WireFormatInfo); !wf || err != nil || !bytes.Equal(out, out2) {
				t.Fatalf("round trip differs:\n%+v\n%+v", cmd, again)
			}
		}
	})
}

var fuzzVersions = [5]int{1, 9, 10, 11, 12}

// sameEncoding reports whether cmd encodes to want.
func sameEncoding(t *testing.T, cmd Command, want []byte, opts Options) bool {
	t.Helper()
	got, err := AppendFrame(nil, cmd, opts)
	return err == nil && bytes.Equal(got, want)
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
