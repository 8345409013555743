//go:build crossprocess

package openwire

import (
	"context"
	"testing"

	"github.com/piermq/pier/test/internal/javarun"
)

// jvm runs the programs of java/ (compiled once per run by javarun):
// 256 MiB of heap and the first JIT tier only, which starts fastest.
var jvm = javarun.JVM{Src: "java", Flags: []string{"-Xmx256m", "-XX:TieredStopAtLevel=1"}}

// classpath compiles java/*.java on first use and returns the classpath to
// run them with. It fails the test, saying what to install, when Java or a
// jar is missing.
func classpath(t *testing.T) string {
	t.Helper()
	return javarun.Classpath(t, jvm.Src)
}

// startJava starts `java ... main args...`, calling onLine (if not nil)
// with each line of its standard output from one goroutine; the program is
// killed when the test ends or ctx is done.
func startJava(t *testing.T, ctx context.Context, onLine func(string), main string, args ...string) *javarun.Proc {
	t.Helper()
	return jvm.Start(t, ctx, onLine, main, args...)
}
