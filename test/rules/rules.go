// Package rules checks the rules of this repository over a source tree:
// package doc comments, the direction of imports between packages, file
// length and gofmt. The tests in this package run it over the module; the
// checker itself takes any root so that it can be tested on a synthetic tree.
package rules

import (
	"bytes"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaxLines is the longest a hand-written .go file may be.
const MaxLines = 1500

// File is one parsed .go file.
type File struct {
	Path      string   // slash-separated, relative to the root
	Dir       string   // package directory relative to the root ("." for the root)
	Package   string   // package name
	Test      bool     // a _test.go file
	Doc       bool     // has a package doc comment
	Imports   []string // import paths
	Lines     int
	Generated bool // "// Code generated ... DO NOT EDIT."
	Gofmt     bool // already formatted
}

// Tree is every .go file under a module root, skipping what the go tool
// skips: testdata, vendor, directories starting with "." or "_", and nested
// modules.
type Tree struct {
	Root   string
	Module string
	Files  []File
}

// Load parses the tree rooted at root (a directory holding go.mod).
func Load(root string) (*Tree, error) {
	mod, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	t := &Tree{Root: root, Module: mod}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return skipDir(root, path, d.Name())
		}
		if !strings.HasSuffix(d.Name(), ".go") {
			return nil
		}
		f, err := parseFile(root, path)
		if err != nil {
			return err
		}
		t.Files = append(t.Files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rules: walk %s: %w", root, err)
	}
	return t, nil
}

func skipDir(root, path, name string) error {
	if path == root {
		return nil
	}
	if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return filepath.SkipDir
	}
	if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
		return filepath.SkipDir
	}
	return nil
}

func modulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("rules: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("rules: %s: no module line", gomod)
}

func parseFile(root, path string) (File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("rules: %w", err)
	}
	rel, _ := filepath.Rel(root, path)
	rel = filepath.ToSlash(rel)
	ast, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ParseComments|parser.ImportsOnly)
	if err != nil {
		return File{}, fmt.Errorf("rules: parse %s: %w", rel, err)
	}
	f := File{
		Path:      rel,
		Dir:       filepath.ToSlash(filepath.Dir(rel)),
		Package:   ast.Name.Name,
		Test:      strings.HasSuffix(rel, "_test.go"),
		Doc:       ast.Doc != nil && strings.TrimSpace(ast.Doc.Text()) != "",
		Lines:     bytes.Count(src, []byte("\n")),
		Generated: isGenerated(src),
	}
	if len(src) > 0 && src[len(src)-1] != '\n' {
		f.Lines++
	}
	for _, imp := range ast.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		f.Imports = append(f.Imports, p)
	}
	formatted, err := format.Source(src)
	f.Gofmt = err == nil && bytes.Equal(formatted, src)
	return f, nil
}

func isGenerated(src []byte) bool {
	for _, line := range bytes.Split(src, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("// Code generated ")) && bytes.HasSuffix(bytes.TrimSpace(line), []byte("DO NOT EDIT.")) {
			return true
		}
		if bytes.HasPrefix(line, []byte("package ")) {
			break
		}
	}
	return false
}

// Violation is one broken rule.
type Violation struct {
	Rule string // "doc", "imports", "length", "gofmt"
	Path string // file or package directory
	Msg  string
}

func (v Violation) String() string { return v.Rule + ": " + v.Path + ": " + v.Msg }

// Check applies every rule and returns the violations, sorted.
func (t *Tree) Check(imports []ImportRule, wiring []WiringRule) []Violation {
	var vs []Violation
	vs = append(vs, t.CheckDocs()...)
	vs = append(vs, t.CheckImports(imports)...)
	vs = append(vs, t.CheckWiring(wiring)...)
	vs = append(vs, t.CheckLength()...)
	vs = append(vs, t.CheckGofmt()...)
	slices.SortFunc(vs, func(a, b Violation) int { return strings.Compare(a.String(), b.String()) })
	return vs
}

// CheckDocs requires a package doc comment in every package. The doc of a
// package with non-test files must be in one of them; a directory of test
// files only (a cross-process suite) must have it in one of those.
// External test packages (package x_test) are documented by x.
func (t *Tree) CheckDocs() []Violation {
	type pkg struct{ nonTest, docNonTest, docTest bool }
	pkgs := map[string]*pkg{}
	var order []string
	for _, f := range t.Files {
		if strings.HasSuffix(f.Package, "_test") {
			continue
		}
		p := pkgs[f.Dir]
		if p == nil {
			p = &pkg{}
			pkgs[f.Dir] = p
			order = append(order, f.Dir)
		}
		p.nonTest = p.nonTest || !f.Test
		p.docNonTest = p.docNonTest || !f.Test && f.Doc
		p.docTest = p.docTest || f.Test && f.Doc
	}
	var vs []Violation
	for _, dir := range order {
		p := pkgs[dir]
		if p.nonTest && !p.docNonTest || !p.nonTest && !p.docTest {
			vs = append(vs, Violation{"doc", dir, "package has no doc comment (// Package x ... above the package clause of a non-test file)"})
		}
	}
	return vs
}

// CheckLength limits hand-written files to MaxLines lines.
func (t *Tree) CheckLength() []Violation {
	var vs []Violation
	for _, f := range t.Files {
		if f.Lines > MaxLines && !f.Generated {
			vs = append(vs, Violation{"length", f.Path, fmt.Sprintf("%d lines (at most %d): split it along a missing type or package", f.Lines, MaxLines)})
		}
	}
	return vs
}

// CheckGofmt requires every file to be formatted as gofmt would.
func (t *Tree) CheckGofmt() []Violation {
	var vs []Violation
	for _, f := range t.Files {
		if !f.Gofmt {
			vs = append(vs, Violation{"gofmt", f.Path, "not gofmt-formatted (run gofmt -w)"})
		}
	}
	return vs
}
