package selector

import (
	"strings"
	"testing"

	"github.com/piermq/pier/internal/message"
)

// truth is the expected three-valued result of a condition.
type truth byte

const (
	T truth = 'T' // TRUE: matches; NOT (...) does not
	F truth = 'F' // FALSE: does not match; NOT (...) does
	U truth = 'U' // unknown: neither it nor NOT (...) matches
)

// checkTruth checks sel and NOT (sel) against m, which pins down the
// three-valued result.
func checkTruth(t *testing.T, sel string, m *message.Message, want truth) {
	t.Helper()
	prefix := ""
	if strings.HasPrefix(sel, ConvertPrefix) {
		prefix, sel = ConvertPrefix, sel[len(ConvertPrefix):]
	}
	s, err := Parse(prefix + sel)
	if err != nil {
		t.Fatalf("Parse(%q): %v", sel, err)
	}
	n, err := Parse(prefix + "NOT (" + sel + "\n)")
	if err != nil {
		t.Fatalf("Parse(NOT (%q)): %v", sel, err)
	}
	got := U
	switch a, b := s.Match(m), n.Match(m); {
	case a && b:
		t.Fatalf("%q and its negation both match", sel)
	case a:
		got = T
	case b:
		got = F
	}
	if got != want {
		t.Errorf("%q = %c, want %c (String %q)", prefix+sel, got, want, s.String())
	}
}

func TestHeaders(t *testing.T) {
	m := sampleMessage()
	for _, tc := range []struct {
		sel  string
		want truth
	}{
		{"JMSDeliveryMode = 'PERSISTENT'", T},
		{"JMSDeliveryMode = 'NON_PERSISTENT'", F},
		{"JMSPriority = 7", T},
		{"JMSPriority > 4", T},
		{"JMSMessageID = 'ID:1'", T},
		{"JMSTimestamp = 500", T},
		{"JMSCorrelationID = 'corr'", T},
		{"JMSType = 'order'", T},
		{"JMSExpiration = 1000", T},
		{"JMSRedelivered", T},
		{"JMSRedelivered = TRUE", T},
		{"JMSXDeliveryCount = 3", T},
		{"JMSXGroupID = 'g1'", T},
		{"JMSXGroupSeq = 3", T},
		{"JMSXUserID = 'alice'", T},
		{"JMSDestination = 'queue://orders'", T},
		{"JMSReplyTo = 'topic://replies'", T},
		{"jmspriority IS NULL", T}, // identifiers are case-sensitive
	} {
		t.Run(tc.sel, func(t *testing.T) { checkTruth(t, tc.sel, m, tc.want) })
	}

	empty := &message.Message{Properties: map[string]any{"JMSXUserID": "bob"}}
	for _, tc := range []struct {
		sel  string
		want truth
	}{
		{"JMSCorrelationID IS NULL", T},
		{"JMSType IS NULL", T},
		{"JMSMessageID IS NULL", T},
		{"JMSXGroupID IS NULL", T},
		{"JMSDestination IS NULL", T},
		{"JMSReplyTo IS NULL", T},
		{"JMSType = 'x'", U},
		{"JMSDeliveryMode = 'NON_PERSISTENT'", T},
		{"JMSRedelivered", F},
		{"JMSXDeliveryCount = 1", T},
		{"JMSPriority = 0", T},
		{"JMSXUserID = 'bob'", T}, // falls back to the property
	} {
		t.Run("empty/"+tc.sel, func(t *testing.T) { checkTruth(t, tc.sel, empty, tc.want) })
	}

	dlq := &message.Message{
		Dest:         message.Destination{Kind: message.Queue, Name: "DLQ"},
		OriginalDest: message.Destination{Kind: message.Topic, Name: "prices"},
	}
	checkTruth(t, "JMSDestination = 'topic://prices'", dlq, T)
}

