package cron

import (
	"math/bits"
	"time"
)

// searchYears bounds the search of Next. A schedule that can match at all
// matches within 8 years (the longest gap is between two 29 Februarys
// around a century year that is not a leap year, such as 2096 and 2104;
// TestLongestGap checks it), so a search that finds nothing in 10 is one for
// a schedule that never matches in this location.
const searchYears = 10

// Next returns the first time strictly after after, at a whole minute of
// after's location, that the schedule matches, in that location. It returns
// the zero Time when the schedule never matches: a date that does not exist
// (0 0 30 2 *), or times that the location skips every year for 10 years.
//
// Fields match the wall clock of after's location (ActiveMQ uses the JVM's
// default time zone; the broker passes times in its own). Wall-clock times
// that a daylight-saving change skips do not exist, so they do not match.
// Wall-clock times that occur twice when the clocks go back match twice if
// the hour field is *, so "*/20 * * * *" keeps firing every 20 minutes, and
// only the first time otherwise, so "30 2 * * *" fires once that night.
func (s *Schedule) Next(after time.Time) time.Time {
	if !s.possible() {
		return time.Time{}
	}
	loc := after.Location()
	limit := after.AddDate(searchYears, 0, 0)
	skipRepeats := s.restricted(hour)
	// Walk the spans of constant UTC offset from after on. In each the wall
	// clock runs evenly, so the search is on calendar fields alone.
	lo := after.Add(time.Nanosecond) // the first instant to consider
	for lo.Before(limit) {
		t := lo.In(loc)
		_, off := t.Zone()
		start, end := spanOf(t, off)
		from := ceilMinute(wallAt(t, off))
		if skipRepeats && !start.IsZero() {
			// The clocks went back at start if the previous span's offset
			// is larger: its wall-clock times up to start+prev come again.
			_, prev := start.Add(-time.Nanosecond).In(loc).Zone()
			if shown := wallAt(start, prev); shown.After(from) {
				from = ceilMinute(shown)
			}
		}
		hi := limit
		if !end.IsZero() && end.Before(limit) {
			hi = end
		}
		if w, ok := s.nextWall(from, wallAt(hi, off)); ok {
			return time.Unix(w.Unix()-int64(off), 0).In(loc)
		}
		lo = hi
	}
	return time.Time{}
}

// spanOf returns the span of constant UTC offset (off) around t: start is
// zero if it reaches back for ever, end if it lasts for ever.
func spanOf(t time.Time, off int) (start, end time.Time) {
	start, end = t.ZoneBounds()
	if end.IsZero() || end.After(t) {
		return start, end
	}
	// ZoneBounds can return an end before t in the last day of a leap year
	// that the zone's TZ rule covers (go.dev/issue/81583). Look a day ahead
	// instead and, if the offset differs there, bisect to the change.
	lo, hi := t, t.Add(24*time.Hour)
	if offsetAt(hi, t.Location()) == off {
		return start, hi
	}
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if offsetAt(mid, t.Location()) == off {
			lo = mid
		} else {
			hi = mid
		}
	}
	if e := hi.Truncate(time.Second); e.After(t) {
		return start, e // offsets change on whole seconds
	}
	return start, hi
}

// wallAt returns the wall-clock reading of t at UTC offset off (seconds) as
// a UTC time, so that arithmetic on it is calendar arithmetic.
func wallAt(t time.Time, off int) time.Time {
	return time.Unix(t.Unix()+int64(off), int64(t.Nanosecond())).UTC()
}

// ceilMinute rounds a wall-clock reading up to a whole minute.
func ceilMinute(w time.Time) time.Time {
	if m := w.Truncate(time.Minute); m.Before(w) {
		return m.Add(time.Minute)
	}
	return w
}

// nextWall returns the first whole-minute wall-clock reading in [from, hi)
// that the schedule matches. from is a whole minute.
func (s *Schedule) nextWall(from, hi time.Time) (time.Time, bool) {
	w := from
	for w.Before(hi) {
		y, mo, d := w.Date()
		h, mi := w.Hour(), w.Minute()
		nmo, okMonth := nextIn(s.sets[month], int(mo))
		nh, okHour := nextIn(s.sets[hour], h)
		nm, okMinute := nextIn(s.sets[minute], mi)
		switch {
		case !okMonth:
			w = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC)
		case nmo != int(mo):
			w = time.Date(y, time.Month(nmo), 1, 0, 0, 0, 0, time.UTC)
		case s.sets[dom]&(1<<d) == 0 || s.sets[dow]&(1<<w.Weekday()) == 0 || !okHour:
			w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
		case nh != h:
			w = time.Date(y, mo, d, nh, 0, 0, 0, time.UTC)
		case !okMinute:
			w = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
		default:
			w = time.Date(y, mo, d, h, nm, 0, 0, time.UTC)
			return w, w.Before(hi)
		}
	}
	return time.Time{}, false
}

// nextIn returns the smallest value of set that is at least v.
func nextIn(set uint64, v int) (int, bool) {
	rest := set >> v << v
	if rest == 0 {
		return 0, false
	}
	return bits.TrailingZeros64(rest), true
}

// daysIn is the most days each month has (February in a leap year).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// possible reports whether some date matches: a day of the month that some
// month of the schedule has. The day of the week cannot make a schedule
// impossible, as Parse lets it be restricted only when every day of the
// month matches.
func (s *Schedule) possible() bool {
	for m := 1; m <= 12; m++ {
		if s.sets[month]&(1<<m) != 0 && s.sets[dom]&(1<<(daysIn[m]+1)-1) != 0 {
			return true
		}
	}
	return false
}

// offsetAt returns the UTC offset of loc at t, in seconds.
func offsetAt(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}
