package cron

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// parse reads one field: "*" or "?", a step "*/n" or "a-b/n", or a list of
// numbers and ranges a-b. It returns the set of values, or a message saying
// what is wrong, to follow the field's name.
func (f field) parse(tok string) (uint64, string) {
	if body, step, ok := strings.Cut(tok, "/"); ok {
		return f.parseStep(tok, body, step)
	}
	if tok == "*" || tok == "?" {
		return f.all(), ""
	}
	var set uint64
	for item := range strings.SplitSeq(tok, ",") {
		lo, hi, msg := f.parseItem(tok, item)
		if msg != "" {
			return 0, msg
		}
		for v := lo; v <= hi; v++ {
			set |= 1 << v
		}
	}
	return set, ""
}

// parseItem reads a number or a range a-b of a list.
func (f field) parseItem(tok, item string) (lo, hi int, msg string) {
	switch item {
	case "":
		return 0, 0, fmt.Sprintf("%q has an empty list item", tok)
	case "*", "?":
		return 0, 0, fmt.Sprintf("%q: %s cannot be part of a list", tok, item)
	}
	first, last, isRange := strings.Cut(item, "-")
	if lo, msg = f.value(tok, first); msg != "" {
		return 0, 0, msg
	}
	if !isRange {
		return lo, lo, ""
	}
	if hi, msg = f.value(tok, last); msg != "" {
		return 0, 0, msg
	}
	if lo > hi {
		return 0, 0, where(tok, item) + "range " + item + " runs backwards"
	}
	return lo, hi, ""
}

// parseStep reads body/step, where body is * (or ?) or a range. Like
// ActiveMQ, it keeps the values of the range that are multiples of the step;
// it rejects a range that does not start at a multiple, where ActiveMQ's
// values differ from cron's start, start+step, ...
func (f field) parseStep(tok, body, stepText string) (uint64, string) {
	if strings.Contains(tok, ",") {
		return 0, fmt.Sprintf("%q: a step cannot be part of a list", tok)
	}
	step, ok := number(stepText)
	if !ok {
		return 0, fmt.Sprintf("%q: step %q is not a number", tok, stepText)
	}
	if step < 1 || step > f.max {
		return 0, fmt.Sprintf("%q: step %s out of range 1-%d", tok, stepText, f.max)
	}
	lo, hi := f.min, f.max
	switch {
	case body == "*" || body == "?":
	case strings.Contains(body, "-"):
		var msg string
		if lo, hi, msg = f.parseItem(tok, body); msg != "" {
			return 0, msg
		}
	default:
		return 0, fmt.Sprintf("%q: a step needs * or a range a-b before the /", tok)
	}
	first := (lo + step - 1) / step * step // the first multiple of step from lo
	if first > hi {
		return 0, fmt.Sprintf("%q: no value in %d-%d is a multiple of %d", tok, lo, hi, step)
	}
	if first != lo {
		return 0, fmt.Sprintf("%q: step %d does not divide the start %d, where ActiveMQ (%s) and cron (%s) "+
			"differ; write %d-%d/%d or a list", tok, step, lo,
			progression(first, hi, step), progression(lo, hi, step), first, hi, step)
	}
	var set uint64
	for v := lo; v <= hi; v += step {
		set |= 1 << v
	}
	return set, ""
}

// where quotes the field's text before a message about part of it.
func where(tok, part string) string {
	if part == tok {
		return ""
	}
	return strconv.Quote(tok) + ": "
}

// progression shows the start of lo, lo+step, ... up to hi.
func progression(lo, hi, step int) string {
	if lo+step > hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d,%d,...", lo, lo+step)
}

// value reads a number of the field's range.
func (f field) value(tok, s string) (int, string) {
	v, ok := number(s)
	if !ok {
		return 0, fmt.Sprintf("%s%q is not a number", where(tok, s), s)
	}
	if v < f.min || v > f.max {
		msg := fmt.Sprintf("%s out of range %d-%d", s, f.min, f.max)
		if f.name == fields[dow].name && v == 7 {
			msg += " (Sunday is 0)"
		}
		return 0, msg
	}
	return v, ""
}

// number reads unsigned ASCII decimal digits (leading zeros allowed, as
// ActiveMQ's own tests write "08"). A value too big for any field comes
// back as 1<<20.
func number(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v < 1<<20 {
			v = v*10 + int(c-'0')
		}
	}
	return min(v, 1<<20), true
}

// format writes set in the normal form String documents.
func (f field) format(b *strings.Builder, set uint64) {
	if set == f.all() {
		b.WriteByte('*')
		return
	}
	if lo, hi, step, ok := progressionOf(set); ok {
		if lo == 0 && f.min == 0 && hi+step > f.max {
			fmt.Fprintf(b, "*/%d", step)
		} else {
			fmt.Fprintf(b, "%d-%d/%d", lo, hi, step)
		}
		return
	}
	sep := ""
	for set != 0 {
		lo := bits.TrailingZeros64(set)
		hi := lo + bits.TrailingZeros64(^(set >> lo)) - 1 // end of the run from lo
		set &^= (1<<(hi+1) - 1)
		switch {
		case hi-lo >= 2:
			fmt.Fprintf(b, "%s%d-%d", sep, lo, hi)
		case hi > lo:
			fmt.Fprintf(b, "%s%d,%d", sep, lo, hi)
		default:
			fmt.Fprintf(b, "%s%d", sep, lo)
		}
		sep = ","
	}
}

// progressionOf reports whether set is lo, lo+step, ..., hi with at least
// three values, step >= 2 and lo a multiple of step: the sets a step
// writes.
func progressionOf(set uint64) (lo, hi, step int, ok bool) {
	if bits.OnesCount64(set) < 3 {
		return 0, 0, 0, false
	}
	lo = bits.TrailingZeros64(set)
	step = bits.TrailingZeros64(set>>(lo+1)) + 1
	hi = 63 - bits.LeadingZeros64(set)
	if step < 2 || lo%step != 0 {
		return 0, 0, 0, false
	}
	var want uint64
	for v := lo; v <= hi; v += step {
		want |= 1 << v
	}
	return lo, hi, step, want == set
}
