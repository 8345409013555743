package client

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The typed getters convert as JMS does (the table in the
// javax.jms.Message documentation): a property can be read as a wider
// type of its own kind, or parsed from a string; anything else fails with
// ErrPropertyType. A missing property reads as false for BoolProperty and
// "" for StringProperty, and fails for numeric getters (Java throws
// NumberFormatException).

// BoolProperty reads a boolean property.
func (m *Message) BoolProperty(name string) (bool, error) {
	switch v := m.props[name].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		return strings.EqualFold(v, "true"), nil
	}
	return false, m.convErr(name, "bool")
}

// ByteProperty reads a byte (int8) property.
func (m *Message) ByteProperty(name string) (int8, error) {
	switch v := m.props[name].(type) {
	case int8:
		return v, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 8)
		return int8(n), m.parseErr(name, err)
	}
	return 0, m.convErr(name, "byte")
}

// ShortProperty reads a short (int16) property.
func (m *Message) ShortProperty(name string) (int16, error) {
	switch v := m.props[name].(type) {
	case int8:
		return int16(v), nil
	case int16:
		return v, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 16)
		return int16(n), m.parseErr(name, err)
	}
	return 0, m.convErr(name, "short")
}

// IntProperty reads an int (int32) property.
func (m *Message) IntProperty(name string) (int32, error) {
	switch v := m.props[name].(type) {
	case int8:
		return int32(v), nil
	case int16:
		return int32(v), nil
	case int32:
		return v, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		return int32(n), m.parseErr(name, err)
	}
	return 0, m.convErr(name, "int")
}

// LongProperty reads a long (int64) property.
func (m *Message) LongProperty(name string) (int64, error) {
	switch v := m.props[name].(type) {
	case int8:
		return int64(v), nil
	case int16:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int64:
		return v, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, m.parseErr(name, err)
	}
	return 0, m.convErr(name, "long")
}

// FloatProperty reads a float (float32) property.
func (m *Message) FloatProperty(name string) (float32, error) {
	switch v := m.props[name].(type) {
	case float32:
		return v, nil
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 32)
		return float32(n), m.parseErr(name, err)
	}
	return 0, m.convErr(name, "float")
}

// DoubleProperty reads a double (float64) property.
func (m *Message) DoubleProperty(name string) (float64, error) {
	switch v := m.props[name].(type) {
	case float32:
		return float64(v), nil
	case float64:
		return v, nil
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return n, m.parseErr(name, err)
	}
	return 0, m.convErr(name, "double")
}

// StringProperty reads any property as a string, formatted as Java's
// toString does; "" if it is not set. A []byte property cannot be read as a
// string.
func (m *Message) StringProperty(name string) (string, error) {
	switch v := m.props[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int8:
		return strconv.FormatInt(int64(v), 10), nil
	case int16:
		return strconv.FormatInt(int64(v), 10), nil
	case int32:
		return strconv.FormatInt(int64(v), 10), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float32:
		return javaFloat(float64(v), 32), nil
	case float64:
		return javaFloat(v, 64), nil
	case uint16:
		return string(rune(v)), nil
	}
	return "", m.convErr(name, "string")
}

// javaFloat formats like Float/Double.toString for ordinary values
// ("1.0", "0.5", "NaN", "Infinity").
func javaFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func (m *Message) convErr(name, want string) error {
	v, ok := m.props[name]
	if !ok {
		return fmt.Errorf("%w: property %q is not set", ErrPropertyType, name)
	}
	return fmt.Errorf("%w: property %q of type %T cannot be read as %s", ErrPropertyType, name, v, want)
}

func (m *Message) parseErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: property %q: %w", ErrPropertyType, name, err)
}
