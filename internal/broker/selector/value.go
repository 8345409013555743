package selector

import (
	"cmp"
	"math"
	"strconv"
	"strings"
)

// kind is the dynamic type of a value during evaluation.
type kind uint8

const (
	kNull   kind = iota // SQL NULL: a missing property or an unknown truth value
	kBool               // i is 1 for TRUE, 0 for FALSE
	kInt                // every integer type, widened to int64
	kFloat              // float32 and float64, widened to float64
	kString             // s
	kChar               // a Java char (uint16) property, kept apart as ActiveMQ does
	kOther              // []byte or any other type: equal to nothing, ordered against nothing
)

// value is one evaluated operand. It is passed by value so that evaluation
// does not allocate.
type value struct {
	k kind
	i int64 // kInt, kChar, kBool; for kFloat the IEEE 754 bits
	s string
}

func floatValue(f float64) value { return value{k: kFloat, i: int64(math.Float64bits(f))} }

func boolValue(b bool) value {
	if b {
		return value{k: kBool, i: 1}
	}
	return value{k: kBool}
}

func (v value) isTrue() bool  { return v.k == kBool && v.i != 0 }
func (v value) isFalse() bool { return v.k == kBool && v.i == 0 }

func (v value) isNumber() bool { return v.k == kInt || v.k == kFloat }

// float returns a number as float64.
func (v value) float() float64 {
	if v.k == kInt {
		return float64(v.i)
	}
	return math.Float64frombits(uint64(v.i))
}

// fromAny converts a property value of the message model into a value.
func fromAny(p any) value {
	switch x := p.(type) {
	case nil:
		return value{}
	case bool:
		return boolValue(x)
	case int8:
		return value{k: kInt, i: int64(x)}
	case int16:
		return value{k: kInt, i: int64(x)}
	case int32:
		return value{k: kInt, i: int64(x)}
	case int64:
		return value{k: kInt, i: x}
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case string:
		return value{k: kString, s: x}
	case uint16:
		return value{k: kChar, i: int64(x)}
	}
	return value{k: kOther}
}

// compareValues orders two non-NULL values. ok is false when the values
// cannot be compared (different types that do not promote); ActiveMQ then
// yields FALSE, not NULL.
func compareValues(l, r value, convert bool) (c int, ok bool) {
	if l.k != r.k {
		if l, r, ok = promote(l, r, convert); !ok {
			return 0, false
		}
	}
	switch l.k {
	case kInt, kChar, kBool:
		return cmp.Compare(l.i, r.i), true
	case kFloat:
		return javaCompare(l.float(), r.float()), true
	case kString:
		return strings.Compare(l.s, r.s), true
	}
	return 0, false
}

// promote brings two values of different kinds to one kind: an integer
// meets a float as float64; with convert_string_expressions a string meets a
// number or boolean by being parsed as one.
func promote(l, r value, convert bool) (value, value, bool) {
	switch {
	case l.k == kInt && r.k == kFloat:
		return floatValue(float64(l.i)), r, true
	case l.k == kFloat && r.k == kInt:
		return l, floatValue(float64(r.i)), true
	case convert && l.k == kString:
		v, ok := convertString(l.s, r.k)
		return v, r, ok
	case convert && r.k == kString:
		v, ok := convertString(r.s, l.k)
		return l, v, ok
	}
	return l, r, false
}

// convertString parses s as a value of kind to, as Java's Long.valueOf,
// Double.valueOf and Boolean.valueOf do for ActiveMQ's
// convert_string_expressions mode.
func convertString(s string, to kind) (value, bool) {
	switch to {
	case kInt:
		i, err := strconv.ParseInt(s, 10, 64)
		return value{k: kInt, i: i}, err == nil
	case kFloat:
		t := strings.TrimSpace(s)
		if n := len(t); n > 1 && strings.ContainsRune("dDfF", rune(t[n-1])) {
			t = t[:n-1]
		}
		f, err := strconv.ParseFloat(t, 64)
		return floatValue(f), err == nil
	case kBool:
		return boolValue(strings.EqualFold(s, "true")), true
	}
	return value{}, false
}

// javaCompare orders doubles as java.lang.Double.compare does: -0.0 sorts
// before 0.0, and NaN equals itself and sorts after +Inf. This is a total
// order, so every comparison has a definite answer.
func javaCompare(a, b float64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return cmp.Compare(javaBits(a), javaBits(b))
}

func javaBits(f float64) int64 {
	if math.IsNaN(f) {
		return 0x7ff8000000000000
	}
	return int64(math.Float64bits(f))
}

// arithmetic applies + - * / % to two values. Only numbers take part; a NULL
// or any other type yields NULL. Integers stay int64 (wrapping on overflow)
// for + - *; / and % always work in float64, as ActiveMQ does.
func arithmetic(op byte, l, r value) value {
	if !l.isNumber() || !r.isNumber() {
		return value{}
	}
	if l.k == kInt && r.k == kInt {
		switch op {
		case '+':
			return value{k: kInt, i: l.i + r.i}
		case '-':
			return value{k: kInt, i: l.i - r.i}
		case '*':
			return value{k: kInt, i: l.i * r.i}
		}
	}
	a, b := l.float(), r.float()
	var f float64
	switch op {
	case '+':
		f = a + b
	case '-':
		f = a - b
	case '*':
		f = a * b
	case '/':
		f = a / b
	case '%':
		f = math.Mod(a, b)
	}
	return floatValue(f)
}

func negate(v value) value {
	switch v.k {
	case kInt:
		return value{k: kInt, i: -v.i}
	case kFloat:
		return floatValue(-v.float())
	}
	return value{}
}
