package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads and parses the configuration file at path. Errors name the path
// as given.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a configuration from data, fills in defaults and validates
// it. Keys absent from data keep their defaults; keys present, even with a
// zero value, are taken as written (so "limits.max_connections: 0" is an
// error, not the default). name is the file name used in error messages. The error, if any, is an
// Errors listing every problem found (up to a limit) with its line and
// column.
func Parse(name string, data []byte) (*Config, error) {
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: name, pos: make(map[string]position)}
	c := base()
	if root != nil {
		d.root(root, c)
	}
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	c.derive()
	issues := append(d.unusedSections(c), c.check()...)
	if len(issues) > 0 {
		return nil, d.locate(issues)
	}
	return c, nil
}

// parseYAML returns the root node of the single document in data, or nil
// for an empty file.
func parseYAML(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(name, err)
	default:
		return nil, Errors{{File: name, Line: extra.Line, Column: extra.Column,
			Msg: "only one YAML document is allowed", Err: ErrSyntax}}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// syntaxError turns the YAML library's "yaml: line 3: msg" into an *Error.
func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: name, Err: ErrSyntax}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		if isParserError(msg) {
			// The library reports the 0-based line of parser (not
			// scanner) errors; make it 1-based.
			e.Line++
		}
	}
	e.Msg = "invalid YAML: " + msg
	return Errors{e}
}

// parserErrors are the messages of the YAML library's parser (as opposed to
// its scanner), whose line numbers it reports 0-based.
var parserErrors = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

func isParserError(msg string) bool {
	return slices.Contains(parserErrors, msg)
}

// unusedSections rejects store sections that the chosen kind ignores: they
// are almost always a mistake (a kind left at its default, a typo).
func (d *decoder) unusedSections(c *Config) []issue {
	var out []issue
	used := map[string]bool{
		"store.journal":    c.Store.Kind != StoreSQL,
		"store.sql":        c.Store.Kind == StoreSQL,
		"store.replicated": c.Store.Kind == StoreReplicated,
	}
	for _, s := range []string{"store.journal", "store.sql", "store.replicated"} {
		if _, given := d.pos[s]; given && !used[s] {
			out = append(out, issue{s, fmt.Sprintf("%s: not used when store.kind is %s", s, c.Store.Kind), ErrInvalid})
		}
	}
	return out
}

// locate turns validation issues into errors positioned at the key they
// name, or at its nearest ancestor present in the file.
func (d *decoder) locate(issues []issue) Errors {
	var out Errors
	for _, is := range issues {
		if len(out) >= maxErrors {
			break
		}
		e := &Error{File: d.file, Path: is.path, Msg: is.msg, Err: is.err}
		if at, ok := d.find(is.path); ok {
			e.Line, e.Column = at.line, at.col
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// find returns the position of path, or else of its nearest ancestor in the
// file. A missing section (store.sql) is blamed on the kind that asks for
// it (store.kind) when there is one.
func (d *decoder) find(path string) (position, bool) {
	for p := path; p != ""; p = parent(p) {
		if at, ok := d.pos[p]; ok {
			return at, true
		}
		if up := parent(p); up != "" {
			if at, ok := d.pos[up+".kind"]; ok {
				return at, true
			}
		}
	}
	return position{}, false
}

// parent strips the last component of a path: a.b[2].c -> a.b[2] -> a.b -> a.
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}
