package cron

import (
	"sync"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	utc := time.UTC
	ber := zone(t, "Europe/Berlin")
	nyc := zone(t, "America/New_York")
	scl := zone(t, "America/Santiago")
	lhi := zone(t, "Australia/Lord_Howe")
	apia := zone(t, "Pacific/Apia")
	ktm := zone(t, "Asia/Kathmandu")
	odd := time.FixedZone("odd", -(3*3600 + 17*60 + 13)) // not a whole minute
	for _, tc := range []struct {
		name, expr string
		loc        *time.Location
		after      string
		want       []string // successive results; "" for none
	}{
		{"every minute", "* * * * *", utc, "2024-01-01 10:00:00 +0000",
			[]string{"2024-01-01 10:01:00 +0000", "2024-01-01 10:02:00 +0000"}},
		{"every minute, mid-minute", "* * * * *", utc, "2024-01-01 10:00:59 +0000",
			[]string{"2024-01-01 10:01:00 +0000"}},
		{"every minute, new year", "* * * * *", utc, "2024-12-31 23:59:30 +0000",
			[]string{"2025-01-01 00:00:00 +0000"}},
		{"every 5 minutes", "*/5 * * * *", utc, "2024-01-01 10:02:00 +0000",
			[]string{"2024-01-01 10:05:00 +0000", "2024-01-01 10:10:00 +0000"}},
		{"every 5 minutes, next hour", "*/5 * * * *", utc, "2024-01-01 10:55:00 +0000",
			[]string{"2024-01-01 11:00:00 +0000"}},
		{"every 7 minutes, wraps at the hour", "*/7 * * * *", utc, "2024-01-01 10:56:00 +0000",
			[]string{"2024-01-01 11:00:00 +0000", "2024-01-01 11:07:00 +0000"}},
		{"daily, later today", "30 8 * * *", utc, "2024-01-01 08:29:59 +0000",
			[]string{"2024-01-01 08:30:00 +0000", "2024-01-02 08:30:00 +0000"}},
		{"daily, exactly then", "30 8 * * *", utc, "2024-01-01 08:30:00 +0000",
			[]string{"2024-01-02 08:30:00 +0000"}},
		{"an hour, from its first minute", "* 4 * * *", utc, "2024-01-01 20:33:00 +0000",
			[]string{"2024-01-02 04:00:00 +0000", "2024-01-02 04:01:00 +0000"}},
		{"an hour, last minute", "* 4 * * *", utc, "2024-01-02 04:58:00 +0000",
			[]string{"2024-01-02 04:59:00 +0000", "2024-01-03 04:00:00 +0000"}},
		{"ranges and steps", "15-45/15 8-18/2 * * *", utc, "2024-01-01 07:00:00 +0000",
			[]string{"2024-01-01 08:15:00 +0000", "2024-01-01 08:30:00 +0000", "2024-01-01 08:45:00 +0000",
				"2024-01-01 10:15:00 +0000"}},
		{"list", "0 9,17 * * *", utc, "2024-01-01 12:00:00 +0000",
			[]string{"2024-01-01 17:00:00 +0000", "2024-01-02 09:00:00 +0000"}},
		{"first of the month", "0 0 1 * *", utc, "2024-01-31 12:00:00 +0000",
			[]string{"2024-02-01 00:00:00 +0000", "2024-03-01 00:00:00 +0000"}},
		{"31st skips short months", "0 0 31 * *", utc, "2024-04-01 00:00:00 +0000",
			[]string{"2024-05-31 00:00:00 +0000", "2024-07-31 00:00:00 +0000", "2024-08-31 00:00:00 +0000"}},
		{"30th skips February", "0 0 30 * *", utc, "2024-01-31 00:00:00 +0000",
			[]string{"2024-03-30 00:00:00 +0000"}},
		{"December", "0 0 * 12 *", utc, "2024-12-31 23:59:00 +0000",
			[]string{"2025-12-01 00:00:00 +0000"}},
		{"months with a step", "0 0 1 3-12/3 *", utc, "2024-01-15 00:00:00 +0000",
			[]string{"2024-03-01 00:00:00 +0000", "2024-06-01 00:00:00 +0000", "2024-09-01 00:00:00 +0000",
				"2024-12-01 00:00:00 +0000", "2025-03-01 00:00:00 +0000"}},
		{"29 February", "0 0 29 2 *", utc, "2023-03-01 00:00:00 +0000",
			[]string{"2024-02-29 00:00:00 +0000", "2028-02-29 00:00:00 +0000"}},
		{"29 February across 2100", "0 0 29 2 *", utc, "2096-03-01 00:00:00 +0000",
			[]string{"2104-02-29 00:00:00 +0000"}},
		{"29 February across 2100, Berlin", "0 0 29 2 *", ber, "2096-02-29 00:00:00 +0100",
			[]string{"2104-02-29 00:00:00 +0100"}},
		{"Sunday is 0", "0 12 * * 0", utc, "2024-01-01 00:00:00 +0000",
			[]string{"2024-01-07 12:00:00 +0000", "2024-01-14 12:00:00 +0000"}},
		{"weekends", "0 12 * * */6", utc, "2024-01-01 00:00:00 +0000",
			[]string{"2024-01-06 12:00:00 +0000", "2024-01-07 12:00:00 +0000", "2024-01-13 12:00:00 +0000"}},
		{"weekdays from Friday night", "0 9 * * 1-5", utc, "2024-01-05 18:00:00 +0000",
			[]string{"2024-01-08 09:00:00 +0000", "2024-01-09 09:00:00 +0000"}},
		{"day-of-week with a full day-of-month", "0 0 1-31 * 5", utc, "2024-01-01 00:00:00 +0000",
			[]string{"2024-01-05 00:00:00 +0000", "2024-01-12 00:00:00 +0000"}},
		{"day-of-month with ?", "0 0 13 * ?", utc, "2024-01-01 00:00:00 +0000",
			[]string{"2024-01-13 00:00:00 +0000", "2024-02-13 00:00:00 +0000"}},
		{"day-of-week with ?", "0 0 ? * 5", utc, "2024-01-01 00:00:00 +0000",
			[]string{"2024-01-05 00:00:00 +0000"}},
		{"Sundays of April and May", "0 20 * 4,5 0", utc, "2011-04-30 22:00:30 +0000",
			[]string{"2011-05-01 20:00:00 +0000", "2011-05-08 20:00:00 +0000"}},
		{"31 February", "0 0 31 2 *", utc, "2024-01-01 00:00:00 +0000", []string{""}},
		{"30 February", "0 0 30 2 *", utc, "2024-01-01 00:00:00 +0000", []string{""}},
		{"31st of 30-day months", "0 0 31 4,6,9,11 *", ber, "2024-01-01 00:00:00 +0100", []string{""}},
		{"31 February or March", "0 0 31 2,3 *", utc, "2024-04-01 00:00:00 +0000",
			[]string{"2025-03-31 00:00:00 +0000"}},

		// ActiveMQ's CronParserTest, in UTC.
		{"amq day of week", "* * * * 5", utc, "2010-11-15 09:15:30 +0000",
			[]string{"2010-11-19 00:00:00 +0000"}},
		{"amq day of week variant", "50 20 * * 5", utc, "2011-03-07 09:15:30 +0000",
			[]string{"2011-03-11 20:50:00 +0000"}},
		{"amq day of week too late", "50 20 * * 5", utc, "2011-03-11 22:00:30 +0000",
			[]string{"2011-03-18 20:50:00 +0000"}},
		{"amq month variant", "0 20 * 4,5 0", utc, "2011-03-07 09:15:30 +0000",
			[]string{"2011-04-03 20:00:00 +0000"}},
		{"amq month variant next year", "0 20 * 4,5 0", utc, "2011-05-30 22:00:30 +0000",
			[]string{"2012-04-01 20:00:00 +0000"}},
		{"amq month", "* * * 12 *", utc, "2010-11-15 09:15:30 +0000",
			[]string{"2010-12-01 00:00:00 +0000"}},
		{"amq start next month", "* * 1 * *", utc, "2010-12-15 09:15:30 +0000",
			[]string{"2011-01-01 00:00:00 +0000"}},
		{"amq start next year", "* * 1 12 *", utc, "2010-12-15 09:15:30 +0000",
			[]string{"2011-12-01 00:00:00 +0000"}},
		{"amq days", "* * 16 * *", utc, "2010-11-15 09:15:30 +0000",
			[]string{"2010-11-16 00:00:00 +0000"}},
		{"amq minutes", "30 * * * *", utc, "1970-01-01 00:20:00 +0000",
			[]string{"1970-01-01 00:30:00 +0000"}},
		// ActiveMQ's testgetNextTimeHours expects 01:11, keeping the minute.
		{"amq hours", "* 1 * * *", utc, "1972-03-02 17:10:00 +0000",
			[]string{"1972-03-03 01:00:00 +0000"}},
		{"amq hours zero minute", "0 1 * * *", utc, "1972-03-02 17:10:00 +0000",
			[]string{"1972-03-03 01:00:00 +0000"}},
		{"amq AMQ-6327", "0 0 1,15 * *", utc, "2016-04-15 00:00:00 +0000",
			[]string{"2016-05-01 00:00:00 +0000", "2016-05-15 00:00:00 +0000", "2016-06-01 00:00:00 +0000"}},

		// Clocks forward: the skipped wall-clock times do not exist.
		{"Berlin spring, daily in the gap", "30 2 * * *", ber, "2024-03-30 12:00:00 +0100",
			[]string{"2024-04-01 02:30:00 +0200"}},
		{"Berlin spring, at the gap's start", "0 2 * * *", ber, "2024-03-30 12:00:00 +0100",
			[]string{"2024-04-01 02:00:00 +0200"}},
		{"Berlin spring, every minute", "* * * * *", ber, "2024-03-31 01:59:00 +0100",
			[]string{"2024-03-31 03:00:00 +0200"}},
		{"Berlin spring, hourly", "0 * * * *", ber, "2024-03-31 01:30:00 +0100",
			[]string{"2024-03-31 03:00:00 +0200", "2024-03-31 04:00:00 +0200"}},
		{"Berlin spring, the gap's hour", "*/10 2 * * *", ber, "2024-03-30 23:00:00 +0100",
			[]string{"2024-04-01 02:00:00 +0200"}},
		{"New York spring", "30 2 * * *", nyc, "2024-03-09 12:00:00 -0500",
			[]string{"2024-03-11 02:30:00 -0400"}},
		{"Santiago spring, midnight does not exist", "0 0 * * *", scl, "2024-09-07 12:00:00 -0400",
			[]string{"2024-09-09 00:00:00 -0300"}},
		{"Santiago spring, hourly", "0 * * * *", scl, "2024-09-07 23:30:00 -0400",
			[]string{"2024-09-08 01:00:00 -0300"}},
		{"Lord Howe spring, half an hour", "*/15 * * * *", lhi, "2024-10-06 01:50:00 +1030",
			[]string{"2024-10-06 02:30:00 +1100"}},
		{"Apia skips 30 December 2011", "0 12 * * *", apia, "2011-12-29 12:00:00 -1000",
			[]string{"2011-12-31 12:00:00 +1400"}},
		{"Apia, the missing day", "0 12 30 12 *", apia, "2011-12-01 00:00:00 -1000",
			[]string{"2012-12-30 12:00:00 +1400"}},

		// Clocks back: a restricted hour fires once, a * hour twice.
		{"Berlin autumn, daily", "30 2 * * *", ber, "2024-10-27 00:00:00 +0200",
			[]string{"2024-10-27 02:30:00 +0200", "2024-10-28 02:30:00 +0100"}},
		{"Berlin autumn, daily, from the second pass", "30 2 * * *", ber, "2024-10-27 02:10:00 +0100",
			[]string{"2024-10-28 02:30:00 +0100"}},
		{"Berlin autumn, the repeated hour", "0,30 2 * * *", ber, "2024-10-27 02:00:00 +0200",
			[]string{"2024-10-27 02:30:00 +0200", "2024-10-28 02:00:00 +0100"}},
		{"Berlin autumn, the hour after", "0 3 * * *", ber, "2024-10-27 02:00:00 +0200",
			[]string{"2024-10-27 03:00:00 +0100"}},
		{"Berlin autumn, every 20 minutes", "*/20 * * * *", ber, "2024-10-27 02:20:00 +0200",
			[]string{"2024-10-27 02:40:00 +0200", "2024-10-27 02:00:00 +0100", "2024-10-27 02:20:00 +0100",
				"2024-10-27 02:40:00 +0100", "2024-10-27 03:00:00 +0100"}},
		{"Berlin autumn, every minute", "* * * * *", ber, "2024-10-27 02:59:00 +0200",
			[]string{"2024-10-27 02:00:00 +0100", "2024-10-27 02:01:00 +0100"}},
		{"Berlin autumn, hourly", "0 * * * *", ber, "2024-10-27 01:30:00 +0200",
			[]string{"2024-10-27 02:00:00 +0200", "2024-10-27 02:00:00 +0100", "2024-10-27 03:00:00 +0100"}},
		{"New York autumn, daily", "30 1 * * *", nyc, "2024-11-02 12:00:00 -0400",
			[]string{"2024-11-03 01:30:00 -0400", "2024-11-04 01:30:00 -0500"}},
		{"Santiago autumn, across midnight", "30 23 * * *", scl, "2024-04-06 12:00:00 -0300",
			[]string{"2024-04-06 23:30:00 -0300", "2024-04-07 23:30:00 -0400"}},
		{"Santiago autumn, midnight", "0 0 * * *", scl, "2024-04-06 12:00:00 -0300",
			[]string{"2024-04-07 00:00:00 -0400"}},
		{"Lord Howe autumn, half an hour back", "45 1 * * *", lhi, "2024-04-07 01:00:00 +1100",
			[]string{"2024-04-07 01:45:00 +1100", "2024-04-08 01:45:00 +1030"}},
		{"Lord Howe autumn, every 15 minutes", "*/15 * * * *", lhi, "2024-04-07 01:45:00 +1100",
			[]string{"2024-04-07 01:30:00 +1030", "2024-04-07 01:45:00 +1030", "2024-04-07 02:00:00 +1030"}},

		// Offsets that are not whole hours or minutes.
		{"Kathmandu", "0 12 * * *", ktm, "2024-01-01 12:00:00 +0545",
			[]string{"2024-01-02 12:00:00 +0545"}},
		{"offset with seconds", "0 * * * *", odd, "2024-01-01 10:30:00 -0317",
			[]string{"2024-01-01 11:00:00 -0317"}},

		// Go's ZoneBounds errs at the end of leap years under a TZ rule.
		{"Berlin, end of a leap year under the TZ rule", "0 12 * * *", ber, "2096-12-30 12:00:00 +0100",
			[]string{"2096-12-31 12:00:00 +0100", "2097-01-01 12:00:00 +0100"}},
		{"Berlin, spring after a rule-era leap year", "30 2 * * *", ber, "2097-03-30 12:00:00 +0100",
			[]string{"2097-04-01 02:30:00 +0200"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			var from time.Time
			if tc.loc == odd { // ParseInLocation reads offsets to the minute
				from = time.Date(2024, 1, 1, 10, 30, 0, 0, odd)
			} else {
				from = at(t, tc.loc, tc.after)
			}
			for i, w := range tc.want {
				got := s.Next(from)
				if w == "" {
					if !got.IsZero() {
						t.Fatalf("Next(%s) = %s, want none", from, got)
					}
					return
				}
				var want time.Time
				if tc.loc == odd {
					want = time.Date(2024, 1, 1, 11, 0, 0, 0, odd)
				} else {
					want = at(t, tc.loc, w)
				}
				if !got.Equal(want) || got.Location() != tc.loc {
					t.Fatalf("Next #%d (%s) = %s, want %s", i+1, from, got, want)
				}
				from = got
			}
		})
	}
}

