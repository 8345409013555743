package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Describe mode: the decoder walks the schema itself instead of a file, so
// that the keys it knows can be listed (the configuration reference,
// reference.go) without writing the schema down a second time.
//
// In describe mode mapping calls every field's handler, sequence calls its
// item handler once (with the path of an item, "list[]"), and each typed
// handler (str, size, oneOf, strList, ...) records the kind of value it
// decodes and the value its target holds — decoding starts from Default(),
// so that value is the key's default. Handlers receive a probe node that is
// neither null nor a mapping: handlers that skip null values still run, and
// transports, which clears its defaults when it meets a mapping, keeps them
// for the walk to read.

// schemaKey is one key the decoder knows.
type schemaKey struct {
	// path names the key: console.listen, network_connectors[].uri (the
	// key of every item of a list).
	path string
	// kind is what its handler decodes, in the words of the decoder's
	// errors: "a string", "a size", "one of journal, sql, replicated",
	// "a list of strings", "a mapping" (a section of keys), ...
	kind string
	// def is the value decoding starts from; nil when the handler keeps
	// none (a section, a list of mappings).
	def any
}

// walk records the schema during a describe-mode walk.
type walk struct {
	probe *yaml.Node
	keys  []string          // paths of mapping keys, in schema order
	kinds map[string]string // path (keys and list items) -> kind
	defs  map[string]any
}

// describeSchema walks the schema and returns every key, in the order the
// decoder lists them (sections before their keys).
func describeSchema() ([]schemaKey, error) {
	w := &walk{probe: &yaml.Node{Kind: yaml.DocumentNode}, kinds: map[string]string{}, defs: map[string]any{}}
	d := &decoder{file: "(schema)", pos: map[string]position{}, walk: w}
	d.root(w.probe, Default())
	if len(d.errs) > 0 {
		return nil, fmt.Errorf("config: describe the schema: %w", d.errs)
	}
	out := make([]schemaKey, 0, len(w.keys))
	for _, p := range w.keys {
		if w.kinds[p] == "" {
			return nil, fmt.Errorf("config: describe the schema: the handler of %s decodes nothing describe mode sees (use the decoder's typed handlers)", p)
		}
		out = append(out, schemaKey{path: p, kind: w.kinds[p], def: w.defs[p]})
	}
	return out, nil
}

// describing reports whether the decoder is in describe mode, and then
// records that path decodes what, starting from value.
func (d *decoder) describing(path, what string, value any) bool {
	if d.walk == nil {
		return false
	}
	if _, done := d.walk.kinds[path]; !done {
		d.walk.kinds[path] = what
		if value != nil {
			d.walk.defs[path] = value
		}
	}
	return true
}

// describeMapping records a section and walks each of its keys.
func (d *decoder) describeMapping(path string, fields []field) {
	if path != "" {
		d.describing(path, "a mapping", nil)
	}
	for _, f := range fields {
		p := join(path, f.key)
		if slices.Contains(d.walk.keys, p) {
			d.fail(nil, p, ErrDuplicateKey, "the schema lists %s twice", p)
			continue
		}
		d.walk.keys = append(d.walk.keys, p)
		f.decode(p, d.walk.probe)
	}
}

// describeSequence walks the item handler of a list once.
func (d *decoder) describeSequence(path string, each func(string, *yaml.Node)) {
	item := path + "[]"
	each(item, d.walk.probe)
	kind := d.walk.kinds[item]
	if plural, ok := strings.CutPrefix(kind, "a "); ok {
		kind = plural + "s"
	}
	d.describing(path, "a list of "+kind, nil)
}

// yamlValue writes a default as it would be written in the file: 256MiB,
// 10s, [admins], "" for an empty string.
func yamlValue(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" || needsQuotes(v) {
			return strconv.Quote(v)
		}
		return v
	case Size:
		return v.String()
	case time.Duration:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []string:
		items := make([]string, len(v))
		for i, s := range v {
			items[i] = yamlValue(s)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]string:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = yamlValue(k) + ": " + yamlValue(v[k])
		}
		return "{" + strings.Join(items, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// needsQuotes reports whether a plain string would not read back as the
// same string.
func needsQuotes(s string) bool {
	var m map[string]any
	return yaml.Unmarshal([]byte("v: "+s), &m) != nil || m["v"] != s
}
