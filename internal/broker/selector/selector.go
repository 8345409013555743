package selector

import (
	"errors"
	"fmt"
	"strings"

	"github.com/piermq/pier/internal/message"
)

// Limits on what Parse accepts.
const (
	// MaxLen is the longest selector Parse accepts, in bytes.
	MaxLen = 64 << 10
	// MaxDepth is the deepest nesting of parentheses and prefix operators.
	MaxDepth = 256
)

// ConvertPrefix, at the start of a selector, makes comparisons between a
// string and a number or boolean parse the string (ActiveMQ's STOMP
// extension), so that a header "5" equals 5.
const ConvertPrefix = "convert_string_expressions:"

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("selector: syntax error")

// SyntaxError reports why and where a selector could not be parsed. Pos is
// the 0-based byte offset in the string given to Parse.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("selector: at %d: %s", e.Pos, e.Msg) }

// Unwrap makes errors.Is(err, ErrSyntax) hold.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Selector is a parsed message selector. It is immutable and safe for
// concurrent use. A nil *Selector matches every message.
type Selector struct {
	root    expr // nil matches everything
	convert bool
}

// Parse parses a selector. An empty or blank selector matches every message.
func Parse(s string) (*Selector, error) {
	if len(s) > MaxLen {
		return nil, &SyntaxError{Pos: MaxLen, Msg: fmt.Sprintf("selector longer than %d bytes", MaxLen)}
	}
	sel := &Selector{}
	body, base := s, 0
	if strings.HasPrefix(s, ConvertPrefix) {
		sel.convert = true
		body, base = s[len(ConvertPrefix):], len(ConvertPrefix)
	}
	p := &parser{lx: lexer{src: body, base: base}, convert: sel.convert}
	if err := p.lx.skipSpace(); err != nil {
		return nil, err
	}
	if p.lx.i == len(body) {
		return &Selector{}, nil
	}
	root, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	sel.root = root
	return sel, nil
}

// Match reports whether the selector is TRUE for m; FALSE and unknown (NULL)
// do not match.
func (s *Selector) Match(m *message.Message) bool {
	if s == nil || s.root == nil {
		return true
	}
	return s.root.eval(m).isTrue()
}

// MatchAll reports whether the selector matches every message because it
// is empty.
func (s *Selector) MatchAll() bool { return s == nil || s.root == nil }

// String returns the selector in a canonical form that Parse accepts and
// that selects the same messages: keywords in upper case, numbers in
// decimal, only the parentheses precedence needs.
func (s *Selector) String() string {
	if s.MatchAll() {
		return ""
	}
	out := writeExpr(s.root)
	if s.convert {
		return ConvertPrefix + out
	}
	return out
}
