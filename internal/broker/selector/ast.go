package selector

import "github.com/piermq/pier/internal/message"

// expr is a node of a parsed selector. eval returns a value; boolean nodes
// return a kBool value or, for an unknown truth value, kNull.
type expr interface {
	eval(m *message.Message) value
}

// header identifies a JMS header or JMSX property that is read from the
// message's fields rather than from its property map.
type header uint8

const (
	hNone header = iota
	hDestination
	hReplyTo
	hType
	hDeliveryMode
	hPriority
	hMessageID
	hTimestamp
	hCorrelationID
	hExpiration
	hRedelivered
	hDeliveryCount
	hGroupID
	hGroupSeq
	hUserID
)

// lookupHeader maps the identifiers ActiveMQ resolves from message fields.
// Identifiers are case-sensitive.
func lookupHeader(name string) header {
	switch name {
	case "JMSDestination":
		return hDestination
	case "JMSReplyTo":
		return hReplyTo
	case "JMSType":
		return hType
	case "JMSDeliveryMode":
		return hDeliveryMode
	case "JMSPriority":
		return hPriority
	case "JMSMessageID":
		return hMessageID
	case "JMSTimestamp":
		return hTimestamp
	case "JMSCorrelationID":
		return hCorrelationID
	case "JMSExpiration":
		return hExpiration
	case "JMSRedelivered":
		return hRedelivered
	case "JMSXDeliveryCount":
		return hDeliveryCount
	case "JMSXGroupID":
		return hGroupID
	case "JMSXGroupSeq":
		return hGroupSeq
	case "JMSXUserID":
		return hUserID
	}
	return hNone
}

// literal is a constant: NULL, TRUE, FALSE, a number or a string.
type literal struct{ v value }

func (x *literal) eval(*message.Message) value { return x.v }

// ident is a header or property reference.
type ident struct {
	name string
	hdr  header
}

func optString(s string) value {
	if s == "" {
		return value{}
	}
	return value{k: kString, s: s}
}

func (x *ident) eval(m *message.Message) value {
	switch x.hdr {
	case hNone:
		return fromAny(m.Properties[x.name])
	case hDestination:
		d := m.OriginalDest
		if d.IsZero() {
			d = m.Dest
		}
		return optString(d.String())
	case hReplyTo:
		return optString(m.ReplyTo.String())
	case hType:
		return optString(m.Type)
	case hDeliveryMode:
		if m.Persistent {
			return value{k: kString, s: "PERSISTENT"}
		}
		return value{k: kString, s: "NON_PERSISTENT"}
	case hPriority:
		return value{k: kInt, i: int64(m.Priority)}
	case hMessageID:
		return optString(m.ID)
	case hTimestamp:
		return value{k: kInt, i: m.Timestamp}
	case hCorrelationID:
		return optString(m.CorrelationID)
	case hExpiration:
		return value{k: kInt, i: m.Expiration}
	case hRedelivered:
		return boolValue(m.DeliveryCount > 0)
	case hDeliveryCount:
		return value{k: kInt, i: int64(m.DeliveryCount) + 1}
	case hGroupID:
		return optString(m.GroupID)
	case hGroupSeq:
		return value{k: kInt, i: int64(m.GroupSeq)}
	case hUserID:
		if m.UserID != "" {
			return value{k: kString, s: m.UserID}
		}
		return fromAny(m.Properties["JMSXUserID"])
	}
	return value{}
}

// boolCast uses a property as a condition: a boolean stays as it is, NULL
// stays unknown and any other type is FALSE.
type boolCast struct{ x *ident }

func (x *boolCast) eval(m *message.Message) value {
	v := x.x.eval(m)
	switch v.k {
	case kNull, kBool:
		return v
	}
	return boolValue(false)
}

// neg is unary minus on a non-literal.
type neg struct{ x expr }

func (x *neg) eval(m *message.Message) value { return negate(x.x.eval(m)) }

// arith is + - * / %.
type arith struct {
	op   byte
	l, r expr
}

