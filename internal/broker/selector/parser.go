package selector

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parser is a recursive-descent parser with one token of lookahead. depth
// counts open parentheses and prefix operators so hostile input cannot
// exhaust the stack.
type parser struct {
	lx      lexer
	tok     token
	depth   int
	convert bool
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) expect(k tokKind, context string) error {
	if p.tok.kind != k {
		return p.errAt(p.tok.pos, "expected %s %s, found %s", k, context, p.tok.describe())
	}
	return p.advance()
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errAt(p.tok.pos, "nesting deeper than %d", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseSelector parses a whole selector, which must be a condition.
func (p *parser) parseSelector() (expr, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	pos := p.tok.pos
	x, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errAt(p.tok.pos, "expected an operator or end of selector, found %s", p.tok.describe())
	}
	return asCondition(x, pos)
}

func (p *parser) parseOr() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseLogic(tOr)
}

// parseLogic parses an OR chain (op tOr) or an AND chain (op tAnd), folding
// nested chains of the same operator into one n-ary node.
func (p *parser) parseLogic(op tokKind) (expr, error) {
	sub := p.parseNot
	if op == tOr {
		sub = func() (expr, error) { return p.parseLogic(tAnd) }
	}
	var xs []expr
	for {
		pos := p.tok.pos
		x, err := sub()
		if err != nil {
			return nil, err
		}
		if len(xs) == 0 && p.tok.kind != op {
			return x, nil
		}
		if x, err = asCondition(x, pos); err != nil {
			return nil, err
		}
		if l, ok := x.(*logic); ok && l.and == (op == tAnd) {
			xs = append(xs, l.xs...)
		} else {
			xs = append(xs, x)
		}
		if p.tok.kind != op {
			return &logic{and: op == tAnd, xs: xs}, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

// parseNot parses NOT, which binds more loosely than comparisons, as in the
// JMS specification and SQL (ActiveMQ's grammar binds it tighter).
func (p *parser) parseNot() (expr, error) {
	if p.tok.kind != tNot {
		return p.parseEquality()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if err := p.advance(); err != nil {
		return nil, err
	}
	pos := p.tok.pos
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	if x, err = asCondition(x, pos); err != nil {
		return nil, err
	}
	return &not{x: x}, nil
}

func (p *parser) parseEquality() (expr, error) {
	lpos := p.tok.pos
	left, err := p.parseComparison()
	if err != nil {
		return nil, err
	}
	for {
		switch k := p.tok.kind; k {
		case tEq, tNe:
			if err := p.advance(); err != nil {
				return nil, err
			}
			rpos := p.tok.pos
			right, err := p.parseComparison()
			if err != nil {
				return nil, err
			}
			if err := checkEquality(left, lpos, right, rpos); err != nil {
				return nil, err
			}
			op := opEq
			if k == tNe {
				op = opNe
			}
			left = &compare{op: op, l: left, r: right, convert: p.convert}
		case tIs:
			if err := p.advance(); err != nil {
				return nil, err
			}
			n := &isNull{x: left}
			if p.tok.kind == tNot {
				n.not = true
				if err := p.advance(); err != nil {
					return nil, err
				}
			}
			if err := p.expect(tNull, "after IS"); err != nil {
				return nil, err
			}
			left = n
		default:
			return left, nil
		}
	}
}

func (p *parser) parseComparison() (expr, error) {
	lpos := p.tok.pos
	left, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	for {
		k := p.tok.kind
		var op cmpOp
		switch k {
		case tLt:
			op = opLt
		case tLe:
			op = opLe
		case tGt:
			op = opGt
		case tGe:
			op = opGe
		case tNot, tLike, tBetween, tIn:
			if left, err = p.parsePredicate(left, lpos); err != nil {
				return nil, err
			}
			continue
		default:
			return left, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		rpos := p.tok.pos
		right, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		if err := checkOrdered(left, lpos, op.String()); err != nil {
			return nil, err
		}
		if err := checkOrdered(right, rpos, op.String()); err != nil {
			return nil, err
		}
		left = &compare{op: op, l: left, r: right, convert: p.convert}
	}
}

// parsePredicate parses [NOT] LIKE, [NOT] BETWEEN and [NOT] IN after left.
func (p *parser) parsePredicate(left expr, lpos int) (expr, error) {
	negated := p.tok.kind == tNot
	if negated {
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	k, kpos := p.tok.kind, p.tok.pos
	switch k {
	case tLike:
		if err := p.advance(); err != nil {
			return nil, err
		}
		return p.parseLike(left, negated)
	case tBetween:
		if err := checkOrdered(left, lpos, "BETWEEN"); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return p.parseBetween(left, negated)
	case tIn:
		id, ok := left.(*ident)
		if !ok {
			return nil, p.errAt(lpos, "IN needs an identifier on its left")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return p.parseIn(id, negated)
	}
	return nil, p.errAt(kpos, "expected LIKE, BETWEEN or IN after NOT, found %s", p.tok.describe())
}

func (p *parser) parseLike(left expr, negated bool) (expr, error) {
	if p.tok.kind != tString {
		return nil, p.errAt(p.tok.pos, "expected a string pattern after LIKE, found %s", p.tok.describe())
	}
	l := &like{x: left, pattern: p.tok.text, not: negated}
	if err := p.advance(); err != nil {
		return nil, err
	}
	esc := rune(-1)
	if p.tok.kind == tEscape {
		if err := p.advance(); err != nil {
			return nil, err
		}
		t := p.tok
		if t.kind != tString {
			return nil, p.errAt(t.pos, "expected a string after ESCAPE, found %s", t.describe())
		}
		r, w := utf8.DecodeRuneInString(t.text)
		if t.text == "" || w != len(t.text) || r == utf8.RuneError {
			return nil, p.errAt(t.pos, "ESCAPE must be a single character, found %s", quote(t.text))
		}
		l.escape, esc = t.text, r
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	l.p = compileLike(l.pattern, esc)
	return l, nil
}

func (p *parser) parseBetween(left expr, negated bool) (expr, error) {
	lopos := p.tok.pos
	lo, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	if err := checkOrdered(lo, lopos, "BETWEEN"); err != nil {
		return nil, err
	}
	if err := p.expect(tAnd, "in BETWEEN"); err != nil {
		return nil, err
	}
	hipos := p.tok.pos
	hi, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	if err := checkOrdered(hi, hipos, "BETWEEN"); err != nil {
		return nil, err
	}
	return &between{x: left, lo: lo, hi: hi, not: negated, convert: p.convert}, nil
}

// inSetMin is the list length from which IN looks values up in a map.
const inSetMin = 5

func (p *parser) parseIn(id *ident, negated bool) (expr, error) {
	if err := p.expect(tLParen, "after IN"); err != nil {
		return nil, err
	}
	n := &inList{x: id, not: negated}
	for {
		if p.tok.kind != tString {
			return nil, p.errAt(p.tok.pos, "expected a string in the IN list, found %s", p.tok.describe())
		}
		n.items = append(n.items, p.tok.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tComma {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if err := p.expect(tRParen, "to close the IN list"); err != nil {
		return nil, err
	}
	if len(n.items) >= inSetMin {
		n.set = make(map[string]struct{}, len(n.items))
		for _, it := range n.items {
			n.set[it] = struct{}{}
		}
	}
	return n, nil
}

func (p *parser) parseAdditive() (expr, error) {
	return p.parseBinary(p.parseMultiplicative, tPlus, tMinus, tEOF)
}

func (p *parser) parseMultiplicative() (expr, error) {
	return p.parseBinary(p.parseUnary, tStar, tSlash, tPercent)
}

// parseBinary parses a left-associative chain of the arithmetic operators
// ops over operands parsed by sub.
func (p *parser) parseBinary(sub func() (expr, error), ops ...tokKind) (expr, error) {
	left, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		k := p.tok.kind
		if k == tEOF || (k != ops[0] && k != ops[1] && k != ops[2]) {
			return left, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := sub()
		if err != nil {
			return nil, err
		}
		left = &arith{op: "+-*/%"[k-tPlus], l: left, r: right}
	}
}

func (p *parser) parseUnary() (expr, error) {
	k := p.tok.kind
	if k != tPlus && k != tMinus {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if err := p.advance(); err != nil {
		return nil, err
	}
	if k == tMinus && p.tok.kind == tNumber {
		// Parse the sign with the digits so -9223372036854775808 is a long.
		return p.parseNumber(true)
	}
	x, err := p.parseUnary()
	if err != nil || k == tPlus {
		return x, err
	}
	if lit, ok := x.(*literal); ok && lit.v.isNumber() {
		return &literal{v: negate(lit.v)}, nil
	}
	return &neg{x: x}, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t := p.tok
	var x expr
	switch t.kind {
	case tNumber:
		return p.parseNumber(false)
	case tString:
		x = &literal{v: value{k: kString, s: t.text}}
	case tTrue, tFalse:
		x = &literal{v: boolValue(t.kind == tTrue)}
	case tNull:
		x = &literal{}
	case tIdent:
		x = &ident{name: t.text, hdr: lookupHeader(t.text)}
	case tLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		return x, p.expect(tRParen, fmt.Sprintf("to close the '(' at %d", t.pos))
	case tXPath, tXQuery:
		return nil, p.errAt(t.pos, "%s selectors are not supported", t.kind)
	default:
		return nil, p.errAt(t.pos, "expected an expression, found %s", t.describe())
	}
	return x, p.advance()
}

// parseNumber gives the current number token its value: a long for
// integers (decimal, 0x hex, 0 octal, optional L suffix on decimals), a
// double for anything with a point or exponent or too big for a long.
func (p *parser) parseNumber(negative bool) (expr, error) {
	t := p.tok
	text, sign := t.text, ""
	if negative {
		sign = "-"
	}
	var v value
	switch {
	case len(text) > 2 && (text[1] == 'x' || text[1] == 'X'):
		i, err := strconv.ParseInt(sign+text[2:], 16, 64)
		if err != nil {
			return nil, p.errAt(t.pos, "hex literal %s out of range", text)
		}
		v = value{k: kInt, i: i}
	case strings.ContainsAny(text, ".eE"):
		f, err := strconv.ParseFloat(sign+text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, p.errAt(t.pos, "invalid number %s", text)
		}
		v = floatValue(f)
	case len(text) > 1 && text[0] == '0':
		i, err := strconv.ParseInt(sign+text, 8, 64)
		if err != nil {
			return nil, p.errAt(t.pos, "invalid octal literal %s", text)
		}
		v = value{k: kInt, i: i}
	default:
		digits := strings.TrimRight(text, "lL")
		i, err := strconv.ParseInt(sign+digits, 10, 64)
		if err != nil {
			f, _ := strconv.ParseFloat(sign+digits, 64)
			v = floatValue(f)
		} else {
			v = value{k: kInt, i: i}
		}
	}
	return &literal{v: v}, p.advance()
}
