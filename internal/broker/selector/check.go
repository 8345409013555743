package selector

// These checks reject at parse time what ActiveMQ rejects at parse time.

// isCondition reports whether x yields a truth value.
func isCondition(x expr) bool {
	switch x := x.(type) {
	case *compare, *isNull, *between, *inList, *like, *logic, *not, *boolCast:
		return true
	case *literal:
		return x.v.k == kBool || x.v.k == kNull
	}
	return false
}

// asCondition makes x usable where a condition is needed: a bare identifier
// becomes a boolean property test; anything else must be a condition.
func asCondition(x expr, pos int) (expr, error) {
	if id, ok := x.(*ident); ok {
		return &boolCast{x: id}, nil
	}
	if !isCondition(x) {
		return nil, &SyntaxError{Pos: pos, Msg: "expected a condition, found " + describe(x)}
	}
	return x, nil
}

// checkEquality rejects the NULL literal as an operand of = and <> (IS NULL
// is the way to test for NULL) and a boolean literal compared with a
// literal of another type.
func checkEquality(l expr, lpos int, r expr, rpos int) error {
	ll, lok := l.(*literal)
	rl, rok := r.(*literal)
	switch {
	case lok && ll.v.k == kNull:
		return &SyntaxError{Pos: lpos, Msg: "NULL cannot be compared with = or <>; use IS NULL"}
	case rok && rl.v.k == kNull:
		return &SyntaxError{Pos: rpos, Msg: "NULL cannot be compared with = or <>; use IS NULL"}
	case lok && rok && (ll.v.k == kBool) != (rl.v.k == kBool):
		return &SyntaxError{Pos: lpos, Msg: "cannot compare " + describe(l) + " with " + describe(r)}
	}
	return nil
}

// checkOrdered rejects operands of < <= > >= and BETWEEN that can never be
// ordered: literals other than numbers, and conditions.
func checkOrdered(x expr, pos int, op string) error {
	if lit, ok := x.(*literal); ok && !lit.v.isNumber() || isCondition(x) {
		return &SyntaxError{Pos: pos, Msg: describe(x) + " cannot be an operand of " + op + "; only numbers are ordered"}
	}
	return nil
}

// describe names an expression for an error message.
func describe(x expr) string {
	switch x := x.(type) {
	case *literal:
		switch x.v.k {
		case kString:
			return "string " + quote(x.v.s)
		case kNull:
			return "NULL"
		case kBool:
			return writeExpr(x)
		}
		return "number " + writeExpr(x)
	case *ident:
		return "identifier " + x.name
	case *arith, *neg:
		return "arithmetic expression"
	}
	return "condition"
}
