package config

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// WriteReference writes the configuration reference (docs/configuration.md):
// every key the decoder knows, its kind, its default and an example, in the
// schema's order. `go generate ./internal/config` runs it.
func WriteReference(w io.Writer) error {
	keys, err := describeSchema()
	if err != nil {
		return err
	}
	docs := map[string]refEntry{}
	for _, e := range reference() {
		docs[e.path] = e
	}
	var b bytes.Buffer
	b.WriteString(referenceIntro)
	b.WriteString("\n## Every key\n\n| key | kind | default |\n|---|---|---|\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", k.path, anchor(k.path), kindText(k.kind), defaultText(k, docs[k.path]))
	}
	for _, k := range keys {
		e, ok := docs[k.path]
		if !ok {
			return fmt.Errorf("config: reference: %s has no entry in reference.go", k.path)
		}
		if !strings.ContainsAny(k.path, ".[") {
			fmt.Fprintf(&b, "\n## `%s`\n", k.path)
		} else {
			fmt.Fprintf(&b, "\n### `%s`\n", k.path)
		}
		fmt.Fprintf(&b, "\n*%s*", kindText(k.kind))
		if def := defaultText(k, e); def != "" {
			fmt.Fprintf(&b, ", default %s", def)
		}
		fmt.Fprintf(&b, "\n\n%s\n", e.doc)
		if e.example != "" {
			fmt.Fprintf(&b, "\n```yaml\n%s```\n", e.file())
		}
	}
	_, err = w.Write(b.Bytes())
	return err
}

const referenceIntro = `# Configuration reference

<!-- Generated from the schema (internal/config) and internal/config/reference.go
     by ` + "`go generate ./internal/config`" + `; edit those, not this file.
     internal/config's tests fail when this file is out of date. -->

` + "`pier serve --config FILE`" + ` reads one YAML document. Every key is optional; a key
that is absent, or written with nothing after it, keeps its default (the values
` + "`pier serve`" + ` runs with without a file, ` + "`examples/single.yaml`" + `). Unknown keys,
repeated keys and bad values are refused with the file, line and column, and
the whole configuration is checked before anything starts. Two exceptions to
"absent keeps the default": a ` + "`transports`" + ` section replaces the whole default
set, and a list replaces its default list.

Sizes are bytes or a number with a unit: ` + "`B`, `KB`, `MB`, `GB`, `TB`" + ` (powers of
1000) or ` + "`KiB`, `MiB`, `GiB`, `TiB`" + ` (powers of 1024), e.g. ` + "`256MiB`" + `. Durations
are Go durations: ` + "`500ms`, `10s`, `1m30s`" + ` (a unit is required). Relative paths
are taken from the working directory of the process. ` + "`list[]`" + ` in a key's name
stands for every item of that list.

Operating a broker with these keys: ` + "`docs/operations.md`" + `; monitoring:
` + "`docs/monitoring.md`" + `.
`

// kindText turns the decoder's words for a kind into the reference's.
func kindText(kind string) string {
	if choices, ok := strings.CutPrefix(kind, "one of "); ok {
		return "one of `" + strings.Join(strings.Split(choices, ", "), "`, `") + "`"
	}
	switch kind {
	case "true or false":
		return "boolean"
	case "a whole number":
		return "integer"
	case "a mapping":
		return "section"
	case "a list of mappings":
		return "list of sections"
	}
	return strings.TrimPrefix(kind, "a ")
}

// defaultText is the default the reference shows: the entry's own words,
// else the value decoding starts from; empty for sections and lists of
// sections.
func defaultText(k schemaKey, e refEntry) string {
	switch {
	case e.def != "":
		return e.def
	case k.def == nil:
		return ""
	case isZero(k.def) && reflect.TypeOf(k.def).Kind() == reflect.String:
		return "none"
	}
	return "`" + yamlValue(k.def) + "`"
}

func isZero(v any) bool {
	r := reflect.ValueOf(v)
	if r.Kind() == reflect.Slice || r.Kind() == reflect.Map {
		return r.Len() == 0
	}
	return r.IsZero()
}

// anchor is the fragment GitHub gives a heading: lower case, punctuation
// other than - and _ dropped.
func anchor(path string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(path) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// file is the example as a configuration file.
func (e refEntry) file() string {
	if e.snippet != "" {
		return e.snippet
	}
	return exampleSnippet(e.path, e.example)
}

// exampleSnippet writes a file that sets the key at path to value, items of
// lists ("list[]") as the first item.
func exampleSnippet(path, value string) string {
	var b strings.Builder
	indent, item := "", false
	parts := strings.Split(path, ".")
	for i, part := range parts {
		key, list := strings.CutSuffix(part, "[]")
		lead := indent
		if item {
			lead, indent, item = indent+"- ", indent+"  ", false
		}
		if i == len(parts)-1 {
			fmt.Fprintf(&b, "%s%s: %s\n", lead, key, value)
			break
		}
		fmt.Fprintf(&b, "%s%s:\n", lead, key)
		indent += "  "
		item = list
	}
	return b.String()
}
