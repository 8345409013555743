package stomp

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

func hdrs(kv ...string) []Header { return NewFrame("X", kv...).Headers }

// readAll decodes every frame of in, counting heart-beats.
func readAll(t *testing.T, in string, v Version, lim Limits) ([]*Frame, int, error) {
	t.Helper()
	r := NewReader(bufio.NewReaderSize(strings.NewReader(in), 16), lim)
	r.SetVersion(v)
	var frames []*Frame
	beats := 0
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return frames, beats, nil
		}
		if err != nil {
			return frames, beats, err
		}
		if f == nil {
			beats++
			continue
		}
		frames = append(frames, f)
	}
}

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		v       Version
		in      string
		want    []*Frame
		beats   int
		wantErr error
	}{
		{name: "minimal", v: V12, in: "DISCONNECT\n\n\x00",
			want: []*Frame{{Command: "DISCONNECT"}}},
		{name: "headers in order with repeats", v: V12, in: "SEND\ndestination:/queue/a\nfoo:1\nfoo:2\n\nhi\x00",
			want: []*Frame{{Command: "SEND", Headers: hdrs("destination", "/queue/a", "foo", "1", "foo", "2"), Body: []byte("hi")}}},
		{name: "CRLF line endings", v: V12, in: "SEND\r\ndestination:/queue/a\r\n\r\nhi\x00\r\n",
			want:  []*Frame{{Command: "SEND", Headers: hdrs("destination", "/queue/a"), Body: []byte("hi")}},
			beats: 1},
		{name: "heart-beats between frames", v: V12, in: "\n\r\n\nRECEIPT\nreceipt-id:1\n\n\x00\n\n",
			want:  []*Frame{{Command: "RECEIPT", Headers: hdrs("receipt-id", "1")}},
			beats: 5},
		{name: "only heart-beats", v: V11, in: "\n\n\n", beats: 3},
		{name: "content-length binary body", v: V12, in: "MESSAGE\ncontent-length:5\n\na\x00b\x00c\x00",
			want: []*Frame{{Command: "MESSAGE", Headers: hdrs("content-length", "5"), Body: []byte("a\x00b\x00c")}}},
		{name: "content-length zero", v: V12, in: "SEND\ncontent-length:0\n\n\x00",
			want: []*Frame{{Command: "SEND", Headers: hdrs("content-length", "0")}}},
		{name: "content-length with spaces", v: V10, in: "SEND\ncontent-length: 2 \n\nab\x00",
			want: []*Frame{{Command: "SEND", Headers: hdrs("content-length", " 2 "), Body: []byte("ab")}}},
		{name: "first content-length wins", v: V12, in: "SEND\ncontent-length:1\ncontent-length:9\n\na\x00",
			want: []*Frame{{Command: "SEND", Headers: hdrs("content-length", "1", "content-length", "9"), Body: []byte("a")}}},
		{name: "escapes 1.2", v: V12, in: "MESSAGE\na\\cb:x\\ny\\rz\\\\w\\c\n\n\x00",
			want: []*Frame{{Command: "MESSAGE", Headers: hdrs("a:b", "x\ny\rz\\w:")}}},
		{name: "escapes 1.1", v: V11, in: "MESSAGE\nk:x\\ny\\c\\\\\n\n\x00",
			want: []*Frame{{Command: "MESSAGE", Headers: hdrs("k", "x\ny:\\")}}},
		{name: "1.1 keeps raw CR inside a value", v: V11, in: "MESSAGE\nk:a\rb\n\n\x00",
			want: []*Frame{{Command: "MESSAGE", Headers: hdrs("k", "a\rb")}}},
		{name: "no escaping in 1.0", v: V10, in: "MESSAGE\nk:a\\nb\\c\n\n\x00",
			want: []*Frame{{Command: "MESSAGE", Headers: hdrs("k", `a\nb\c`)}}},
		{name: "CONNECT never unescaped", v: V12, in: "CONNECT\nlogin:a\\b\npasscode:x\\c\n\n\x00",
			want: []*Frame{{Command: "CONNECT", Headers: hdrs("login", `a\b`, "passcode", `x\c`)}}},
		{name: "CONNECTED never unescaped", v: V12, in: "CONNECTED\nserver:x\\y\n\n\x00",
			want: []*Frame{{Command: "CONNECTED", Headers: hdrs("server", `x\y`)}}},
		{name: "STOMP never unescaped", v: V12, in: "STOMP\nlogin:a\\q\n\n\x00",
			want: []*Frame{{Command: "STOMP", Headers: hdrs("login", `a\q`)}}},
		{name: "value with raw colons", v: V12, in: "SEND\nk:a:b\n\n\x00",
			want: []*Frame{{Command: "SEND", Headers: hdrs("k", "a:b")}}},
		{name: "empty value, not trimmed", v: V12, in: "SEND\nk:\nj: x \n\n\x00",
			want: []*Frame{{Command: "SEND", Headers: hdrs("k", "", "j", " x ")}}},
		{name: "two frames back to back", v: V12, in: "SEND\n\na\x00SEND\n\nb\x00",
			want: []*Frame{{Command: "SEND", Body: []byte("a")}, {Command: "SEND", Body: []byte("b")}}},
		{name: "body longer than buffer", v: V12, in: "SEND\n\n" + strings.Repeat("x", 100) + "\x00",
			want: []*Frame{{Command: "SEND", Body: []byte(strings.Repeat("x", 100))}}},
		{name: "header longer than buffer", v: V12, in: "SEND\nk:" + strings.Repeat("v", 50) + "\n\n\x00",
			want: []*Frame{{Command: "SEND", Headers: hdrs("k", strings.Repeat("v", 50))}}},

		{name: "invalid escape 1.2", v: V12, in: "SEND\nk:\\t\n\n\x00", wantErr: ErrMalformed},
		{name: "\\r invalid in 1.1", v: V11, in: "SEND\nk:\\r\n\n\x00", wantErr: ErrMalformed},
		{name: "lone backslash", v: V12, in: "SEND\nk:a\\\n\n\x00", wantErr: ErrMalformed},
		{name: "raw CR in 1.2 header", v: V12, in: "SEND\nk:a\rb\n\n\x00", wantErr: ErrMalformed},
		{name: "bare CR before EOL", v: V10, in: "SEND\nk:a\r\r\n\n\x00", wantErr: ErrMalformed},
		{name: "header without colon", v: V12, in: "SEND\nnocolon\n\n\x00", wantErr: ErrMalformed},
		{name: "empty header name", v: V12, in: "SEND\n:v\n\n\x00", wantErr: ErrMalformed},
		{name: "lower-case command", v: V12, in: "send\n\n\x00", wantErr: ErrMalformed},
		{name: "NUL as command", v: V12, in: "\x00\n", wantErr: ErrMalformed},
		{name: "bad content-length", v: V12, in: "SEND\ncontent-length:x\n\n\x00", wantErr: ErrMalformed},
		{name: "negative content-length", v: V12, in: "SEND\ncontent-length:-1\n\n\x00", wantErr: ErrMalformed},
		{name: "missing NUL after content-length", v: V12, in: "SEND\ncontent-length:1\n\nab\x00", wantErr: ErrMalformed},
		{name: "EOF in headers", v: V12, in: "SEND\nk:v\n", wantErr: io.ErrUnexpectedEOF},
		{name: "EOF in command", v: V12, in: "SEN", wantErr: io.ErrUnexpectedEOF},
		{name: "EOF in body", v: V12, in: "SEND\n\nabc", wantErr: io.ErrUnexpectedEOF},
		{name: "EOF in content-length body", v: V12, in: "SEND\ncontent-length:5\n\nab", wantErr: io.ErrUnexpectedEOF},
		{name: "EOF before content-length NUL", v: V12, in: "SEND\ncontent-length:2\n\nab", wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, beats, err := readAll(t, tt.in, tt.v, Limits{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !framesEqual(got, tt.want) {
				t.Errorf("frames:\n got %s\nwant %s", dump(got), dump(tt.want))
			}
			if beats != tt.beats {
				t.Errorf("heart-beats = %d, want %d", beats, tt.beats)
			}
		})
	}
}

