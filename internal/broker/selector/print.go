package selector

import (
	"math"
	"strconv"
	"strings"
)

// Precedence levels, loosest first.
const (
	precOr = iota + 1
	precAnd
	precNot
	precEquality   // = <> IS NULL
	precComparison // < <= > >= LIKE BETWEEN IN
	precAdditive
	precMultiplicative
	precUnary
	precPrimary
)

func precedence(x expr) int {
	switch x := x.(type) {
	case *logic:
		if x.and {
			return precAnd
		}
		return precOr
	case *not:
		return precNot
	case *compare:
		if x.op == opEq || x.op == opNe {
			return precEquality
		}
		return precComparison
	case *isNull:
		return precEquality
	case *between, *inList, *like:
		return precComparison
	case *arith:
		if x.op == '+' || x.op == '-' {
			return precAdditive
		}
		return precMultiplicative
	case *neg:
		return precUnary
	case *boolCast:
		return precedence(x.x)
	}
	return precPrimary
}

func writeExpr(x expr) string {
	var b strings.Builder
	write(&b, x, 0)
	return b.String()
}

// write prints x, in parentheses when its precedence is below min. Left
// operands of left-associative operators take min equal to the operator's
// level, right operands one more.
func write(b *strings.Builder, x expr, min int) {
	p := precedence(x)
	if p < min {
		b.WriteByte('(')
		defer b.WriteByte(')')
	}
	switch x := x.(type) {
	case *literal:
		writeLiteral(b, x.v)
	case *ident:
		b.WriteString(x.name)
	case *boolCast:
		b.WriteString(x.x.name)
	case *neg:
		var inner strings.Builder
		write(&inner, x.x, precUnary)
		b.WriteByte('-')
		if strings.HasPrefix(inner.String(), "-") {
			b.WriteByte(' ')
		}
		b.WriteString(inner.String())
	case *arith:
		write(b, x.l, p)
		b.WriteString(" " + string(x.op) + " ")
		write(b, x.r, p+1)
	case *compare:
		write(b, x.l, p)
		b.WriteString(" " + x.op.String() + " ")
		write(b, x.r, p+1)
	case *isNull:
		write(b, x.x, p)
		b.WriteString(" IS ")
		if x.not {
			b.WriteString("NOT ")
		}
		b.WriteString("NULL")
	case *between:
		write(b, x.x, p)
		b.WriteString(notWord(x.not) + "BETWEEN ")
		write(b, x.lo, precAdditive)
		b.WriteString(" AND ")
		write(b, x.hi, precAdditive)
	case *inList:
		b.WriteString(x.x.name)
		b.WriteString(notWord(x.not) + "IN (")
		for i, it := range x.items {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quote(it))
		}
		b.WriteByte(')')
	case *like:
		write(b, x.x, p)
		b.WriteString(notWord(x.not) + "LIKE " + quote(x.pattern))
		if x.escape != "" {
			b.WriteString(" ESCAPE " + quote(x.escape))
		}
	case *logic:
		op := " OR "
		if x.and {
			op = " AND "
		}
		for i, e := range x.xs {
			if i > 0 {
				b.WriteString(op)
			}
			write(b, e, p+1)
		}
	case *not:
		b.WriteString("NOT ")
		write(b, x.x, p)
	}
}

func notWord(not bool) string {
	if not {
		return " NOT "
	}
	return " "
}

func writeLiteral(b *strings.Builder, v value) {
	switch v.k {
	case kNull:
		b.WriteString("NULL")
	case kBool:
		if v.i != 0 {
			b.WriteString("TRUE")
		} else {
			b.WriteString("FALSE")
		}
	case kInt:
		b.WriteString(strconv.FormatInt(v.i, 10))
	case kFloat:
		b.WriteString(formatFloat(v.float()))
	case kString:
		b.WriteString(quote(v.s))
	}
}

// formatFloat prints a double so that it reads back as the same double
// literal: always with a point or an exponent; infinities overflow.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "1e999"
	case math.IsInf(f, -1):
		return "-1e999"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// quote writes s as a selector string literal, doubling quotes.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
