package selector

import (
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	"",
	"a = 1",
	"a = 1 AND b = 'x' OR NOT c",
	"x AND NOT t OR f IS NULL",
	"JMSPriority > 4 AND JMSDeliveryMode = 'PERSISTENT'",
	"JMSXDeliveryCount >= 2 OR JMSRedelivered",
	"JMSType = 'order' AND JMSCorrelationID IS NOT NULL",
	"a + b * c - -i / 2 % 3 >= 1.5e3",
	"i BETWEEN -5 AND 0x10 OR i NOT BETWEEN 1. AND .5",
	"s IN ('abc', 'a%_b', 'x') AND b NOT IN ('x', '')",
	"s LIKE 'a%' OR s NOT LIKE '_b%' ESCAPE '!' OR s LIKE 'a!%!_b' ESCAPE '!'",
	"a IS NULL OR n IS NOT NULL",
	"(a = 1) = TRUE AND a = b = c",
	"c > 2.5 AND c < 3 AND i32 <= -42 AND i32 <> 017",
	"convert_string_expressions:a = 1 AND x = TRUE AND num > 999",
	"-9223372036854775808 < i AND 9223372036854775808 > i AND 42L = a",
	"i = 1e999 OR i / 0 > 1 OR c % 0 = c",
	"NOT NOT (a OR (b AND (c OR x)))",
	"s = 'it''s' -- comment\n AND /* block */ TRUE",
	"a = 09",
	"a LIKE 'x' ESCAPE 'ab'",
	"((((a))))",
	"a = NULL",
	"'x' < a",
}

// FuzzParse checks that Parse never panics, that its errors are well formed,
// and that String() of a parsed selector re-parses to the same canonical
// form with the same matches.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	msgs := fuzzMessages()
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): error %v is not a *SyntaxError", s, err)
			}
			if se.Pos < 0 || se.Pos > len(s) {
				t.Fatalf("Parse(%q): position %d outside the selector", s, se.Pos)
			}
			return
		}
		out := sel.String()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not re-parse: %v", s, out, err)
		}
		if out2 := again.String(); out2 != out {
			t.Fatalf("String() not stable for %q:\n%q\n%q", s, out, out2)
		}
		for i, m := range msgs {
			if a, b := sel.Match(m), again.Match(m); a != b {
				t.Fatalf("%q and its String() %q differ on message %d: %v vs %v", s, out, i, a, b)
			}
		}
	})
}
