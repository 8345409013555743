package rules

import (
	"fmt"
	"slices"
	"strings"
)

// Set is a set of packages: those matching an Include pattern and no
// Exclude pattern. A pattern is a package path, module-relative for the
// module's own packages ("internal/store") or as imported for others
// ("net/http"); a trailing "/..." also matches every package below.
type Set struct {
	Include []string
	Exclude []string
}

// Match reports whether the package path p is in the set.
func (s Set) Match(p string) bool {
	return matchAny(s.Include, p) && !matchAny(s.Exclude, p)
}

func matchAny(patterns []string, p string) bool {
	return slices.ContainsFunc(patterns, func(pat string) bool {
		if base, ok := strings.CutSuffix(pat, "/..."); ok {
			return p == base || strings.HasPrefix(p, base+"/")
		}
		return p == pat
	})
}

func (s Set) String() string {
	out := strings.Join(s.Include, ", ")
	if len(s.Exclude) > 0 {
		out += " (except " + strings.Join(s.Exclude, ", ") + ")"
	}
	return out
}

// ImportRule forbids the packages in From to import those in Deny. Test
// files may also import the packages in TestAllow.
type ImportRule struct {
	From      Set
	Deny      Set
	TestAllow []string
	Why       string
}

// WiringRule forbids a package outside Exempt from importing both a package
// in A and a package in B: only the exempt packages wire them together.
// Test files are not considered (tests may wire a whole broker).
type WiringRule struct {
	Exempt Set
	A, B   Set
	Why    string
}

// rel makes an import path module-relative when it is in the module.
func (t *Tree) rel(imp string) string {
	if imp == t.Module {
		return "."
	}
	if r, ok := strings.CutPrefix(imp, t.Module+"/"); ok {
		return r
	}
	return imp
}

// CheckImports applies import rules to every file, test files included.
func (t *Tree) CheckImports(rules []ImportRule) []Violation {
	var vs []Violation
	for _, f := range t.Files {
		for _, r := range rules {
			if !r.From.Match(f.Dir) {
				continue
			}
			for _, imp := range f.Imports {
				p := t.rel(imp)
				if !r.Deny.Match(p) || f.Test && matchAny(r.TestAllow, p) {
					continue
				}
				vs = append(vs, Violation{"imports", f.Path,
					fmt.Sprintf("imports %s, which %s must not (%s)", imp, r.From, r.Why)})
			}
		}
	}
	return vs
}

// CheckWiring applies wiring rules to the non-test imports of each package.
func (t *Tree) CheckWiring(rules []WiringRule) []Violation {
	imports := map[string][]string{}
	var dirs []string
	for _, f := range t.Files {
		if f.Test {
			continue
		}
		if _, ok := imports[f.Dir]; !ok {
			dirs = append(dirs, f.Dir)
		}
		for _, imp := range f.Imports {
			imports[f.Dir] = append(imports[f.Dir], t.rel(imp))
		}
	}
	var vs []Violation
	for _, dir := range dirs {
		for _, r := range rules {
			if r.Exempt.Match(dir) {
				continue
			}
			a := slices.IndexFunc(imports[dir], r.A.Match)
			b := slices.IndexFunc(imports[dir], r.B.Match)
			if a >= 0 && b >= 0 {
				vs = append(vs, Violation{"imports", dir,
					fmt.Sprintf("imports both %s and %s: only %s may wire them together (%s)",
						imports[dir][a], imports[dir][b], r.Exempt, r.Why)})
			}
		}
	}
	return vs
}
