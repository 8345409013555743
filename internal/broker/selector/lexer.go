package selector

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tLParen
	tRParen
	tComma
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tPlus
	tMinus
	tStar
	tSlash
	tPercent
	// keywords, matched without regard to case
	tNot
	tAnd
	tOr
	tBetween
	tLike
	tEscape
	tIn
	tIs
	tTrue
	tFalse
	tNull
	tXPath
	tXQuery
)

var tokNames = [...]string{
	tEOF: "end of selector", tIdent: "identifier", tString: "string", tNumber: "number",
	tLParen: "'('", tRParen: "')'", tComma: "','", tEq: "'='", tNe: "'<>'", tLt: "'<'",
	tLe: "'<='", tGt: "'>'", tGe: "'>='", tPlus: "'+'", tMinus: "'-'", tStar: "'*'",
	tSlash: "'/'", tPercent: "'%'", tNot: "NOT", tAnd: "AND", tOr: "OR", tBetween: "BETWEEN",
	tLike: "LIKE", tEscape: "ESCAPE", tIn: "IN", tIs: "IS", tTrue: "TRUE", tFalse: "FALSE",
	tNull: "NULL", tXPath: "XPATH", tXQuery: "XQUERY",
}

func (k tokKind) String() string { return tokNames[k] }

type token struct {
	kind tokKind
	pos  int    // byte offset in the string given to Parse
	text string // identifier or number as written; decoded string literal
}

func (t token) describe() string {
	switch t.kind {
	case tIdent:
		return fmt.Sprintf("identifier %s", t.text)
	case tNumber:
		return fmt.Sprintf("number %s", t.text)
	case tString:
		return fmt.Sprintf("string %s", quote(t.text))
	}
	return t.kind.String()
}

// lexer splits a selector into tokens. Whitespace is space, tab, CR, LF and
// form feed; "--" starts a comment to the end of the line and "/* */"
// encloses one, as in ActiveMQ.
type lexer struct {
	src  string
	base int // offset of src within the string given to Parse
	i    int
}

func (lx *lexer) errAt(i int, format string, args ...any) error {
	return &SyntaxError{Pos: lx.base + i, Msg: fmt.Sprintf(format, args...)}
}

func (lx *lexer) skipSpace() error {
	s := lx.src
	for lx.i < len(s) {
		switch c := s[lx.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			lx.i++
		case strings.HasPrefix(s[lx.i:], "--"):
			if j := strings.IndexAny(s[lx.i:], "\r\n"); j >= 0 {
				lx.i += j
			} else {
				lx.i = len(s)
			}
		case strings.HasPrefix(s[lx.i:], "/*"):
			j := strings.Index(s[lx.i+2:], "*/")
			if j < 0 {
				return lx.errAt(lx.i, "unterminated comment")
			}
			lx.i += j + 4
		default:
			return nil
		}
	}
	return nil
}

func (lx *lexer) next() (token, error) {
	if err := lx.skipSpace(); err != nil {
		return token{}, err
	}
	s, start := lx.src, lx.i
	if start >= len(s) {
		return token{kind: tEOF, pos: lx.base + start}, nil
	}
	tok := token{pos: lx.base + start}
	c := s[start]
	switch {
	case c == '\'':
		return lx.lexString(tok)
	case c >= '0' && c <= '9' || c == '.' && start+1 < len(s) && s[start+1] >= '0' && s[start+1] <= '9':
		return lx.lexNumber(tok)
	}
	if k, n := punct(s[start:]); n > 0 {
		lx.i += n
		tok.kind = k
		return tok, nil
	}
	r, w := utf8.DecodeRuneInString(s[start:])
	if !isIdentStart(r) {
		if r == utf8.RuneError && w == 1 {
			return token{}, lx.errAt(start, "invalid UTF-8 byte 0x%02x", c)
		}
		return token{}, lx.errAt(start, "unexpected character %q", r)
	}
	lx.i += w
	for lx.i < len(s) {
		r, w := utf8.DecodeRuneInString(s[lx.i:])
		if !isIdentPart(r) {
			break
		}
		lx.i += w
	}
	tok.text = s[start:lx.i]
	tok.kind = keyword(tok.text)
	return tok, nil
}

func punct(s string) (tokKind, int) {
	switch s[0] {
	case '(':
		return tLParen, 1
	case ')':
		return tRParen, 1
	case ',':
		return tComma, 1
	case '=':
		return tEq, 1
	case '+':
		return tPlus, 1
	case '-':
		return tMinus, 1
	case '*':
		return tStar, 1
	case '/':
		return tSlash, 1
	case '%':
		return tPercent, 1
	case '<':
		if strings.HasPrefix(s, "<>") {
			return tNe, 2
		}
		if strings.HasPrefix(s, "<=") {
			return tLe, 2
		}
		return tLt, 1
	case '>':
		if strings.HasPrefix(s, ">=") {
			return tGe, 2
		}
		return tGt, 1
	}
	return tEOF, 0
}

// isIdentStart and isIdentPart follow Java identifier rules (the JMS
// specification), a superset of ActiveMQ's ASCII-only identifiers.
func isIdentStart(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || unicode.IsDigit(r)
}

func keyword(s string) tokKind {
	for k := tNot; k <= tXQuery; k++ {
		if strings.EqualFold(s, tokNames[k]) {
			return k
		}
	}
	return tIdent
}

func (lx *lexer) lexString(tok token) (token, error) {
	s := lx.src
	var b strings.Builder
	from := lx.i + 1
	for i := from; i < len(s); i++ {
		if s[i] != '\'' {
			continue
		}
		b.WriteString(s[from:i])
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			from = i + 1
			continue
		}
		lx.i = i + 1
		tok.kind, tok.text = tString, b.String()
		return tok, nil
	}
	return token{}, lx.errAt(lx.i, "unterminated string literal")
}

// lexNumber scans a numeric literal; parseNumber gives it a value. Forms:
// 0x1F (hex), 017 (octal), 42 or 42L (decimal), 1.5, 1., .5, 1e3, 1.5E-3.
func (lx *lexer) lexNumber(tok token) (token, error) {
	s, i := lx.src, lx.i
	digits := func() {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if strings.HasPrefix(s[i:], "0x") || strings.HasPrefix(s[i:], "0X") {
		j := i + 2
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j > i+2 {
			lx.i = j
			tok.kind, tok.text = tNumber, s[tok.pos-lx.base:j]
			return tok, nil
		}
	}
	digits()
	if i < len(s) && s[i] == '.' {
		i++
		digits()
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			i = j
			digits()
		}
	}
	if i < len(s) && (s[i] == 'l' || s[i] == 'L') && s[lx.i] != '0' && !strings.ContainsAny(s[lx.i:i], ".eE") {
		i++
	}
	lx.i = i
	tok.kind, tok.text = tNumber, s[tok.pos-lx.base:i]
	return tok, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