// TestNextLocation checks that Next answers in the location of its
// argument, the monotonic clock reading aside.
func TestNextLocation(t *testing.T) {
	s, err := Parse("0 12 * * *")
	if err != nil {
		t.Fatal(err)
	}
	tokyo := zone(t, "Asia/Tokyo")
	now := time.Now() // has a monotonic reading
	for _, loc := range []*time.Location{time.UTC, time.Local, tokyo} {
		got := s.Next(now.In(loc))
		if got.Location() != loc || got.Hour() != 12 || got.Minute() != 0 || !got.After(now) {
			t.Errorf("Next(now in %s) = %s", loc, got)
		}
		if got.Sub(now) > 24*time.Hour {
			t.Errorf("Next(now in %s) = %s, more than a day ahead", loc, got)
		}
	}
}

// TestLongestGap checks the bound of Next's search: a date matches again
// within 8 years (29 February around 2100), so searchYears is enough.
func TestLongestGap(t *testing.T) {
	longest := time.Duration(0)
	for m := time.January; m <= time.December; m++ {
		for d := 1; d <= daysIn[m]; d++ {
			var last time.Time
			for y := 1600; y < 2800; y++ {
				tm := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
				if tm.Day() != d {
					continue
				}
				if !last.IsZero() {
					longest = max(longest, tm.Sub(last))
				}
				last = tm
			}
		}
	}
	if years := time.Date(2096+searchYears, 2, 29, 0, 0, 0, 0, time.UTC).Sub(
		time.Date(2096, 2, 29, 0, 0, 0, 0, time.UTC)); longest > years {
		t.Fatalf("the longest gap between dates, %v, is longer than the search, %v", longest, years)
	}
	if days := longest.Hours() / 24; days != 8*365+1 {
		t.Errorf("the longest gap is %v days, want 8 years", days)
	}
}

