package javarun

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		RemoveClasses()
		os.Exit(code)
	}))
}

func TestSection(t *testing.T) {
	out := "hello\nRUN a\nx\nPASS a\nRUN b\nFAIL b\n"
	for _, tc := range []struct{ name, want string }{
		{"a", "RUN a\nx\nPASS a\n"},
		{"b", "RUN b\nFAIL b\n"},
		{"c", ""},
	} {
		if got := Section(out, tc.name); got != tc.want {
			t.Errorf("Section(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// needJava skips where Java or the client's jars are not installed (the
// suites fail instead: CI installs them).
func needJava(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %s", tool, InstallHint)
		}
	}
	for _, j := range jars {
		if _, err := os.Stat(j); err != nil {
			t.Skipf("missing %s: %s", j, InstallHint)
		}
	}
}

func TestStart(t *testing.T) {
	needJava(t)
	cp := Classpath(t, "testdata")
	if again := Classpath(t, "./testdata"); again != cp {
		t.Fatalf("second Classpath = %q, want the first compilation's %q", again, cp)
	}
	jvm := JVM{Src: "testdata", Flags: []string{"-Xmx64m", "-XX:TieredStopAtLevel=1"}}
	var mu sync.Mutex
	var lines []string
	p := jvm.Start(t, context.Background(), func(line string) {
		mu.Lock()
		lines = append(lines, line)
		mu.Unlock()
	}, "Lines", "a", "b")
	if err := p.Wait(time.Minute); err != nil {
		t.Fatalf("Lines: %v\n%s", err, p.Output())
	}
	mu.Lock()
	got := strings.Join(lines, "|")
	mu.Unlock()
	if want := "RUN a|PASS a|RUN b|PASS b"; got != want {
		t.Errorf("lines %q, want %q", got, want)
	}
	// Standard error is kept too, in no fixed order with standard output.
	// Standard error's one line may fall between any two of standard
	// output's, which keep their order.
	if out := p.Output(); !strings.Contains(out, "done\n") ||
		!strings.Contains(strings.Replace(out, "done\n", "", 1), "RUN a\nPASS a\nRUN b\nPASS b\n") {
		t.Errorf("output lacks standard output or error:\n%s", out)
	}
	if err := p.AwaitLine("PASS b", time.Second); err != nil {
		t.Errorf("AwaitLine(PASS b) after the exit: %v", err)
	}
	if err := p.AwaitLine("PASS", time.Second); err == nil || !strings.Contains(err.Error(), "without printing PASS") {
		t.Errorf("AwaitLine(PASS) = %v, want an error: no such whole line", err)
	}
	if p.Main() != "Lines" {
		t.Errorf("Main() = %q", p.Main())
	}
}

func TestWaitKills(t *testing.T) {
	needJava(t)
	p := JVM{Src: "testdata"}.Start(t, context.Background(), nil, "Lines", "sleep")
	if err := p.AwaitLine("RUN sleep", 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not print RUN sleep within 300ms") {
		t.Errorf("AwaitLine = %v, want did not print within 300ms", err)
	}
	start := time.Now()
	err := p.Wait(500 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "java Lines killed after 500ms") {
		t.Fatalf("Wait = %v, want killed after 500ms", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Wait took %s", took)
	}
}
