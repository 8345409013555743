package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// position is where a key or list item starts in the file.
type position struct{ line, col int }

// decoder walks a YAML node tree against the schema, collecting errors and
// the position of every key it decodes (for later validation errors).
type decoder struct {
	file string
	errs Errors
	pos  map[string]position
	// walk is set in describe mode (describe.go): handlers record the
	// schema instead of decoding a file.
	walk *walk
}

// field is one known key of a mapping and what to do with its value.
type field struct {
	key    string
	decode func(path string, v *yaml.Node)
}

func (d *decoder) fail(n *yaml.Node, path string, sentinel error, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	e := &Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...), Err: sentinel}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// invalid reports a bad value as "path: detail".
func (d *decoder) invalid(n *yaml.Node, path string, sentinel error, format string, args ...any) {
	if path == "" {
		d.fail(n, path, sentinel, format, args...)
		return
	}
	d.fail(n, path, sentinel, "%s: %s", path, fmt.Sprintf(format, args...))
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	default:
		return "an alias"
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping decodes a mapping node against fields. A null node is absent.
func (d *decoder) mapping(path string, n *yaml.Node, fields []field) {
	if d.walk != nil {
		d.describeMapping(path, fields)
		return
	}
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.expected(path, n, "a mapping of keys")
		return
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		key, ok := d.key(path, k, seen)
		if !ok {
			continue
		}
		f, ok := lookup(fields, key)
		if !ok {
			in := ""
			if path != "" {
				in = " in " + path
			}
			d.fail(k, join(path, key), ErrUnknownKey, "unknown key %q%s (known: %s)", key, in, knownKeys(fields))
			continue
		}
		p := join(path, key)
		d.pos[p] = position{k.Line, k.Column}
		f.decode(p, v)
	}
}

// key checks one mapping key: a plain string, not a merge key, not repeated.
func (d *decoder) key(path string, k *yaml.Node, seen map[string]int) (string, bool) {
	if k == nil || k.Kind != yaml.ScalarNode {
		d.fail(k, path, ErrType, "keys must be plain strings")
		return "", false
	}
	if k.ShortTag() == "!!merge" {
		d.fail(k, path, ErrUnknownKey, "merge keys (<<) are not supported")
		return "", false
	}
	if first, dup := seen[k.Value]; dup {
		d.fail(k, join(path, k.Value), ErrDuplicateKey, "duplicate key %q (first at line %d)", k.Value, first)
		return "", false
	}
	seen[k.Value] = k.Line
	return k.Value, true
}

func lookup(fields []field, key string) (field, bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

func knownKeys(fields []field) string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return strings.Join(keys, ", ")
}

func (d *decoder) expected(path string, n *yaml.Node, what string) {
	d.invalid(n, path, ErrType, "expected %s, got %s", what, describe(n))
}

// scalar returns the resolved node if it is a non-null scalar.
func (d *decoder) scalar(path string, n *yaml.Node, what string) (*yaml.Node, bool) {
	if d.describing(path, what, nil) {
		return nil, false
	}
	n = resolve(n)
	if isNull(n) {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode {
		d.expected(path, n, what)
		return nil, false
	}
	return n, true
}

func (d *decoder) str(p *string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "a string", *p) {
			return
		}
		if n, ok := d.scalar(path, n, "a string"); ok {
			*p = n.Value
		}
	}
}

func (d *decoder) boolean(p *bool) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "true or false", *p) {
			return
		}
		n, ok := d.scalar(path, n, "true or false")
		if !ok {
			return
		}
		if n.ShortTag() != "!!bool" || n.Decode(p) != nil {
			d.invalid(n, path, ErrInvalid, "expected true or false, got %q", n.Value)
		}
	}
}

func (d *decoder) integer(p *int) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "a whole number", *p) {
			return
		}
		n, ok := d.scalar(path, n, "a whole number")
		if !ok {
			return
		}
		if n.ShortTag() != "!!int" || n.Decode(p) != nil {
			d.invalid(n, path, ErrInvalid, "expected a whole number, got %q", n.Value)
		}
	}
}

func (d *decoder) size(p *Size) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "a size", *p) {
			return
		}
		n, ok := d.scalar(path, n, "a size")
		if !ok {
			return
		}
		s, err := ParseSize(n.Value)
		if err != nil {
			d.invalid(n, path, ErrInvalid, "%s", strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
			return
		}
		*p = s
	}
}

func (d *decoder) duration(p *time.Duration) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "a duration", *p) {
			return
		}
		n, ok := d.scalar(path, n, "a duration")
		if !ok {
			return
		}
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			hint := ""
			if _, e := strconv.ParseFloat(n.Value, 64); e == nil {
				hint = ", e.g. 10s (a unit is required)"
			}
			d.invalid(n, path, ErrInvalid, "%q is not a duration (want a Go duration such as 10s, 500ms or 1m30s%s)", n.Value, hint)
			return
		}
		*p = v
	}
}

// oneOf decodes a string that must be one of choices.
func (d *decoder) oneOf(p *string, choices ...string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "one of "+strings.Join(choices, ", "), *p) {
			return
		}
		n, ok := d.scalar(path, n, "a string")
		if !ok {
			return
		}
		for _, c := range choices {
			if n.Value == c {
				*p = c
				return
			}
		}
		d.invalid(n, path, ErrInvalid, "%q is not one of %s", n.Value, strings.Join(choices, ", "))
	}
}

// strList decodes a list of strings; it replaces *p.
func (d *decoder) strList(p *[]string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "a list of strings", *p) {
			return
		}
		*p = nil
		d.sequence(path, n, func(item string, v *yaml.Node) {
			if v, ok := d.scalar(item, v, "a string"); ok {
				*p = append(*p, v.Value)
			}
		})
	}
}

// sequence calls each for every item of a list node.
func (d *decoder) sequence(path string, n *yaml.Node, each func(path string, v *yaml.Node)) {
	if d.walk != nil {
		d.describeSequence(path, each)
		return
	}
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.expected(path, n, "a list")
		return
	}
	for i, v := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.pos[p] = position{v.Line, v.Column}
		each(p, v)
	}
}

// stringMap decodes a mapping of strings to strings; it replaces *p.
func (d *decoder) stringMap(p *map[string]string) func(string, *yaml.Node) {
	return func(path string, n *yaml.Node) {
		if d.describing(path, "a mapping of names to strings", *p) {
			return
		}
		n = resolve(n)
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.expected(path, n, "a mapping")
			return
		}
		m := make(map[string]string, len(n.Content)/2)
		seen := make(map[string]int, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			key, ok := d.key(path, k, seen)
			if !ok {
				continue
			}
			kp := join(path, key)
			d.pos[kp] = position{k.Line, k.Column}
			if v, ok := d.scalar(kp, n.Content[i+1], "a string"); ok {
				m[key] = v.Value
			}
		}
		*p = m
	}
}
