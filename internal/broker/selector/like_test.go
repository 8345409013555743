package selector

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		esc     rune
		s       string
		want    bool
	}{
		{"", -1, "", true},
		{"", -1, "a", false},
		{"%", -1, "", true},
		{"%%", -1, "abc", true},
		{"_", -1, "", false},
		{"_", -1, "ä", true},
		{"__", -1, "ä", false},
		{"a%", -1, "a", true},
		{"%a", -1, "ba", true},
		{"%a", -1, "ab", false},
		{"a%a", -1, "a", false},
		{"a%a", -1, "aa", true},
		{"a%b%c", -1, "axxbyyc", true},
		{"a%b%c", -1, "acb", false},
		{"%b_d%", -1, "abbcd", true},
		{"%b_d%", -1, "abd", false},
		{"%b_d%", -1, "abbdcbxd", true},
		{"%ab%ab%", -1, "abab", true},
		{"%ab%ab%", -1, "aba", false},
		{"_%_", -1, "x", false},
		{"_%_", -1, "xy", true},
		{"%_b", -1, "bb", true},
		{"%_b", -1, "b", false},
		{"%aab", -1, "aaab", true},
		{"a\\%", '\\', "a%", true},
		{"a\\%", '\\', "ab", false},
		{"a\\_", '\\', "a_", true},
		{"a\\_", '\\', "ab", false},
		{"a\\\\", '\\', "a\\", true},
		{"a\\b", '\\', "a\\b", true}, // escape before an ordinary character is literal
		{"a\\", '\\', "a\\", true},   // and at the end
		{"%%%", '%', "%", true},      // '%%' is an escaped '%', then a wildcard
		{"%%%", '%', "x", false},
		{"ż_ł%", 'ł', "żół", false},
		{"100ł%", 'ł', "100%", true},
		{".*", -1, "abc", false},
		{"(a|b)", -1, "(a|b)", true},
	} {
		got := compileLike(tc.pattern, tc.esc).match(tc.s)
		if got != tc.want {
			t.Errorf("%q ESCAPE %q LIKE %q = %v, want %v", tc.s, tc.esc, tc.pattern, got, tc.want)
		}
	}
}

// likeRegexp is a reference implementation of LIKE without escapes.
func likeRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

func TestLikeAgainstRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func(alphabet []rune, n int) string {
		rs := make([]rune, rng.IntN(n+1))
		for i := range rs {
			rs[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(rs)
	}
	for range 20000 {
		pattern := gen([]rune("ab%_é"), 7)
		s := gen([]rune("abé\n"), 8)
		want := likeRegexp(pattern).MatchString(s)
		if got := compileLike(pattern, -1).match(s); got != want {
			t.Fatalf("%q LIKE %q = %v, want %v", s, pattern, got, want)
		}
	}
}