// TestPossible checks possible, which lets Next give up at once, against
// the calendar.
func TestPossible(t *testing.T) {
	for m := 1; m <= 12; m++ {
		for d := 1; d <= 31; d++ {
			s := Schedule{sets: [5]uint64{1, 1, 1 << d, 1 << m, fields[dow].all()}}
			exists := time.Date(2024, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() == d
			if s.possible() != exists {
				t.Errorf("possible(%d/%d) = %v, want %v", d, m, s.possible(), exists)
			}
			if got := s.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)); got.IsZero() == exists {
				t.Errorf("Next for %d/%d = %v", d, m, got)
			}
		}
	}
}

// TestNextConcurrent runs Next from many goroutines at once (for -race).
func TestNextConcurrent(t *testing.T) {
	s, err := Parse("*/5 9-17 * * 1-5")
	if err != nil {
		t.Fatal(err)
	}
	ber := zone(t, "Europe/Berlin")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			tm := time.Date(2024, 1, 1+i, 0, 0, 0, 0, ber)
			for range 500 {
				next := s.Next(tm)
				if !next.After(tm) {
					t.Errorf("Next(%s) = %s", tm, next)
					return
				}
				tm = next
			}
		})
	}
	wg.Wait()
}

// TestNextWallBound checks that the search stops before the end of a span
// of constant offset, also inside an hour.
func TestNextWallBound(t *testing.T) {
	from := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)
	hi := time.Date(2024, 1, 1, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		expr string
		want int // minute, or -1 for none
	}{
		{"29 * * * *", 29},
		{"30 * * * *", -1},
		{"30,45 * * * *", -1},
		{"0 * * * *", 0},
	} {
		s, err := Parse(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := s.nextWall(from, hi)
		if ok != (tc.want >= 0) || ok && got.Minute() != tc.want {
			t.Errorf("%q: nextWall = %s, %v; want minute %d", tc.expr, got, ok, tc.want)
		}
	}
}
