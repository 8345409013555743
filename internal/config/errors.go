package config

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every *Error wraps one of them.
var (
	// ErrSyntax marks a file that is not valid YAML.
	ErrSyntax = errors.New("config: syntax error")
	// ErrUnknownKey marks a key that is not part of the schema.
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrDuplicateKey marks a key given twice in one mapping.
	ErrDuplicateKey = errors.New("config: duplicate key")
	// ErrType marks a value of the wrong YAML type (a list where a string
	// was expected, ...).
	ErrType = errors.New("config: wrong type")
	// ErrInvalid marks a value that is of the right type but not acceptable.
	ErrInvalid = errors.New("config: invalid value")
	// ErrMissing marks a required value that is absent.
	ErrMissing = errors.New("config: missing value")
)

// Error is one problem in a configuration, located in its file when it came
// from one.
type Error struct {
	File   string // file name as given to Load or Parse; empty for Validate
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Path   string // dotted key path, e.g. "store.kind" or "network_connectors[0].uri"
	Msg    string // the whole message, path included
	Err    error  // one of the sentinel errors
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in one configuration, in file order. It
// unwraps to its elements, so errors.Is(err, ErrUnknownKey) and
// errors.As(err, &*Error) work on it.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the elements.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// maxErrors bounds how many problems are reported for one file.
const maxErrors = 20