func TestMalformedErrorDetail(t *testing.T) {
	_, _, err := readAll(t, "SEND\nk:\\t\n\n\x00", V12, Limits{})
	var me *MalformedError
	if !errors.As(err, &me) || !strings.Contains(me.Detail, `\t`) {
		t.Fatalf("err = %#v, want MalformedError naming the escape", err)
	}
}

func TestLimits(t *testing.T) {
	lim := Limits{MaxFrameSize: 8, MaxHeaders: 2, MaxHeaderLength: 32}
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"body at limit", "SEND\n\n12345678\x00", nil},
		{"body over limit", "SEND\n\n123456789\x00", ErrFrameTooLarge},
		{"content-length at limit", "SEND\ncontent-length:8\n\n12345678\x00", nil},
		{"content-length over limit", "SEND\ncontent-length:9\n\n123456789\x00", ErrFrameTooLarge},
		{"huge content-length", "SEND\ncontent-length:99999999999999\n\n", ErrFrameTooLarge},
		{"headers at limit", "SEND\na:1\nb:2\n\n\x00", nil},
		{"headers over limit", "SEND\na:1\nb:2\nc:3\n\n\x00", ErrTooManyHeaders},
		{"line at limit", "SEND\nk:" + strings.Repeat("v", 30) + "\n\n\x00", nil},
		{"line at limit with CRLF", "SEND\r\nk:" + strings.Repeat("v", 30) + "\r\n\r\n\x00", nil},
		{"line over limit", "SEND\nk:" + strings.Repeat("v", 31) + "\n\n\x00", ErrHeaderTooLong},
		{"line over limit with CRLF", "SEND\nk:" + strings.Repeat("v", 31) + "\r\n\n\x00", ErrHeaderTooLong},
		{"endless line", "SEND\nk:" + strings.Repeat("v", 1000), ErrHeaderTooLong},
		{"command over limit", strings.Repeat("A", 33) + "\n\n\x00", ErrHeaderTooLong},
		{"endless body", "SEND\n\n" + strings.Repeat("v", 1000), ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.in, V12, lim)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestLimitsDefaults(t *testing.T) {
	got := Limits{MaxHeaders: 5}.EnsureDefaults()
	want := Limits{MaxFrameSize: DefaultMaxFrameSize, MaxHeaders: 5, MaxHeaderLength: DefaultMaxHeaderLength}
	if got != want {
		t.Fatalf("EnsureDefaults = %+v, want %+v", got, want)
	}
}

