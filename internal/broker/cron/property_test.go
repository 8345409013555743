package cron

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestNextProperty checks Next against matches for random schedules and
// random times, many of them near daylight-saving changes: Next(t) is after
// t, matches, and no minute between them matches (checked minute by minute
// over two days).
func TestNextProperty(t *testing.T) {
	r := newRand(t)
	var locs []*time.Location
	for _, name := range []string{"UTC", "Europe/Berlin", "America/New_York", "America/Santiago",
		"Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia", "Europe/London"} {
		locs = append(locs, zone(t, name))
	}
	samples := 3000
	if testing.Short() {
		samples = 300
	}
	const window = 2 * 24 * 60 // minutes searched by brute force
	for range samples {
		expr := randExpr(r)
		s, err := Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		loc := locs[r.IntN(len(locs))]
		from := randTime(r, loc)
		next := s.Next(from)
		if !next.IsZero() {
			if !next.After(from) || next.Location() != loc || !matches(s, next) {
				t.Fatalf("%q: Next(%s) = %s, not a later matching time", expr, from, next)
			}
		}
		m := from.Truncate(time.Minute).Add(time.Minute)
		for range window {
			if !next.IsZero() && !m.Before(next) {
				break
			}
			if matches(s, m.In(loc)) {
				t.Fatalf("%q: Next(%s) = %s, but %s matches", expr, from, next, m.In(loc))
			}
			m = m.Add(time.Minute)
		}
	}
}

// randTime returns a time from 1990 to 2060, half of them within six hours
// of a change of loc's offset.
func randTime(r *rand.Rand, loc *time.Location) time.Time {
	base := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	tm := base.Add(time.Duration(r.Int64N(int64(70 * 365 * 24 * time.Hour)))).In(loc)
	if r.IntN(2) == 0 {
		if _, end := tm.ZoneBounds(); !end.IsZero() && end.After(tm) {
			tm = end.Add(time.Duration(r.Int64N(int64(12*time.Hour))) - 6*time.Hour)
		}
	}
	if r.IntN(4) == 0 {
		tm = tm.Truncate(time.Minute) // exactly on a minute
	}
	return tm
}

// TestNextChain follows schedules through years of daylight-saving
// changes: every result is after the one before and matches.
func TestNextChain(t *testing.T) {
	ber := zone(t, "Europe/Berlin")
	lhi := zone(t, "Australia/Lord_Howe")
	for _, expr := range []string{"*/20 * * * *", "30 2 * * *", "0 * * * *", "59 1-3 * * 0", "0 0 * * *"} {
		s, err := Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		for _, loc := range []*time.Location{ber, lhi} {
			tm := time.Date(2023, 1, 1, 0, 0, 0, 0, loc)
			end := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			for tm.Before(end) {
				next := s.Next(tm)
				if !next.After(tm) || !matches(s, next) || next.Sub(tm) > 8*24*time.Hour {
					t.Fatalf("%q in %s: Next(%s) = %s", expr, loc, tm, next)
				}
				tm = next
			}
		}
	}
}
