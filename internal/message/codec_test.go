package message

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sample() *Message {
	return &Message{
		ID: "ID:p-1:1:1:1", Dest: Destination{Queue, "orders.eu"}, ReplyTo: Destination{TempQueue, "t1"},
		CorrelationID: "c", Type: "order", Priority: 7, Expiration: 1700000000000, Timestamp: 1690000000000,
		Persistent: true, DeliveryCount: 2, GroupID: "g", GroupSeq: 3, ProducerID: "p-1:1:1", ProducerSeq: 42,
		UserID: "u", OriginalDest: Destination{Topic, "orig"},
		Properties: map[string]any{
			"n": nil, "b": true, "i8": int8(-3), "i16": int16(-300), "i32": int32(70000), "i64": int64(-1 << 40),
			"f32": float32(1.5), "f64": 2.25, "s": "héllo", "raw": []byte{0, 1, 2}, "ch": uint16('x'),
		},
		BodyKind: Bytes, Body: []byte{0, 0xff, 'a'}, BrokerPath: []string{"ID:far", "ID:near"},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range []*Message{sample(), {}, {Dest: Destination{Topic, "a"}, BodyKind: Text, Body: []byte("x")},
		{BrokerPath: []string{""}}} {
		b, err := Marshal(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
		}
	}
}

func TestUnmarshalRejectsTruncation(t *testing.T) {
	b, _ := Marshal(nil, sample())
	for i := 0; i < len(b); i++ {
		if _, err := Unmarshal(b[:i]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", i)
		}
	}
	if _, err := Unmarshal(append(b, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestMarshalRejectsUnknownType(t *testing.T) {
	m := &Message{Properties: map[string]any{"x": struct{}{}}}
	if _, err := Marshal(nil, m); err == nil {
		t.Fatal("want error for unsupported property type")
	}
}

func FuzzUnmarshal(f *testing.F) {
	b, _ := Marshal(nil, sample())
	f.Add(b)
	noPath := sample()
	noPath.BrokerPath = nil
	b, _ = Marshal(nil, noPath)
	f.Add(b)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			return
		}
		again, err := Marshal(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Unmarshal(again)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if again2, _ := Marshal(nil, m2); !bytes.Equal(again, again2) {
			t.Fatal("encoding not stable")
		}
	})
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"a.b", "a.b", true}, {"a.*", "a.b", true}, {"a.*", "a.b.c", false}, {"a.>", "a.b.c", true},
		{"a.>", "a", false}, {">", "x", true}, {"*.b", "a.b", true}, {"a.*.c", "a.x.c", true}, {"a.b", "a.c", false},
	}
	for _, c := range cases {
		if got := Match(c.pat, c.name); got != c.want {
			t.Errorf("Match(%q,%q)=%v want %v", c.pat, c.name, got, c.want)
		}
	}
}

// TestValidateName: which names are refused, and for what.
func TestValidateName(t *testing.T) {
	cases := []struct{ name, err string }{
		{"a", ""}, {"a.b.c", ""}, {"a.*.c", ""}, {"a.>", ""}, {">", ""}, {"a.b-c_d", ""},
		{"", "empty name"}, {"a..b", ""}, {".a", ""}, {"a.", ""}, {".", ""},
		{"a.>.b", "'>' must be the last part"}, {">.>", "'>' must be the last part"},
		{"a.>.", "'>' must be the last part"}, {"a..>.b", "'>' must be the last part"}, {"..>", ""},
		{strings.Repeat("x", 4097), "longer than 4096"},
	}
	for _, c := range cases {
		err := ValidateName(c.name)
		if c.err == "" && err != nil || c.err != "" && (!errors.Is(err, ErrBadDestination) || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ValidateName(%q) = %v, want %q", c.name, err, c.err)
		}
	}
}

func TestIsWildcard(t *testing.T) {
	for name, want := range map[string]bool{"a.b": false, "a.*": true, "a.>": true, "*": true, "a*.b": false, "a.>b": false} {
		if got := (Destination{Kind: Queue, Name: name}).IsWildcard(); got != want {
			t.Errorf("IsWildcard(%q) = %v", name, got)
		}
	}
}

func TestNilAndEmptyBodiesStayApart(t *testing.T) {
	for _, body := range [][]byte{nil, {}} {
		b, err := Marshal(nil, &Message{BodyKind: Text, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if (m.Body == nil) != (body == nil) || len(m.Body) != 0 {
			t.Fatalf("body %#v came back as %#v", body, m.Body)
		}
	}
}

func TestVersion1StillDecodes(t *testing.T) {
	// A version 1 encoding of {ID: "a", BodyKind: Text, Body: "hi"}.
	v1 := []byte{1, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 'h', 'i'}
	m, err := Unmarshal(v1)
	if err != nil || m.ID != "a" || string(m.Body) != "hi" || m.BodyKind != Text {
		t.Fatalf("v1 decode: %+v %v", m, err)
	}
}

func TestVersionFollowsBrokerPath(t *testing.T) {
	m := sample()
	withPath, _ := Marshal(nil, m)
	m.BrokerPath = nil
	without, _ := Marshal(nil, m)
	if withPath[0] != codecVersionV3 || without[0] != codecVersion {
		t.Fatalf("versions %d (with a broker path) and %d (without), want %d and %d",
			withPath[0], without[0], codecVersionV3, codecVersion)
	}
	// Version 3 is version 2 with the path after the original destination.
	if len(withPath) != len(without)+1+len("ID:far")+1+len("ID:near")+1 {
		t.Fatalf("version 3 is %d bytes, version 2 %d", len(withPath), len(without))
	}
	m.BrokerPath = []string{}
	if b, _ := Marshal(nil, m); !bytes.Equal(b, without) {
		t.Fatal("an empty broker path is not encoded as no path")
	}
}

func TestVersion3EmptyPathDecodes(t *testing.T) {
	// A version 3 encoding of {ID: "a"} with a path of no elements.
	// Version, ID, then 18 empty or zero fields up to the original
	// destination, the path count, properties, body kind and a nil body.
	v3 := append([]byte{3, 1, 'a'}, make([]byte, 18+4)...)
	m, err := Unmarshal(v3)
	if err != nil || m.ID != "a" || m.BrokerPath != nil {
		t.Fatalf("v3 decode: %+v %v", m, err)
	}
	huge := append(v3[:21:21], 0xff, 0xff, 0xff, 0xff, 0x0f) // a count far beyond the bytes left
	if _, err := Unmarshal(huge); err == nil {
		t.Fatal("a broker path longer than its encoding was accepted")
	}
}

func TestPeekProducer(t *testing.T) {
	b, _ := Marshal(nil, sample())
	id, seq, ok := PeekProducer(b)
	if !ok || string(id) != "p-1:1:1" || seq != 42 {
		t.Fatalf("PeekProducer = %q %d %v", id, seq, ok)
	}
	for n := 0; n < len(b); n++ {
		if id, seq, ok := PeekProducer(b[:n]); ok && (string(id) != "p-1:1:1" || seq != 42) {
			t.Fatalf("cut at %d: %q %d", n, id, seq)
		}
	}
}
