package cron

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests use, wherever they run
)

var seed = flag.Uint64("seed", 0, "seed of the random tests (0: from the clock)")

// newRand returns the random source of a test, logging its seed.
func newRand(t testing.TB) *rand.Rand {
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("-seed %d", s)
	return rand.New(rand.NewPCG(s, s))
}

// zone loads a time zone or fails the test.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at parses "2006-01-02 15:04:05 -0700" in loc; the offset picks between
// the two times a wall-clock reading has when the clocks go back.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04:05 -0700", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	if _, off := tm.Zone(); tm.Location() != loc || off != offsetOf(t, s) {
		t.Fatalf("%s is not a time of %s", s, loc)
	}
	return tm
}

func offsetOf(t testing.TB, s string) int {
	tm, err := time.Parse("2006-01-02 15:04:05 -0700", s)
	if err != nil {
		t.Fatal(err)
	}
	_, off := tm.Zone()
	return off
}

// matches is the specification Next is tested against, written without
// Next's span-by-span search: tm is a whole wall-clock minute whose fields
// match and, where the clocks went back, a reading not shown before unless
// the hour field is *.
func matches(s *Schedule, tm time.Time) bool {
	if tm.Second() != 0 || tm.Nanosecond() != 0 {
		return false
	}
	in := func(i, v int) bool { return s.sets[i]&(1<<v) != 0 }
	if !in(minute, tm.Minute()) || !in(hour, tm.Hour()) || !in(month, int(tm.Month())) ||
		!in(dom, tm.Day()) || !in(dow, int(tm.Weekday())) {
		return false
	}
	return s.sets[hour] == fields[hour].all() || !shownBefore(tm)
}

// shownBefore reports whether the wall clock showed tm's reading at an
// earlier instant of the last three hours.
func shownBefore(tm time.Time) bool {
	_, now := tm.Zone()
	if _, then := tm.Add(-3 * time.Hour).Zone(); then <= now {
		return false
	}
	for d := time.Minute; d <= 3*time.Hour; d += time.Minute {
		u := tm.Add(-d)
		if u.YearDay() == tm.YearDay() && u.Hour() == tm.Hour() && u.Minute() == tm.Minute() {
			return true
		}
	}
	return false
}

// randExpr returns a random expression that Parse accepts, mostly dense
// enough to fire within days.
func randExpr(r *rand.Rand) string {
	var toks [5]string
	restricted := r.IntN(2) // the day field that may be restricted
	for i, f := range fields {
		if r.IntN(2) == 0 || (i == dom && restricted != 0) || (i == dow && restricted == 0) {
			toks[i] = "*"
			continue
		}
		toks[i] = randField(r, f)
	}
	return strings.Join(toks[:], " ")
}

func randField(r *rand.Rand, f field) string {
	val := func() int { return f.min + r.IntN(f.max-f.min+1) }
	switch r.IntN(4) {
	case 0:
		return strconv.Itoa(val())
	case 1:
		a := val()
		return fmt.Sprintf("%d-%d", a, a+r.IntN(f.max-a+1))
	case 2:
		parts := make([]string, 1+r.IntN(4))
		for i := range parts {
			if a := val(); r.IntN(3) == 0 {
				parts[i] = fmt.Sprintf("%d-%d", a, a+r.IntN(f.max-a+1))
			} else {
				parts[i] = strconv.Itoa(a)
			}
		}
		return strings.Join(parts, ",")
	default:
		n := 1 + r.IntN(f.max)
		if f.min == 0 && r.IntN(2) == 0 {
			return fmt.Sprintf("*/%d", n)
		}
		a := n * (1 + r.IntN(f.max/n))
		if a < f.min {
			a = n
		}
		return fmt.Sprintf("%d-%d/%d", a, a+r.IntN(f.max-a+1), n)
	}
}
