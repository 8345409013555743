package selector

import "testing"

func BenchmarkMatch(b *testing.B) {
	m := sampleMessage()
	for _, bc := range []struct{ name, sel string }{
		{"header", "JMSPriority > 4"},
		{"typical", "JMSPriority > 4 AND s = 'hello' AND i32 BETWEEN 10 AND 50 AND s IN ('a', 'hello', 'b')"},
		{"like", "s LIKE 'h%l_o' OR u LIKE '%ół%'"},
		{"arith", "i32 * 2 + f64 / 3 > 10 AND missing IS NULL"},
	} {
		sel, err := Parse(bc.sel)
		if err != nil {
			b.Fatal(err)
		}
		if !sel.Match(m) {
			b.Fatalf("%q does not match", bc.sel)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sel.Match(m)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	const s = "JMSPriority > 4 AND s = 'hello' AND i32 BETWEEN 10 AND 50 AND s IN ('a', 'hello', 'b') AND u LIKE '%x_'"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	m := sampleMessage()
	sel, err := Parse("JMSPriority > 4 AND s = 'hello' AND i32 BETWEEN 10 AND 50 AND s IN ('a', 'hello', 'b', 'c', 'd') AND s LIKE 'h%o' AND NOT missing")
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { sel.Match(m) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}
