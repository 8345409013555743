package cron

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"",
	"* * * * *",
	"? ? ? ? ?",
	"*/5 * * * *",
	"0 0 1 1 *",
	"30 08 10 06 ?",
	"*/10 0-4,8-12 * * 1-2,3-6",
	"20-59/20 8-18/2 2-30/2 3-12/3 *",
	"0 0 31 2 *",
	"0 0 29 2 *",
	"30 2 * * *",
	"0 0 13 * 5",
	"0 0 * * 7",
	"61 * * * *",
	"0/15 * * * *",
	"*/0 * * * *",
	"1,,2 * * * *",
	"1-2-3 * * * *",
	"*,5 * * * *",
	"+5 * * * *",
	"٣ * * * *",
	"\t0\r0\n*\f* *",
	"0\v0 * * *",
	"99999999999999999999 * * * *",
	"*/99999999999999999999 * * * *",
	"5-99999999999999999999 * * * *",
}

// fuzzTimes are where FuzzParse asks Next from: ordinary days, both
// daylight-saving changes in Berlin and a leap year's end under the TZ
// rule.
func fuzzTimes(t testing.TB) []time.Time {
	ber := zone(t, "Europe/Berlin")
	lhi := zone(t, "Australia/Lord_Howe")
	return []time.Time{
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 28, 23, 59, 30, 0, time.UTC),
		time.Date(2024, 3, 31, 1, 30, 0, 0, ber),
		time.Date(2024, 10, 27, 1, 30, 0, 0, ber),
		time.Date(2096, 12, 30, 0, 0, 0, 0, ber),
		time.Date(2024, 4, 7, 1, 0, 0, 0, lhi),
	}
}

// FuzzParse checks that Parse never panics and returns only *SyntaxError;
// that what it accepts prints as a normal form that reads back the same;
// and that Next from a few fixed times returns nothing or a later matching
// time, with no matching minute before it on the same day.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	times := fuzzTimes(f)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || !strings.HasPrefix(err.Error(), "cron") {
				t.Fatalf("Parse(%q): error %v is not a *SyntaxError", expr, err)
			}
			return
		}
		out := s.String()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", expr, out, err)
		}
		if *again != *s || again.String() != out || len(out) > MaxLen {
			t.Fatalf("Parse(%q).String() = %q reads back as %q", expr, out, again)
		}
		for _, from := range times {
			next := s.Next(from)
			if next.IsZero() {
				if s.possible() {
					t.Fatalf("%q: Next(%s) found nothing", expr, from)
				}
				continue
			}
			if !next.After(from) || next.Location() != from.Location() || !matches(s, next) {
				t.Fatalf("%q: Next(%s) = %s, not a later matching time", expr, from, next)
			}
			m := from.Truncate(time.Minute).Add(time.Minute)
			for i := 0; i < 24*60 && m.Before(next); i++ {
				if matches(s, m.In(from.Location())) {
					t.Fatalf("%q: Next(%s) = %s, but %s matches", expr, from, next, m)
				}
				m = m.Add(time.Minute)
			}
		}
	})
}