func TestMatch(t *testing.T) {
	m := sampleMessage()
	for _, tc := range []struct {
		sel  string
		want truth
	}{
		// numeric promotion across integer and floating types
		{"i8 = -3", T},
		{"i16 > 299.5", T},
		{"i32 = 42.0", T},
		{"i32 = 42", T},
		{"i64 = 1099511627776", T},
		{"i64 = 1099511627776L", T},
		{"f32 = 1.5", T},
		{"f64 > f32", T},
		{"i8 < i16", T},
		{"big > 9.2e18", T},
		{"i32 <= 42", T},
		{"i32 >= 43", F},
		{"i32 <> 42", F},
		{"i32 < 42", F},
		// arithmetic
		{"i32 + f64 = 44.5", T},
		{"i32 / 4 = 10.5", T},
		{"7 / 2 = 3", F}, // division is always floating point
		{"7 / 2 = 3.5", T},
		{"i32 % 5 = 2", T},
		{"i32 * 2 - 4 = 80", T},
		{"-i32 = -42", T},
		{"+i32 = 42", T},
		{"- -i32 = 42", T},
		{"1 + 2 * 3 = 7", T},
		{"(1 + 2) * 3 = 9", T},
		{"10 - 2 - 3 = 5", T},
		{"i32 / 0 > 1e308", T},
		{"s + 1 = 2", U},   // arithmetic on a string is NULL
		{"-s = 1", U},      // so is negating one
		{"t * 1 = 1", U},   // and a boolean
		{"big + 1 < 0", T}, // long arithmetic wraps
		// strings
		{"s = 'hello'", T},
		{"s <> 'hello'", F},
		{"s = 'Hello'", F},
		{"quote = 'it''s'", T},
		{"s < u", T}, // two string values are ordered, as in ActiveMQ
		{"e = ''", T},
		{"nl = 'a\nb'", T},
		// booleans
		{"t", T},
		{"f", F},
		{"t = TRUE", T},
		{"t <> f", T},
		{"f < t", T},
		{"TRUE", T},
		{"FALSE", F},
		// values of unrelated types are unequal, not unknown
		{"s = 1", F},
		{"s <> 1", T},
		{"num = 42", F},
		{"t = 1", F},
		{"s > i32", F},
		{"c = 'x'", F},
		{"c = c", T},
		{"b = 'hi'", F},
		{"b = b", F},
		{"s", F}, // a non-boolean property used as a condition is FALSE
		{"i32", F},
		// NULL
		{"nil IS NULL", T},
		{"missing IS NULL", T},
		{"missing IS NOT NULL", F},
		{"b IS NOT NULL", T},
		{"e IS NULL", F},
		{"missing = 1", U},
		{"missing <> 1", U},
		{"missing > 1", U},
		{"missing = missing", U},
		{"missing + 1 = 2", U},
		{"-missing = 1", U},
		{"missing", U},
		{"NULL", U},
		{"(i32 = 1) IS NULL", F},
		{"(missing = 1) IS NULL", T},
		// three-valued logic
		{"missing AND f", F},
		{"missing AND t", U},
		{"missing OR t", T},
		{"missing OR f", U},
		{"NOT missing", U},
		{"NULL AND FALSE", F},
		{"NULL OR TRUE", T},
		{"NULL AND NULL", U},
		{"t AND t AND missing", U},
		{"f OR f OR missing", U},
		{"f OR missing OR t", T},
		// precedence
		{"NOT i32 = 1", T},
		{"NOT NOT t", T},
		{"t OR f AND f", T},
		{"(t OR f) AND f", F},
		{"i32 = 42 = TRUE", T},
		{"TRUE = (i32 = 42)", T},
		// BETWEEN
		{"i32 BETWEEN 40 AND 45", T},
		{"i32 BETWEEN 42 AND 42", T},
		{"i32 BETWEEN 43 AND 45", F},
		{"i32 NOT BETWEEN 43 AND 45", T},
		{"i32 NOT BETWEEN 40 AND 45", F},
		{"f64 BETWEEN 2 AND 3", T},
		{"i32 BETWEEN 40 + 1 AND 50 - 1", T},
		{"missing BETWEEN 1 AND 2", U},
		{"missing NOT BETWEEN 1 AND 2", U},
		{"i32 BETWEEN missing AND 50", U},
		{"i32 BETWEEN missing AND 10", F},
		{"i32 NOT BETWEEN missing AND 10", T},
		{"s BETWEEN 1 AND 2", F},
		{"s NOT BETWEEN 1 AND 2", F},
		// IN
		{"s IN ('a', 'hello')", T},
		{"s IN ('a')", F},
		{"s NOT IN ('a', 'hello')", F},
		{"s NOT IN ('a')", T},
		{"s IN ('a', 'b', 'c', 'd', 'e', 'hello')", T},
		{"s IN ('a', 'b', 'c', 'd', 'e', 'f')", F},
		{"s NOT IN ('a', 'b', 'c', 'd', 'e', 'f')", T},
		{"missing IN ('a')", U},
		{"missing NOT IN ('a')", U},
		{"i32 IN ('42')", U}, // IN on a non-string is unknown, as in ActiveMQ
		{"e IN ('')", T},
		{"quote IN ('it''s')", T},
		// LIKE
		{"s LIKE 'he%'", T},
		{"s LIKE 'h_llo'", T},
		{"s LIKE '%ll%'", T},
		{"s LIKE 'hello_'", F},
		{"s LIKE '%'", T},
		{"s LIKE 'HELLO'", F},
		{"s LIKE 'h.llo'", F},
		{"s LIKE 'h[e]llo'", F},
		{"s NOT LIKE 'x%'", T},
		{"s NOT LIKE 'h%'", F},
		{"e LIKE '%'", T},
		{"e LIKE ''", T},
		{"e LIKE '_'", F},
		{"missing LIKE 'x'", U},
		{"missing NOT LIKE 'x'", U},
		{"i32 LIKE '42'", F}, // LIKE on a non-string is FALSE
		{"i32 NOT LIKE '42'", T},
		{"pct LIKE '100!%' ESCAPE '!'", T},
		{"pct LIKE '100\\%' ESCAPE '\\'", T},
		{"s LIKE 'hel!lo' ESCAPE '!'", F}, // '!' before 'l' is a literal '!'
		{"quote LIKE 'it''s'", T},
		{"u LIKE '____'", T}, // '_' is one character, not one byte
		{"u LIKE 'ż%w'", T},
		{"nl LIKE 'a_b'", T}, // '_' and '%' match line breaks
		{"nl LIKE 'a%'", T},
		// literals and lexical details
		{"i32 = 0x2A", T},
		{"i32 = 0X2a", T},
		{"i32 = 052", T},
		{"i32 = 42l", T},
		{"f64 = 25e-1", T},
		{"f64 = .25E1", T},
		{"f64 = 2.5", T},
		{"i32 = 42.", T},
		{"i32 = 4.2e1", T},
		{"s = 'hello' and i32 = 42", T},
		{"s = 'hello' /* c */ AnD i32 = 42", T},
		{"i32 = 42 -- trailing comment", T},
		{"i32 = 42 -- line\n AND s = 'hello'", T},
		{"\t\r\n\fi32\n=\n42\n", T},
		{"i32=42AND t", T},
		{"$x IS NULL AND _y IS NULL AND ñ IS NULL", T},
		{"is_x IS NULL", T},
		// doubles order as java.lang.Double.compare
		{"nan = nan", T},
		{"nan > 1e308", T},
		{"negz = 0", F},
		{"negz = 0.0", F},
		{"negz < 0.0", T},
		{"negz = -0.0", T},
	} {
		t.Run(tc.sel, func(t *testing.T) { checkTruth(t, tc.sel, m, tc.want) })
	}
}

