package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/piermq/pier/client"
)

// propertyUsage documents --property's syntax (produce --help, README).
const propertyUsage = `a message property NAME=VALUE (a string), or NAME:TYPE=VALUE with TYPE one of
string, bool, byte, short, int, long, float, double (JMS's property types,
as ActiveMQ's tools give them: region=eu, retries:int=3, urgent:bool=true);
repeat for more. Over STOMP every property is a header with VALUE as text`

// property is one --property: a JMS message property with its type.
type property struct {
	name  string
	value any // string, bool, int8, int16, int32, int64, float32 or float64
	text  string
}

// propertyList is the repeatable --property flag.
type propertyList []property

func (l *propertyList) String() string {
	parts := make([]string, len(*l))
	for i, p := range *l {
		parts[i] = p.name + "=" + p.text
	}
	return strings.Join(parts, ",")
}

func (l *propertyList) Set(s string) error {
	p, err := parseProperty(s)
	if err != nil {
		return err
	}
	*l = append(*l, p)
	return nil
}

// parseProperty reads NAME=VALUE or NAME:TYPE=VALUE.
func parseProperty(s string) (property, error) {
	key, text, ok := strings.Cut(s, "=")
	if !ok {
		return property{}, fmt.Errorf("%q: want NAME=VALUE or NAME:TYPE=VALUE", s)
	}
	name, typ, typed := strings.Cut(key, ":")
	if name == "" {
		return property{}, fmt.Errorf("%q: the property has no name", s)
	}
	if strings.HasPrefix(name, "JMS") && !strings.HasPrefix(name, "JMSX") {
		return property{}, fmt.Errorf("%q: JMS header fields are not properties (use --priority, or a selector on the header itself)", s)
	}
	if !typed {
		typ = "string"
	}
	v, err := typedValue(typ, text)
	if err != nil {
		return property{}, fmt.Errorf("%q: %w", s, err)
	}
	return property{name: name, value: v, text: text}, nil
}

// typedValue converts text to the JMS property type typ.
func typedValue(typ, text string) (any, error) {
	bits := map[string]int{"byte": 8, "short": 16, "int": 32, "long": 64}
	switch typ {
	case "string":
		return text, nil
	case "bool", "boolean":
		switch strings.ToLower(text) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, errors.New("want true or false")
	case "byte", "short", "int", "long":
		n, err := strconv.ParseInt(text, 10, bits[typ])
		if err != nil {
			lo, hi := -(int64(1) << (bits[typ] - 1)), int64(math.MaxInt64)>>(64-bits[typ])
			return nil, fmt.Errorf("want a whole number from %d to %d for a %s", lo, hi, typ)
		}
		switch typ {
		case "byte":
			return int8(n), nil
		case "short":
			return int16(n), nil
		case "int":
			return int32(n), nil
		}
		return n, nil
	case "float":
		f, err := strconv.ParseFloat(text, 32)
		if err != nil {
			return nil, errors.New("want a number for a float")
		}
		return float32(f), nil
	case "double":
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, errors.New("want a number for a double")
		}
		return f, nil
	}
	return nil, fmt.Errorf("unknown type %q (want string, bool, byte, short, int, long, float or double)", typ)
}

// apply sets the properties on an OpenWire message.
func (l propertyList) apply(m *client.Message) error {
	for _, p := range l {
		if err := m.SetProperty(p.name, p.value); err != nil {
			return fmt.Errorf("--property %s: %w", p.name, err)
		}
	}
	return nil
}

// headerList is the repeatable --header flag: STOMP headers NAME=VALUE.
type headerList [][2]string

func (l *headerList) String() string {
	parts := make([]string, len(*l))
	for i, h := range *l {
		parts[i] = h[0] + "=" + h[1]
	}
	return strings.Join(parts, ",")
}

func (l *headerList) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: want NAME=VALUE", s)
	}
	if name == "destination" || name == "content-length" || name == "receipt" || name == "transaction" {
		return fmt.Errorf("%q: pier produce sets the %s header itself", s, name)
	}
	*l = append(*l, [2]string{name, value})
	return nil
}
