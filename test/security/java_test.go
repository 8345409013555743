//go:build crossprocess

package security

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/javarun"
)

// javaDir holds the JMS programs of the suite.
const javaDir = "java"

// jvmFlags are the JVM options of every program of java/: a small heap,
// the first JIT tier only and the serial collector, for many short JVMs on
// a shared machine.
var jvmFlags = []string{"-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"}

// javaClasspath compiles java/ on first use (javarun, once per run) and
// returns the classpath to run the programs with; it skips like setup
// without $PIER_BIN.
func javaClasspath(t *testing.T) string {
	t.Helper()
	setup(t)
	return javarun.Classpath(t, javaDir)
}

// startJava runs `java [jvmFlags...] [props...] -cp CP main args...`.
// props are -D options. onLine, if not nil, is called from one goroutine
// with every line of standard output. The program is killed when the test
// ends.
func startJava(t *testing.T, onLine func(string), props []string, main string, args ...string) *javarun.Proc {
	t.Helper()
	setup(t)
	jvm := javarun.JVM{Src: javaDir, Flags: append(slices.Clip(jvmFlags), props...)}
	return jvm.Start(t, context.Background(), onLine, main, args...)
}

// runScenarios runs java/Scenarios.java with the given system properties
// over url and reports each named scenario as a subtest: it passes when
// the program printed "PASS name", and fails with the scenario's lines
// otherwise.
func runScenarios(t *testing.T, props []string, url string, names ...string) {
	t.Helper()
	start := time.Now()
	props = append(slices.Clip(props), "-Dpier.users="+javaUsers())
	r := startJava(t, nil, props, "Scenarios", append([]string{url}, names...)...)
	werr := r.Wait(2 * time.Minute)
	out := r.Output()
	t.Logf("%d JMS scenarios over %s in %s", len(names), url, time.Since(start).Round(time.Millisecond))
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			part := javarun.Section(out, name)
			switch {
			case part == "":
				t.Fatalf("scenario did not run (java: %v):\n%s", werr, tail(out, 8<<10))
			case strings.Contains(part, "\nPASS "+name):
				for line := range strings.SplitSeq(strings.TrimSpace(part), "\n") {
					t.Log(line)
				}
			default:
				t.Fatalf("java: %v\n%s", werr, part)
			}
		})
	}
	if werr != nil && !strings.Contains(out, "\nFAIL ") {
		t.Errorf("Scenarios exited with %v without a FAIL line:\n%s", werr, tail(out, 8<<10))
	}
}

// javaUsers is the users' credentials for -Dpier.users: name:password,...
func javaUsers() string {
	var b []string
	for _, u := range users {
		b = append(b, u+":"+passwords[u])
	}
	return strings.Join(b, ",")
}