func TestConvertStringExpressions(t *testing.T) {
	m := sampleMessage()
	for _, tc := range []struct {
		sel  string
		want truth
	}{
		{"num = 42", F},
		{ConvertPrefix + "num = 42", T},
		{ConvertPrefix + "42 = num", T},
		{ConvertPrefix + "num > 41", T},
		{ConvertPrefix + "num = 42.0", T},
		{ConvertPrefix + "fnum = 2.5", T},
		{ConvertPrefix + "fnum = 2", F}, // "2.5" is not a long
		{ConvertPrefix + "num BETWEEN 40 AND 50", T},
		{ConvertPrefix + "tstr = TRUE", T},
		{ConvertPrefix + "t = 'true'", T},
		{ConvertPrefix + "s = 42", F},
		{ConvertPrefix + "s <> 42", T},
		{ConvertPrefix + "i32 = num", T},
		{ConvertPrefix + "num IN ('42')", T},
		{ConvertPrefix + "missing = 1", U},
	} {
		t.Run(tc.sel, func(t *testing.T) { checkTruth(t, tc.sel, m, tc.want) })
	}
}

func TestMatchAll(t *testing.T) {
	m := sampleMessage()
	for _, s := range []string{"", "   ", "\n\t", "-- just a comment", "/* c */", ConvertPrefix, ConvertPrefix + "  "} {
		sel, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if !sel.MatchAll() || !sel.Match(m) || sel.String() != "" {
			t.Errorf("Parse(%q) should match everything; String %q", s, sel.String())
		}
	}
	var nilSel *Selector
	if !nilSel.Match(m) || nilSel.String() != "" {
		t.Error("a nil *Selector should match everything")
	}
}
