package cron

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"* * * * *", "* * * * *"},
		{"? ? ? ? ?", "* * * * *"},
		{"  0\t12 \r\n * \f* 1  ", "0 12 * * 1"},
		{"0 0 1 1 *", "0 0 1 1 *"},
		{"30 08 10 06 ?", "30 8 10 6 *"}, // ActiveMQ's own test writes leading zeros
		{"30 08 ? 06 5", "30 8 * 6 5"},
		{"*/10 0-4,8-12 * * 1-2,3-6", "*/10 0-4,8-12 * * 1-6"},
		{"*/5 * * * *", "*/5 * * * *"},
		{"*/1 */1 */1 */1 */1", "* * * * *"},
		{"0-59 0-23 1-31 1-12 0-6", "* * * * *"},
		{"*/15 */6 * * *", "*/15 */6 * * *"},
		{"0,15,30,45 0,6,12,18 * * *", "*/15 */6 * * *"},
		{"20-59/20 8-18/2 * * *", "20,40 8-18/2 * * *"},
		{"?/30 */23 * * *", "0,30 0,23 * * *"},
		{"59 23 31 12 6", ""}, // both day fields restricted: rejected below
		{"5 4 2-31/2 3-12/3 *", "5 4 2-30/2 3-12/3 *"},
		{"1,2 1,2,3 5,4,3,2,1 12,1 *", "1,2 1-3 1-5 1,12 *"},
		{"7,7,7 * 7-7 * *", "7 * 7 * *"},
		{"0 0 31 2 *", "0 0 31 2 *"},   // accepted; Next says it never fires
		{"0 0 1-31 * 5", "0 0 * * 5"},  // a full day-of-month is not restricted
		{"0 0 13 * 0-6", "0 0 13 * *"}, // nor a full day-of-week
		{"0 0 * * */6", "0 0 * * 0,6"}, // Saturday and Sunday
		{"0 0 * * 0", "0 0 * * 0"},     // Sunday
		{"00000000000000000000001 * * * *", "1 * * * *"},
		{"1-5,10-12,20,22 * * * *", "1-5,10-12,20,22 * * * *"},
		{"0-58/2 * * * *", "*/2 * * * *"},
		{"2-58/2 * * * *", "2-58/2 * * * *"},
	} {
		s, err := Parse(tc.expr)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want an error", tc.expr, s)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		if got := s.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

func TestParseValues(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		field int
		want  []int
	}{
		{"*/15 * * * *", minute, []int{0, 15, 30, 45}},
		{"*/7 * * * *", minute, []int{0, 7, 14, 21, 28, 35, 42, 49, 56}},
		{"20-59/20 * * * *", minute, []int{20, 40}},
		{"0 12-23/4 * * *", hour, []int{12, 16, 20}},
		{"0 0 7-31/7 * *", dom, []int{7, 14, 21, 28}},
		{"0 0 * 3-12/3 *", month, []int{3, 6, 9, 12}},
		{"0 0 * * 0-6/2", dow, []int{0, 2, 4, 6}},
		{"0 0 * * ?", dow, []int{0, 1, 2, 3, 4, 5, 6}},
		{"0 0 ? * *", dom, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
			17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}},
		{"0 0 * 2,11-12,05 *", month, []int{2, 5, 11, 12}},
	} {
		s, err := Parse(tc.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		var want uint64
		for _, v := range tc.want {
			want |= 1 << v
		}
		if got := s.sets[tc.field]; got != want {
			t.Errorf("Parse(%q) %s = %b, want %b", tc.expr, fields[tc.field].name, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ expr, field, want string }{
		{"", "", `cron "": 0 fields, want 5: minute hour day-of-month month day-of-week`},
		{"* * * *", "", `cron "* * * *": 4 fields, want 5: minute hour day-of-month month day-of-week`},
		{"* * * * * *", "", `cron "* * * * * *": 6 fields, want 5: minute hour day-of-month month day-of-week`},
		{"0 25 * * *", "hour", `cron "0 25 * * *": hour 25 out of range 0-23`},
		{"60 * * * *", "minute", `cron "60 * * * *": minute 60 out of range 0-59`},
		{"61 08 10 06 *", "minute", `cron "61 08 10 06 *": minute 61 out of range 0-59`},
		{"0 24 * * *", "hour", `cron "0 24 * * *": hour 24 out of range 0-23`},
		{"0 0 32 * *", "day-of-month", `cron "0 0 32 * *": day-of-month 32 out of range 1-31`},
		{"0 0 0 * *", "day-of-month", `cron "0 0 0 * *": day-of-month 0 out of range 1-31`},
		{"0 0 * 0 *", "month", `cron "0 0 * 0 *": month 0 out of range 1-12`},
		{"0 0 * 13 *", "month", `cron "0 0 * 13 *": month 13 out of range 1-12`},
		{"0 0 * * 7", "day-of-week", `cron "0 0 * * 7": day-of-week 7 out of range 0-6 (Sunday is 0)`},
		{"0 0 * * 1-7", "day-of-week", `cron "0 0 * * 1-7": day-of-week 7 out of range 0-6 (Sunday is 0)`},
		{"0 0 * * MON", "day-of-week", `cron "0 0 * * MON": day-of-week "MON" is not a number`},
		{"0 0 * JAN *", "month", `cron "0 0 * JAN *": month "JAN" is not a number`},
		{"+5 * * * *", "minute", `cron "+5 * * * *": minute "+5" is not a number`},
		{"-5 * * * *", "minute", `cron "-5 * * * *": minute "-5": "" is not a number`},
		{"5- * * * *", "minute", `cron "5- * * * *": minute "5-": "" is not a number`},
		{"1-2-3 * * * *", "minute", `cron "1-2-3 * * * *": minute "1-2-3": "2-3" is not a number`},
		{"٣ * * * *", "minute", `cron "٣ * * * *": minute "٣" is not a number`},
		{"5-1 * * * *", "minute", `cron "5-1 * * * *": minute range 5-1 runs backwards`},
		{"0,5-1 * * * *", "minute", `cron "0,5-1 * * * *": minute "0,5-1": range 5-1 runs backwards`},
		{"1,,2 * * * *", "minute", `cron "1,,2 * * * *": minute "1,,2" has an empty list item`},
		{"1, * * * *", "minute", `cron "1, * * * *": minute "1," has an empty list item`},
		{", * * * *", "minute", `cron ", * * * *": minute "," has an empty list item`},
		{"*,5 * * * *", "minute", `cron "*,5 * * * *": minute "*,5": * cannot be part of a list`},
		{"0 0 ?,1 * *", "day-of-month", `cron "0 0 ?,1 * *": day-of-month "?,1": ? cannot be part of a list`},
		{"*/0 * * * *", "minute", `cron "*/0 * * * *": minute "*/0": step 0 out of range 1-59`},
		{"*/60 * * * *", "minute", `cron "*/60 * * * *": minute "*/60": step 60 out of range 1-59`},
		{"0 0 * * */7", "day-of-week", `cron "0 0 * * */7": day-of-week "*/7": step 7 out of range 1-6`},
		{"*/-5 * * * *", "minute", `cron "*/-5 * * * *": minute "*/-5": step "-5" is not a number`},
		{"*/ * * * *", "minute", `cron "*/ * * * *": minute "*/": step "" is not a number`},
		{"*/2/3 * * * *", "minute", `cron "*/2/3 * * * *": minute "*/2/3": step "2/3" is not a number`},
		{"0/15 * * * *", "minute", `cron "0/15 * * * *": minute "0/15": a step needs * or a range a-b before the /`},
		{"/5 * * * *", "minute", `cron "/5 * * * *": minute "/5": a step needs * or a range a-b before the /`},
		{"0,30/15 * * * *", "minute", `cron "0,30/15 * * * *": minute "0,30/15": a step cannot be part of a list`},
		{"1-10/2,15 * * * *", "minute", `cron "1-10/2,15 * * * *": minute "1-10/2,15": a step cannot be part of a list`},
		{"1-5/7 * * * *", "minute", `cron "1-5/7 * * * *": minute "1-5/7": no value in 1-5 is a multiple of 7`},
		{"1-59/2 * * * *", "minute", `cron "1-59/2 * * * *": minute "1-59/2": step 2 does not divide the start 1, ` +
			`where ActiveMQ (2,4,...) and cron (1,3,...) differ; write 2-59/2 or a list`},
		{"0 0 */2 * *", "day-of-month", `cron "0 0 */2 * *": day-of-month "*/2": step 2 does not divide the start 1, ` +
			`where ActiveMQ (2,4,...) and cron (1,3,...) differ; write 2-31/2 or a list`},
		{"0 0 * */3 *", "month", `cron "0 0 * */3 *": month "*/3": step 3 does not divide the start 1, ` +
			`where ActiveMQ (3,6,...) and cron (1,4,...) differ; write 3-12/3 or a list`},
		{"0 0 * 10-12/4 *", "month", `cron "0 0 * 10-12/4 *": month "10-12/4": step 4 does not divide the start 10, ` +
			`where ActiveMQ (12) and cron (10) differ; write 12-12/4 or a list`},
		{"0 0 * 13-14/2 *", "month", `cron "0 0 * 13-14/2 *": month 13 out of range 1-12`},
		{"0 0 13 * 5", "", `cron "0 0 13 * 5": day-of-month 13 and day-of-week 5 cannot both be restricted ` +
			`(ActiveMQ's result is neither cron's either-or nor both); write * in one of them`},
		{"0 0 1,15 * 1-5", "", `cron "0 0 1,15 * 1-5": day-of-month 1,15 and day-of-week 1-5 cannot both be restricted ` +
			`(ActiveMQ's result is neither cron's either-or nor both); write * in one of them`},
		{"0\v0 * * *", "", `cron "0\v0 * * *": 4 fields, want 5: minute hour day-of-month month day-of-week`},
		{"0 0 * * *\u00a0", "day-of-week", `cron "0 0 * * *\u00a0": day-of-week "*\u00a0" is not a number`},
		{strings.Repeat(" ", MaxLen) + "x", "", `cron: expression of 257 bytes is longer than 256`},
	} {
		s, err := Parse(tc.expr)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error %s", tc.expr, s, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("Parse(%q) error:\n got %s\nwant %s", tc.expr, err, tc.want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error %v is not a *SyntaxError wrapping ErrSyntax", tc.expr, err)
		} else if se.Field != tc.field {
			t.Errorf("Parse(%q) error field %q, want %q", tc.expr, se.Field, tc.field)
		}
	}
}

// TestParseMaxLen accepts an expression of exactly MaxLen bytes.
func TestParseMaxLen(t *testing.T) {
	expr := "* * * * *" + strings.Repeat(" ", MaxLen-9)
	if _, err := Parse(expr); err != nil {
		t.Fatalf("Parse of %d bytes: %v", len(expr), err)
	}
}

// TestStringReparses checks that the normal form of random schedules, and
// of the longest ones, reads back as the same schedule.
func TestStringReparses(t *testing.T) {
	exprs := []string{
		"1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,35,37,39,41,43,45,47,49,51,53,55,57,59 " +
			"1,3,5,7,9,11,13,15,17,19,21,23 1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31 1,3,5,7,9,11 *",
		"* * * * 1,3,5",
	}
	r := newRand(t)
	for range 2000 {
		exprs = append(exprs, randExpr(r))
	}
	for _, expr := range exprs {
		s, err := Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		out := s.String()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", expr, out, err)
		}
		if *again != *s || again.String() != out {
			t.Fatalf("Parse(%q).String() = %q reads back as %q", expr, out, again)
		}
		if len(out) > MaxLen {
			t.Fatalf("String() of %q is %d bytes", expr, len(out))
		}
	}
}