func TestReadFrameOneByteAtATime(t *testing.T) {
	in := "\nMESSAGE\r\nk:a\\cb\r\ncontent-length:3\r\n\r\nx\x00y\x00\n"
	r := NewReader(bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(in)), 16), Limits{})
	r.SetVersion(V12)
	var got []*Frame
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			got = append(got, f)
		}
	}
	want := []*Frame{{Command: "MESSAGE", Headers: hdrs("k", "a:b", "content-length", "3"), Body: []byte("x\x00y")}}
	if !framesEqual(got, want) {
		t.Fatalf("got %s, want %s", dump(got), dump(want))
	}
}

func TestAppendFrame(t *testing.T) {
	tests := []struct {
		name string
		v    Version
		f    *Frame
		want string
	}{
		{"plain", V12, NewFrame("SEND", "destination", "/queue/a"), "SEND\ndestination:/queue/a\n\n\x00"},
		{"escape 1.2", V12, NewFrame("MESSAGE", "a:b", "x\ny\rz\\"), "MESSAGE\na\\cb:x\\ny\\rz\\\\\n\n\x00"},
		{"escape 1.1 leaves CR raw", V11, NewFrame("MESSAGE", "k", "a\rb:"), "MESSAGE\nk:a\rb\\c\n\n\x00"},
		{"no escaping 1.0", V10, NewFrame("MESSAGE", "k", "a:b\\"), "MESSAGE\nk:a:b\\\n\n\x00"},
		{"CONNECT not escaped", V12, NewFrame("CONNECT", "passcode", "a:b\\"), "CONNECT\npasscode:a:b\\\n\n\x00"},
		{"content-length added for NUL body", V12, &Frame{Command: "SEND", Body: []byte("a\x00b")},
			"SEND\ncontent-length:3\n\na\x00b\x00"},
		{"content-length not added for text", V12, &Frame{Command: "SEND", Body: []byte("ab")}, "SEND\n\nab\x00"},
		{"wrong content-length fixed", V12, &Frame{Command: "SEND", Headers: hdrs("content-length", "99"), Body: []byte("ab")},
			"SEND\ncontent-length:2\n\nab\x00"},
		{"correct content-length kept verbatim", V12, &Frame{Command: "SEND", Headers: hdrs("content-length", " 2"), Body: []byte("ab")},
			"SEND\ncontent-length: 2\n\nab\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f.Validate(tt.v); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := string(AppendFrame(nil, tt.f, tt.v)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		v    Version
		f    *Frame
		ok   bool
	}{
		{"ok", V12, NewFrame("SEND", "k", "v"), true},
		{"bad command", V12, NewFrame("Send"), false},
		{"empty command", V12, NewFrame(""), false},
		{"empty name", V12, NewFrame("SEND", "", "v"), false},
		{"LF in 1.0 value", V10, NewFrame("SEND", "k", "a\nb"), false},
		{"colon in 1.0 name", V10, NewFrame("SEND", "a:b", "v"), false},
		{"colon in 1.2 name escaped", V12, NewFrame("SEND", "a:b", "v"), true},
		{"LF in CONNECT value", V12, NewFrame("CONNECT", "login", "a\nb"), false},
		{"trailing CR in 1.1 value", V11, NewFrame("SEND", "k", "a\r"), false},
		{"trailing CR in 1.2 value escaped", V12, NewFrame("SEND", "k", "a\r"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate(tt.v)
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
		})
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, V10)
	if err := w.WriteFrame(NewFrame("CONNECT", "accept-version", "1.2")); err != nil {
		t.Fatal(err)
	}
	w.SetVersion(V12)
	w.ContentLength = true
	if err := w.WriteFrame(&Frame{Command: "SEND", Headers: hdrs("k", "a:b"), Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(&Frame{Command: "SEND"}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteHeartBeat(); err != nil {
		t.Fatal(err)
	}
	want := "CONNECT\naccept-version:1.2\n\n\x00SEND\nk:a\\cb\ncontent-length:2\n\nhi\x00SEND\n\n\x00\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
	if err := w.WriteFrame(NewFrame("bad")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("invalid frame: err = %v", err)
	}
}

func TestFrameHeaders(t *testing.T) {
	f := NewFrame("SEND", "a", "1", "b", "2", "a", "3", "odd")
	if got := f.Get("a"); got != "1" {
		t.Errorf("Get(a) = %q, want first occurrence 1", got)
	}
	if v, ok := f.Lookup("odd"); !ok || v != "" {
		t.Errorf("Lookup(odd) = %q,%v", v, ok)
	}
	if _, ok := f.Lookup("missing"); ok {
		t.Error("Lookup(missing) found")
	}
	f.Set("a", "9")
	if want := hdrs("a", "9", "b", "2", "odd", ""); !reflect.DeepEqual(f.Headers, want) {
		t.Errorf("after Set: %v, want %v", f.Headers, want)
	}
	f.Set("c", "4")
	f.Add("b", "5")
	f.Del("b")
	if want := hdrs("a", "9", "odd", "", "c", "4"); !reflect.DeepEqual(f.Headers, want) {
		t.Errorf("after Del: %v, want %v", f.Headers, want)
	}
}

func TestNegotiate(t *testing.T) {
	all := []Version{V10, V11, V12}
	tests := []struct {
		accept    string
		supported []Version
		want      Version
		ok        bool
	}{
		{"", all, V10, true},
		{"1.0,1.1,1.2", all, V12, true},
		{"1.2, 1.1", all, V12, true},
		{"1.1,1.0", all, V11, true},
		{"1.1", []Version{V12}, 0, false},
		{"2.0,1.1", all, V11, true},
		{"garbage", all, 0, false},
	}
	for _, tt := range tests {
		got, ok := Negotiate(tt.accept, tt.supported...)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Negotiate(%q) = %v,%v want %v,%v", tt.accept, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHeartBeat(t *testing.T) {
	x, y, err := ParseHeartBeat("1000, 250")
	if err != nil || x != time.Second || y != 250*time.Millisecond {
		t.Fatalf("ParseHeartBeat = %v,%v,%v", x, y, err)
	}
	if x, y, err := ParseHeartBeat(""); err != nil || x != 0 || y != 0 {
		t.Fatalf("empty = %v,%v,%v", x, y, err)
	}
	for _, bad := range []string{"1", "a,b", "-1,0", "1,2,3"} {
		if _, _, err := ParseHeartBeat(bad); err == nil {
			t.Errorf("ParseHeartBeat(%q) accepted", bad)
		}
	}
	if got := FormatHeartBeat(time.Second, 0); got != "1000,0" {
		t.Errorf("FormatHeartBeat = %q", got)
	}
	if got := HeartBeatInterval(time.Second, 5*time.Second); got != 5*time.Second {
		t.Errorf("interval = %v", got)
	}
	if got := HeartBeatInterval(time.Second, 0); got != 0 {
		t.Errorf("interval with 0 = %v", got)
	}
}

// goldenFrames are encoded to testdata/golden/<name>.stomp and decoded back.
var goldenFrames = []struct {
	name string
	v    Version
	f    *Frame
}{
	{"connect", V10, NewFrame("CONNECT", "accept-version", "1.0,1.1,1.2", "host", "pier", "login", "guest", "passcode", "p:w\\d", "heart-beat", "10000,10000")},
	{"connected", V10, NewFrame("CONNECTED", "version", "1.2", "session", "ID:pier-1", "server", "Pier/0.1", "heart-beat", "0,10000")},
	{"send-text-1.2", V12, &Frame{Command: "SEND", Headers: hdrs("destination", "/queue/orders", "persistent", "true", "receipt", "r-1", "content-type", "text/plain"), Body: []byte("hello")}},
	{"send-binary-1.2", V12, &Frame{Command: "SEND", Headers: hdrs("destination", "/topic/t", "content-length", "5"), Body: []byte{1, 0, 2, 0, 3}}},
	{"message-escaped-1.2", V12, &Frame{Command: "MESSAGE", Headers: hdrs("destination", "/queue/a", "message-id", "ID:x:1:1", "subscription", "0", "ack", "ID:x:1:1", "weird:key", "line1\nline2\r\\end"), Body: []byte("body")}},
	{"message-escaped-1.1", V11, &Frame{Command: "MESSAGE", Headers: hdrs("destination", "/queue/a", "k", "a:b\nc\\")}},
	{"subscribe-activemq", V12, NewFrame("SUBSCRIBE", "id", "1", "destination", "/topic/t", "ack", "client-individual", "activemq.prefetchSize", "10", "activemq.subscriptionName", "durable-1", "selector", "color = 'red'")},
	{"error", V12, &Frame{Command: "ERROR", Headers: hdrs("message", "bad frame", "receipt-id", "r-1", "content-type", "text/plain"), Body: []byte("details\n")}},
}

func TestGolden(t *testing.T) {
	for _, g := range goldenFrames {
		t.Run(g.name, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", g.name+".stomp")
			got := AppendFrame(nil, g.f, g.v)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from %s:\n got %q\nwant %q", path, got, want)
			}
			frames, _, err := readAll(t, string(want), g.v, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !framesEqual(frames, []*Frame{g.f}) {
				t.Fatalf("decoded %s, want %s", dump(frames), dump([]*Frame{g.f}))
			}
		})
	}
}

func framesEqual(a, b []*Frame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !frameEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func frameEqual(a, b *Frame) bool {
	if a.Command != b.Command || !bytes.Equal(a.Body, b.Body) || len(a.Headers) != len(b.Headers) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i] != b.Headers[i] {
			return false
		}
	}
	return true
}

func dump(fs []*Frame) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(string(AppendFrame(nil, f, V10)))
		b.WriteString("|")
	}
	return strings.ReplaceAll(strings.ReplaceAll(b.String(), "\n", `\n`), "\x00", `\0`)
}
