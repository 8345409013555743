package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// referenceFile is the generated reference, from this package's directory.
var referenceFile = filepath.Join("..", "..", "docs", "configuration.md")

func describeKeys(t *testing.T) []schemaKey {
	t.Helper()
	keys, err := describeSchema()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestDescribeSchema pins describe mode to the decoder: a sample of keys
// of every kind, with the defaults decoding starts from.
func TestDescribeSchema(t *testing.T) {
	got := map[string]schemaKey{}
	for _, k := range describeKeys(t) {
		if _, dup := got[k.path]; dup {
			t.Errorf("%s described twice", k.path)
		}
		got[k.path] = k
	}
	for _, tc := range []struct{ path, kind, def string }{
		{"broker", "a mapping", ""},
		{"console.listen", "a string", "127.0.0.1:8161"},
		{"console.admin_groups", "a list of strings", "[admins]"},
		{"store.kind", "one of journal, sql, replicated", `""`},
		{"store.journal.max_size", "a size", "100GiB"},
		{"store.sql.lease_duration", "a duration", "10s"},
		{"store.replicated.peers", "a mapping of names to strings", "{}"},
		{"store.replicated.insecure", "true or false", "false"},
		{"network_connectors", "a list of mappings", ""},
		{"network_connectors[].prefetch_size", "a whole number", "1000"},
		{"network_connectors[].conduit_subscriptions", "true or false", "true"},
		{"policies.redelivery.back_off_multiplier", "a number", "1"},
		{"policies.destinations[].redelivery.dlq", "a string", `""`},
		{"security.users[].groups", "a list of strings", "[]"},
		{"security.temp_destinations.read", "a list of strings", "[]"},
	} {
		k, ok := got[tc.path]
		if !ok {
			t.Errorf("%s: not described", tc.path)
			continue
		}
		def := ""
		if k.def != nil {
			def = yamlValue(k.def)
		}
		if k.kind != tc.kind || def != tc.def {
			t.Errorf("%s: kind %q, default %q; want %q, %q", tc.path, k.kind, def, tc.kind, tc.def)
		}
	}
}

// TestReferenceCoversSchema: every key the decoder knows has an entry in
// reference.go, and every entry names a key.
func TestReferenceCoversSchema(t *testing.T) {
	keys := map[string]schemaKey{}
	for _, k := range describeKeys(t) {
		keys[k.path] = k
		if !hasEntry(k.path) {
			t.Errorf("schema key %s (%s) has no entry in reference.go: add one (doc, example) and run `go generate ./internal/config`", k.path, k.kind)
		}
	}
	seen := map[string]bool{}
	for _, e := range reference() {
		k, ok := keys[e.path]
		switch {
		case seen[e.path]:
			t.Errorf("reference.go lists %s twice", e.path)
		case !ok:
			t.Errorf("reference.go documents %s, which the schema does not have", e.path)
		}
		seen[e.path] = true
		if !ok {
			continue
		}
		if strings.TrimSpace(e.doc) == "" {
			t.Errorf("%s: no description", e.path)
		}
		section := k.kind == "a mapping" || k.kind == "a list of mappings"
		switch {
		case section && e.example != "":
			t.Errorf("%s is a %s: its keys have the examples", e.path, kindText(k.kind))
		case !section && e.example == "":
			t.Errorf("%s: no example", e.path)
		case strings.Contains(e.example, "\n"):
			t.Errorf("%s: the example must be one line of YAML", e.path)
		}
		// An entry's own default must still name the value the code
		// starts from, so that a changed default shows up here.
		if e.def != "" && k.def != nil && !isZero(k.def) && !strings.Contains(e.def, yamlValue(k.def)) {
			t.Errorf("%s: reference default %q does not mention %s, the value decoding starts from", e.path, e.def, yamlValue(k.def))
		}
	}
}

func hasEntry(path string) bool {
	for _, e := range reference() {
		if e.path == path {
			return true
		}
	}
	return false
}

// TestReferenceExamplesDecode decodes the snippet the reference shows for
// each key: it must be accepted by the decoder and set that key, and the
// full parse must find nothing wrong with that key's value.
func TestReferenceExamplesDecode(t *testing.T) {
	for _, e := range reference() {
		if e.example == "" {
			continue
		}
		t.Run(e.path, func(t *testing.T) {
			src := e.file()
			if last := e.path[strings.LastIndexAny(e.path, ".]")+1:]; !strings.Contains(src, last+": "+e.example+"\n") {
				t.Fatalf("the snippet does not set %s to the example %s:\n%s", last, e.example, src)
			}
			root, err := parseYAML("example.yaml", []byte(src))
			if err != nil {
				t.Fatalf("example does not parse as YAML: %v\n%s", err, src)
			}
			d := &decoder{file: "example.yaml", pos: map[string]position{}}
			d.root(root, base())
			if len(d.errs) > 0 {
				t.Fatalf("example does not decode: %v\n%s", d.errs, src)
			}
			at := strings.ReplaceAll(e.path, "[]", "[0]")
			if _, ok := d.pos[at]; !ok {
				t.Fatalf("example does not set %s:\n%s", at, src)
			}
			_, err = Parse("example.yaml", []byte(src))
			var errs Errors
			if errors.As(err, &errs) {
				for _, x := range errs {
					if x.Path == at {
						t.Errorf("example's value is refused: %v\n%s", x, src)
					}
				}
			}
		})
	}
}

// TestReferenceUpToDate: docs/configuration.md is what the generator
// writes now.
func TestReferenceUpToDate(t *testing.T) {
	var want bytes.Buffer
	if err := WriteReference(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatalf("%v (generate it: go generate ./internal/config)", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("docs/configuration.md is not what the schema and reference.go produce (first difference at line %d); "+
			"regenerate it: go generate ./internal/config", firstDiffLine(got, want.Bytes()))
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

func TestExampleSnippet(t *testing.T) {
	for _, tc := range []struct{ path, value, want string }{
		{"limits.memory", "1GiB", "limits:\n  memory: 1GiB\n"},
		{"security.bridges", "[brokers]", "security:\n  bridges: [brokers]\n"},
		{"policies.destinations[].redelivery.dlq", "DLQ.x",
			"policies:\n  destinations:\n    - redelivery:\n        dlq: DLQ.x\n"},
		{"network_connectors[].uri", "tcp://b:61616", "network_connectors:\n  - uri: tcp://b:61616\n"},
	} {
		if got := exampleSnippet(tc.path, tc.value); got != tc.want {
			t.Errorf("exampleSnippet(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
