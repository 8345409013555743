//go:build crossprocess

package security

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// jmsJars is the ActiveMQ 5.17 JMS client as Debian installs it: the
// client [libactivemq-java], the JMS 1.1 API, the J2EE management API its
// statistics use, hawtbuf and slf4j with the no-op binding.
var jmsJars = []string{
	"/usr/share/java/activemq-client.jar",
	"/usr/share/java/geronimo-jms_1.1_spec.jar",
	"/usr/share/java/geronimo-j2ee-management-1.1-spec.jar",
	"/usr/share/java/hawtbuf.jar",
	"/usr/share/java/slf4j-api.jar",
	"/usr/share/java/slf4j-nop.jar",
}

const javaHint = "apt-get install openjdk-17-jdk-headless libactivemq-java"

// javaClasses is the one compilation of java/*.java of the run.
var javaClasses struct {
	once sync.Once
	cp   string
	err  error
}

// javaClasspath compiles java/ on first use (into the fixture directory)
// and returns the classpath to run the programs with.
func javaClasspath(t *testing.T) string {
	t.Helper()
	f := setup(t)
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (%v): %s", tool, err, javaHint)
		}
	}
	for _, j := range jmsJars {
		if _, err := os.Stat(j); err != nil {
			t.Fatalf("missing %s: %s", j, javaHint)
		}
	}
	javaClasses.once.Do(func() {
		javaClasses.cp, javaClasses.err = compileJava(filepath.Join(f.dir, "classes"))
	})
	if javaClasses.err != nil {
		t.Fatal(javaClasses.err)
	}
	return javaClasses.cp
}

func compileJava(out string) (string, error) {
	srcs, err := filepath.Glob(filepath.Join("java", "*.java"))
	if err != nil || len(srcs) == 0 {
		return "", fmt.Errorf("no Java sources in java/ (%v)", err)
	}
	jars := strings.Join(jmsJars, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"-encoding", "UTF-8", "-Xlint:-options", "-d", out, "-cp", jars}, srcs...)
	if b, err := exec.CommandContext(ctx, "javac", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("javac: %v\n%s", err, b)
	}
	return jars + ":" + out, nil
}

// javaRun is one running Java program whose output is kept and whose
// standard output lines are handed to a callback.
type javaRun struct {
	name string
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	err  error // Wait's result once done is closed
}

// startJava runs `java [props...] -cp CP main args...`. props are -D
// options. onLine, if not nil, is called from one goroutine with every
// line of standard output. The program is killed when the test ends.
func startJava(t *testing.T, onLine func(string), props []string, main string, args ...string) *javaRun {
	t.Helper()
	cp := javaClasspath(t)
	full := append([]string{"-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"}, props...)
	full = append(full, "-cp", cp, main)
	full = append(full, args...)
	cmd := exec.Command("java", full...)
	r := &javaRun{name: main, cmd: cmd, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &r.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("java %s: %v", main, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			r.out.Write([]byte(sc.Text() + "\n"))
			if onLine != nil {
				onLine(sc.Text())
			}
		}
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.done
	})
	return r
}

// Wait waits at most timeout for the program to exit (then kills it) and
// returns its exit error.
func (r *javaRun) Wait(timeout time.Duration) error {
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		<-r.done
		return fmt.Errorf("java %s killed after %s", r.name, timeout)
	}
}

// Output is what the program wrote so far (standard output and error).
func (r *javaRun) Output() string { return r.out.String() }

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
			part := scenarioOutput(out, name)
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

// scenarioOutput returns the lines from "RUN name" to the next RUN line.
func scenarioOutput(out, name string) string {
	i := strings.Index(out, "RUN "+name+"\n")
	if i < 0 {
		return ""
	}
	part := out[i:]
	if j := strings.Index(part[1:], "\nRUN "); j >= 0 {
		part = part[:j+2]
	}
	return part
}

// javaUsers is the users' credentials for -Dpier.users: name:password,...
func javaUsers() string {
	var b []string
	for _, u := range users {
		b = append(b, u+":"+passwords[u])
	}
	return strings.Join(b, ",")
}
