package admin

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/piermq/pier/internal/message"
)

// FuzzParseName: a name from a path is refused or is one valid, concrete
// destination name that survives a round trip through path escaping.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"orders", "a.b.c", "a/b c", "orders.*", "orders.>", ">", "a..b", ".", "", "\x00",
		"é.ü", strings.Repeat("a", 4097), "%2F", "a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := parseName(s)
		if err != nil {
			return
		}
		if name != s || message.ValidateName(name) != nil || !utf8.ValidString(name) ||
			(message.Destination{Name: name}).IsWildcard() {
			t.Fatalf("parseName(%q) accepted %q", s, name)
		}
		if back, err := url.PathUnescape(url.PathEscape(name)); err != nil || back != name {
			t.Fatalf("%q does not survive path escaping: %q %v", name, back, err)
		}
	})
}

// FuzzParseTarget: a move's target is refused or one concrete queue or
// topic, rendered back as given.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"queue://x", "topic://a.b", "queue://a,b", "temp-queue://x", "tcp://h:1", "queue://",
		"queue://a.*", "x", "queue://queue://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseTarget(s)
		if err != nil {
			return
		}
		if (d.Kind != message.Queue && d.Kind != message.Topic) || d.IsWildcard() || d.String() != s ||
			strings.Contains(d.Name, ",") {
			t.Fatalf("parseTarget(%q) = %+v", s, d)
		}
	})
}

// FuzzParseSend: a send request is refused or makes a text message for the
// queue with a priority 0-9 and properties a message can carry.
func FuzzParseSend(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"body":"x","priority":9,"persistent":false}`,
		`{"properties":{"a":1,"b":1.5,"c":"s","d":true}}`, `{"properties":{"JMSX":1}}`, `{"priority":10}`,
		`{"properties":{"big":1e999}}`, `{"body":"\u00e9"} x`, `[1]`, `{"properties":{"n":-9223372036854775809}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseSend(body, "q")
		if err != nil {
			return
		}
		if m.Dest != (message.Destination{Kind: message.Queue, Name: "q"}) || m.Priority > 9 || m.BodyKind != message.Text {
			t.Fatalf("parseSend(%q) = %+v", body, m)
		}
		for k, v := range m.Properties {
			switch v.(type) {
			case string, bool, int64, float64:
			default:
				t.Fatalf("property %q: %T", k, v)
			}
			if k == "" || strings.HasPrefix(k, "JMS") {
				t.Fatalf("property name %q accepted", k)
			}
		}
		if _, err := message.Marshal(nil, m); err != nil {
			t.Fatalf("the message does not encode: %v", err)
		}
	})
}

// FuzzParseMove: a move request is refused or has a valid target and ids
// that are absent or non-empty.
func FuzzParseMove(f *testing.F) {
	for _, s := range []string{`{"to":"queue://x"}`, `{"ids":["a"],"to":"topic://t","copy":true}`, `{"ids":[]}`,
		`{"ids":[""],"to":"queue://x"}`, `{"to":1}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, to, err := parseMove(body)
		if err != nil {
			return
		}
		if _, err := parseTarget(to.String()); err != nil {
			t.Fatalf("parseMove(%q) accepted target %v: %v", body, to, err)
		}
		if req.IDs != nil && len(req.IDs) == 0 {
			t.Fatalf("parseMove(%q) accepted an empty id list", body)
		}
		for _, id := range req.IDs {
			if id == "" {
				t.Fatalf("parseMove(%q) accepted an empty id", body)
			}
		}
		if !json.Valid(body) {
			t.Fatalf("parseMove accepted invalid JSON %q", body)
		}
	})
}

// FuzzDestQuery: the destinations' query string is refused or gives a
// page within bounds and a known sort.
func FuzzDestQuery(f *testing.F) {
	for _, s := range []string{"", "type=queue&q=a&sort=depth&desc=1&offset=5&limit=10", "limit=0", "limit=1001",
		"offset=-1", "sort=x", "type=temp-queue", "desc=yes", "a=b", "limit=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		dq, err := parseDestQuery(q)
		if err != nil {
			return
		}
		if dq.Offset < 0 || dq.Limit < 1 || dq.Limit > maxLimit || len(dq.Contains) > 4096 {
			t.Fatalf("%q: %+v", raw, dq)
		}
		switch dq.Sort {
		case "", "name", "depth", "enqueued", "dequeued", "consumers":
		default:
			t.Fatalf("%q: sort %q", raw, dq.Sort)
		}
		if dq.Kind != 0 && dq.Kind != message.Queue && dq.Kind != message.Topic {
			t.Fatalf("%q: kind %v", raw, dq.Kind)
		}
	})
}
