package selector

import (
	"errors"
	"strings"
	"testing"
)

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct {
		sel string
		pos int
		msg string
	}{
		{"a = ", 4, "expected an expression, found end of selector"},
		{"(a = 1", 6, "expected ')' to close the '(' at 0"},
		{"a = 1)", 5, "expected an operator or end of selector, found ')'"},
		{"a = 1 b", 6, "found identifier b"},
		{"a = NULL", 4, "use IS NULL"},
		{"NULL <> a", 0, "use IS NULL"},
		{"'x' < a", 0, "string 'x' cannot be an operand of <"},
		{"a >= TRUE", 5, "TRUE cannot be an operand of >="},
		{"a < (b = 1)", 4, "condition cannot be an operand of <"},
		{"a BETWEEN 'a' AND 'c'", 10, "cannot be an operand of BETWEEN"},
		{"a BETWEEN 1 AND 'c'", 16, "cannot be an operand of BETWEEN"},
		{"a BETWEEN 1 OR 2", 12, "expected AND in BETWEEN, found OR"},
		{"TRUE = 1", 0, "cannot compare TRUE with number 1"},
		{"'a' = FALSE", 0, "cannot compare string 'a' with FALSE"},
		{"a + 1", 0, "expected a condition, found arithmetic expression"},
		{"'abc'", 0, "expected a condition, found string 'abc'"},
		{"1", 0, "expected a condition, found number 1"},
		{"a AND 5", 6, "expected a condition, found number 5"},
		{"NOT -a", 4, "expected a condition"},
		{"5 IN ('a')", 0, "IN needs an identifier on its left"},
		{"a IN ()", 6, "expected a string in the IN list, found ')'"},
		{"a IN ('x', 1)", 11, "expected a string in the IN list, found number 1"},
		{"a IN ('x'", 9, "expected ')' to close the IN list"},
		{"a IN 'x'", 5, "expected '(' after IN"},
		{"a LIKE b", 7, "expected a string pattern after LIKE, found identifier b"},
		{"a LIKE 'x' ESCAPE 'ab'", 18, "ESCAPE must be a single character, found 'ab'"},
		{"a LIKE 'x' ESCAPE ''", 18, "ESCAPE must be a single character"},
		{"a LIKE 'x' ESCAPE b", 18, "expected a string after ESCAPE"},
		{"a NOT = 1", 6, "expected LIKE, BETWEEN or IN after NOT, found '='"},
		{"a IS 1", 5, "expected NULL after IS, found number 1"},
		{"a IS NOT TRUE", 9, "expected NULL after IS, found TRUE"},
		{"a ! 1", 2, "unexpected character '!'"},
		{"a != 1", 2, "unexpected character '!'"},
		{"a = 'abc", 4, "unterminated string literal"},
		{"a = 1 /* open", 6, "unterminated comment"},
		{"a = 09", 4, "invalid octal literal 09"},
		{"a = 0x8000000000000000", 4, "hex literal 0x8000000000000000 out of range"},
		{"a = 01777777777777777777777", 4, "invalid octal literal"},
		{"XPATH '//a'", 0, "XPATH selectors are not supported"},
		{"xquery '//a'", 0, "XQUERY selectors are not supported"},
		{"and = 1", 0, "expected an expression, found AND"},
		{"a = 1 AND", 9, "expected an expression, found end of selector"},
		{"a = 5e", 5, "found identifier e"},
		{"a = 1\xff", 5, "invalid UTF-8 byte 0xff"},
		{"a = .", 4, "unexpected character '.'"},
		{ConvertPrefix + "a = ", len(ConvertPrefix) + 4, "expected an expression"},
		{"Convert_string_expressions:a = 1", 26, "unexpected character ':'"}, // only the exact prefix
	} {
		t.Run(tc.sel, func(t *testing.T) {
			_, err := Parse(tc.sel)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.sel)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("got at %d %q, want at %d %q", se.Pos, se.Msg, tc.pos, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "selector: at ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestLimits(t *testing.T) {
	long := "a = '" + strings.Repeat("x", MaxLen) + "'"
	if _, err := Parse(long); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("over-long selector: %v", err)
	}
	ok := "a = '" + strings.Repeat("x", MaxLen-10) + "'"
	if _, err := Parse(ok); err != nil {
		t.Errorf("selector of %d bytes: %v", len(ok), err)
	}

	nested := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "a" + strings.Repeat(close, n)
	}
	for _, tc := range []struct {
		name string
		sel  string
		ok   bool
	}{
		{"parens within limit", nested("(", ")", MaxDepth-1), true},
		{"parens over limit", nested("(", ")", MaxDepth+1), false},
		{"NOT within limit", strings.Repeat("NOT ", MaxDepth-1) + "a", true},
		{"NOT over limit", strings.Repeat("NOT ", MaxDepth+1) + "a", false},
		{"minus over limit", strings.Repeat("- ", MaxDepth+1) + "a = 1", false},
		{"hostile parens", strings.Repeat("(", MaxLen-1), false},
		{"hostile minus", strings.Repeat("- ", MaxLen/2-1), false},
		{"dashes are a comment", strings.Repeat("-", MaxLen), true},
		{"long flat OR", strings.Repeat("a = 1 OR ", 5000) + "b", true},
		{"long flat sum", strings.Repeat("1 + ", 10000) + "1 = a", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := Parse(tc.sel)
			if tc.ok != (err == nil) {
				t.Fatalf("Parse: %v", err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "nesting deeper than") && !strings.Contains(err.Error(), "expected") {
					t.Errorf("unexpected error %v", err)
				}
				return
			}
			sel.Match(sampleMessage())
			if _, err := Parse(sel.String()); err != nil {
				t.Errorf("String() does not re-parse: %v", err)
			}
		})
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a=1", "a = 1"},
		{"a = 0x10 and b = 010", "a = 16 AND b = 8"},
		{"not (a) or b and c", "NOT a OR b AND c"},
		{"(a OR b) AND c", "(a OR b) AND c"},
		{"a AND (b AND c)", "a AND b AND c"},
		{"a OR (b OR c) OR d", "a OR b OR c OR d"},
		{"NOT (a = 1 AND b)", "NOT (a = 1 AND b)"},
		{"(NOT a) = TRUE", "(NOT a) = TRUE"},
		{"a - (b - c) = 1", "a - (b - c) = 1"},
		{"(a - b) - c = 1", "a - b - c = 1"},
		{"a * (b + c) = 1", "a * (b + c) = 1"},
		{"-(a + 1) = 1", "-(a + 1) = 1"},
		{"- -a = 1", "- -a = 1"},
		{"a - -5 = 1", "a - -5 = 1"},
		{"-(5) = a", "-5 = a"},
		{"a = -9223372036854775808", "a = -9223372036854775808"},
		{"a = 9223372036854775808", "a = 9.223372036854776e+18"},
		{"a = 1.0", "a = 1.0"},
		{"a = 1e400", "a = 1e999"},
		{"a = -0.0", "a = -0.0"},
		{"a = 'it''s'", "a = 'it''s'"},
		{"a like 'x!%' escape '!'", "a LIKE 'x!%' ESCAPE '!'"},
		{"a not in ('x','y')", "a NOT IN ('x', 'y')"},
		{"a not between 1 and 2", "a NOT BETWEEN 1 AND 2"},
		{"a is not null", "a IS NOT NULL"},
		{"a = (b = c)", "a = (b = c)"},
		{"a = b = c", "a = b = c"},
		{"+a", "a"},
		{ConvertPrefix + "a='1'", ConvertPrefix + "a = '1'"},
	} {
		sel, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := sel.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}
