package cron

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen is the longest expression Parse reads, in bytes.
const MaxLen = 256

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("cron: invalid expression")

// SyntaxError reports why an expression was rejected. Field names the field
// at fault ("minute", "hour", "day-of-month", "month", "day-of-week") and is
// empty when the fault is the expression as a whole. Error quotes Expr unless
// it is longer than MaxLen.
type SyntaxError struct {
	Expr  string
	Field string
	Msg   string
}

func (e *SyntaxError) Error() string {
	msg := e.Msg
	if e.Field != "" {
		msg = e.Field + " " + msg
	}
	if len(e.Expr) > MaxLen {
		return "cron: " + msg
	}
	return fmt.Sprintf("cron %q: %s", e.Expr, msg)
}

// Unwrap makes errors.Is(err, ErrSyntax) hold.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Schedule is a parsed expression: for each field, the set of values it
// matches. A Schedule is immutable and safe for concurrent use.
type Schedule struct {
	sets [5]uint64 // bit v set: value v matches; indexed like fields
}

// Indexes of the fields, in the order they are written.
const (
	minute = iota
	hour
	dom
	month
	dow
)

// field describes one position of an expression.
type field struct {
	name     string
	min, max int
}

var fields = [5]field{
	minute: {"minute", 0, 59},
	hour:   {"hour", 0, 23},
	dom:    {"day-of-month", 1, 31},
	month:  {"month", 1, 12},
	dow:    {"day-of-week", 0, 6},
}

// all returns the set of every value of f.
func (f field) all() uint64 { return (1<<(f.max+1) - 1) &^ (1<<f.min - 1) }

// Parse parses a five-field expression, as described in the package
// documentation. Every error it returns is a *SyntaxError.
func Parse(expr string) (*Schedule, error) {
	if len(expr) > MaxLen {
		return nil, &SyntaxError{Expr: expr, Msg: fmt.Sprintf(
			"expression of %d bytes is longer than %d", len(expr), MaxLen)}
	}
	toks := strings.FieldsFunc(expr, isSpace)
	if len(toks) != len(fields) {
		return nil, &SyntaxError{Expr: expr, Msg: fmt.Sprintf(
			"%d fields, want 5: minute hour day-of-month month day-of-week", len(toks))}
	}
	var s Schedule
	for i, f := range fields {
		set, msg := f.parse(toks[i])
		if msg != "" {
			return nil, &SyntaxError{Expr: expr, Field: f.name, Msg: msg}
		}
		s.sets[i] = set
	}
	if s.restricted(dom) && s.restricted(dow) {
		return nil, &SyntaxError{Expr: expr, Msg: fmt.Sprintf(
			"day-of-month %s and day-of-week %s cannot both be restricted "+
				"(ActiveMQ's result is neither cron's either-or nor both); write * in one of them",
			toks[dom], toks[dow])}
	}
	return &s, nil
}

// isSpace reports the separators of java.util.StringTokenizer, which
// ActiveMQ splits expressions with.
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f'
}

// restricted reports whether field i leaves out some of its values.
func (s *Schedule) restricted(i int) bool { return s.sets[i] != fields[i].all() }

// String returns the expression in a normal form that Parse reads back as
// the same schedule: "*" for a field that matches every value, */n or a-b/n
// for a run of multiples of n, otherwise numbers and ranges a-b.
func (s *Schedule) String() string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		f.format(&b, s.sets[i])
	}
	return b.String()
}