func (x *arith) eval(m *message.Message) value {
	l := x.l.eval(m)
	if l.k == kNull {
		return l
	}
	r := x.r.eval(m)
	if r.k == kNull {
		return r
	}
	return arithmetic(x.op, l, r)
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var cmpSymbols = [...]string{opEq: "=", opNe: "<>", opLt: "<", opLe: "<=", opGt: ">", opGe: ">="}

func (op cmpOp) String() string { return cmpSymbols[op] }

// compareOp applies op with three-valued logic: NULL on either side is
// unknown; values that cannot be compared give FALSE (so <> gives TRUE).
func compareOp(op cmpOp, l, r value, convert bool) value {
	if l.k == kNull || r.k == kNull {
		return value{}
	}
	c, ok := compareValues(l, r, convert)
	if !ok {
		return boolValue(op == opNe)
	}
	switch op {
	case opEq:
		return boolValue(c == 0)
	case opNe:
		return boolValue(c != 0)
	case opLt:
		return boolValue(c < 0)
	case opLe:
		return boolValue(c <= 0)
	case opGt:
		return boolValue(c > 0)
	}
	return boolValue(c >= 0)
}

type compare struct {
	op      cmpOp
	l, r    expr
	convert bool
}

func (x *compare) eval(m *message.Message) value {
	return compareOp(x.op, x.l.eval(m), x.r.eval(m), x.convert)
}

// isNull is IS NULL and IS NOT NULL; it is never unknown.
type isNull struct {
	x   expr
	not bool
}

func (x *isNull) eval(m *message.Message) value {
	return boolValue((x.x.eval(m).k == kNull) != x.not)
}

// between is x BETWEEN lo AND hi, that is x >= lo AND x <= hi; NOT BETWEEN
// is x < lo OR x > hi.
type between struct {
	x, lo, hi expr
	not       bool
	convert   bool
}

func (x *between) eval(m *message.Message) value {
	v := x.x.eval(m)
	if x.not {
		return or3(compareOp(opLt, v, x.lo.eval(m), x.convert), compareOp(opGt, v, x.hi.eval(m), x.convert))
	}
	return and3(compareOp(opGe, v, x.lo.eval(m), x.convert), compareOp(opLe, v, x.hi.eval(m), x.convert))
}

// inList is x [NOT] IN ('a', ...). Only a string value can be in the list;
// NULL or any other type gives unknown, as in ActiveMQ.
type inList struct {
	x     *ident
	items []string
	set   map[string]struct{} // for longer lists
	not   bool
}

func (x *inList) eval(m *message.Message) value {
	v := x.x.eval(m)
	if v.k != kString {
		return value{}
	}
	found := false
	if x.set != nil {
		_, found = x.set[v.s]
	} else {
		for _, it := range x.items {
			if it == v.s {
				found = true
				break
			}
		}
	}
	return boolValue(found != x.not)
}

// like is x [NOT] LIKE 'pattern' [ESCAPE 'c']. NULL gives unknown; a value
// that is not a string gives FALSE (NOT LIKE then gives TRUE), as in ActiveMQ.
type like struct {
	x       expr
	pattern string
	escape  string // "" when there is no ESCAPE clause
	p       *likePattern
	not     bool
}

func (x *like) eval(m *message.Message) value {
	v := x.x.eval(m)
	switch v.k {
	case kNull:
		return v
	case kString:
		return boolValue(x.p.match(v.s) != x.not)
	}
	return boolValue(x.not)
}

// logic is an n-ary AND or OR.
type logic struct {
	and bool
	xs  []expr
}

func (x *logic) eval(m *message.Message) value {
	unknown := false
	for _, e := range x.xs {
		v := e.eval(m)
		switch {
		case v.k == kNull:
			unknown = true
		case v.isTrue() != x.and:
			return v // FALSE decides an AND, TRUE decides an OR
		}
	}
	if unknown {
		return value{}
	}
	return boolValue(x.and)
}

// not is logical NOT: NOT unknown is unknown.
type not struct{ x expr }

func (x *not) eval(m *message.Message) value {
	v := x.x.eval(m)
	if v.k != kBool {
		return value{}
	}
	return boolValue(v.i == 0)
}

func and3(a, b value) value {
	if a.isFalse() || b.isFalse() {
		return boolValue(false)
	}
	if a.k == kNull || b.k == kNull {
		return value{}
	}
	return boolValue(true)
}

func or3(a, b value) value {
	if a.isTrue() || b.isTrue() {
		return boolValue(true)
	}
	if a.k == kNull || b.k == kNull {
		return value{}
	}
	return boolValue(false)
}
