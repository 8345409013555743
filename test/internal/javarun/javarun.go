// Package javarun compiles and runs the Java programs of the cross-process
// suites under test/ (openwire, security) against the ActiveMQ 5.17 JMS
// client as Debian installs it. It owns three things: that client's class
// path and the Debian packages that provide it (InstallHint), one javac run
// per source directory per test process (Classpath, undone by
// RemoveClasses in the suite's TestMain), and `java` child processes whose
// standard output is read line by line (JVM.Start).
//
// The programs speak a small line protocol of their own (READY, ACK n,
// RUN name, PASS name, FAIL name ...); Section cuts one scenario out of
// such an output.
//
// A missing java, javac or jar fails the test naming the packages to
// install; it is not a skip: CI installs them (APT_PACKAGES in
// scripts/test.sh).
package javarun

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallHint names the Debian packages that provide java, javac and the
// jars of the JMS client.
const InstallHint = "apt-get install openjdk-17-jdk-headless libactivemq-java"

// jars is the classpath of the ActiveMQ 5.17 JMS client as Debian installs
// it (package in brackets): the client itself [libactivemq-java], the JMS
// 1.1 API [libgeronimo-jms-1.1-spec-java], the J2EE management API its
// statistics classes use [libgeronimo-j2ee-management-1.1-spec-java],
// hawtbuf [libhawtbuf-java] and slf4j with the no-op binding
// [libslf4j-java]; libactivemq-java depends on all of them.
var jars = []string{
	"/usr/share/java/activemq-client.jar",
	"/usr/share/java/geronimo-jms_1.1_spec.jar",
	"/usr/share/java/geronimo-j2ee-management-1.1-spec.jar",
	"/usr/share/java/hawtbuf.jar",
	"/usr/share/java/slf4j-api.jar",
	"/usr/share/java/slf4j-nop.jar",
}

// compileTimeout bounds one javac run.
const compileTimeout = 2 * time.Minute

// compiled holds the class directories of this process by absolute source
// directory. It is process-wide on purpose: a suite's tests (parallel ones
// included) share one compilation, and TestMain removes it after m.Run.
var compiled struct {
	mu   sync.Mutex
	dirs map[string]*compilation
}

// compilation is the javac run of one source directory.
type compilation struct {
	once sync.Once
	dir  string // the class directory
	err  error
}

// Classpath compiles srcDir/*.java (relative to the test's working
// directory, usually "java") on its first call for srcDir in this process
// and returns the class path to run the programs with: the client's jars
// and the class directory. It fails the test, saying what to install, when
// java, javac or a jar is missing, and with javac's output when the
// sources do not compile.
func Classpath(t testing.TB, srcDir string) string {
	t.Helper()
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (%v): %s", tool, err, InstallHint)
		}
	}
	for _, j := range jars {
		if _, err := os.Stat(j); err != nil {
			t.Fatalf("missing %s: %s", j, InstallHint)
		}
	}
	abs, err := filepath.Abs(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	compiled.mu.Lock()
	if compiled.dirs == nil {
		compiled.dirs = map[string]*compilation{}
	}
	c := compiled.dirs[abs]
	if c == nil {
		c = &compilation{}
		compiled.dirs[abs] = c
	}
	compiled.mu.Unlock()
	c.once.Do(func() { c.dir, c.err = compile(abs) })
	if c.err != nil {
		t.Fatal(c.err)
	}
	return strings.Join(append(jars[:len(jars):len(jars)], c.dir), ":")
}

// compile runs javac on srcDir/*.java into a new temporary directory,
// named after the suite (srcDir's parent), and returns it.
func compile(srcDir string) (string, error) {
	srcs, err := filepath.Glob(filepath.Join(srcDir, "*.java"))
	if err != nil || len(srcs) == 0 {
		return "", fmt.Errorf("no Java sources under %s (%v)", srcDir, err)
	}
	dir, err := os.MkdirTemp("", "pier-"+filepath.Base(filepath.Dir(srcDir))+"-classes-")
	if err != nil {
		return "", err
	}
	args := append([]string{"-encoding", "UTF-8", "-Xlint:-options", "-d", dir, "-cp", strings.Join(jars, ":")}, srcs...)
	ctx, cancel := context.WithTimeout(context.Background(), compileTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "javac", args...).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("javac: %v\n%s", err, out)
	}
	return dir, nil
}

// RemoveClasses removes every class directory Classpath made in this
// process; a suite's TestMain calls it after m.Run.
func RemoveClasses() {
	compiled.mu.Lock()
	defer compiled.mu.Unlock()
	for _, c := range compiled.dirs {
		if c.dir != "" {
			os.RemoveAll(c.dir)
		}
	}
	compiled.dirs = nil
}

// JVM is how a suite runs its programs: where their sources are and the
// options java gets before the class path.
type JVM struct {
	// Src is the directory of the programs' sources, given to Classpath.
	Src string
	// Flags are JVM options such as -Xmx256m, -XX:TieredStopAtLevel=1
	// or -Dname=value.
	Flags []string
}

// Start runs `java Flags... -cp CP main args...`, CP being
// Classpath(t, j.Src). onLine, if not nil, is called from one goroutine
// with every line of the program's standard output. The program is killed
// when ctx is done or the test ends.
func (j JVM) Start(t testing.TB, ctx context.Context, onLine func(string), main string, args ...string) *Proc {
	t.Helper()
	cp := Classpath(t, j.Src)
	full := append(append(j.Flags[:len(j.Flags):len(j.Flags)], "-cp", cp, main), args...)
	cmd := exec.CommandContext(ctx, "java", full...)
	cmd.WaitDelay = 5 * time.Second
	p := &Proc{main: main, cmd: cmd, done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = writerFunc(p.record)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start java %s: %v", main, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			p.record([]byte(line + "\n"))
			if onLine != nil {
				onLine(line)
			}
		}
		io.Copy(io.Discard, stdout) // a line too long for the scanner must not block the program
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// Proc is a running Java program whose output is kept.
type Proc struct {
	main string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer // standard output and error so far
	done chan struct{}
	err  error // Wait's result once done is closed
}

func (p *Proc) record(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Main is the program's main class.
func (p *Proc) Main() string { return p.main }

// Output returns what the program wrote so far, standard output and error.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// AwaitLine waits at most within until the program has printed line (a
// whole line, such as READY), and fails sooner if the program exits
// without printing it.
func (p *Proc) AwaitLine(line string, within time.Duration) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	printed := func() bool { return strings.Contains("\n"+p.Output(), "\n"+line+"\n") }
	for !printed() {
		select {
		case <-p.done:
			if printed() {
				return nil
			}
			return fmt.Errorf("java %s exited (%v) without printing %s", p.main, p.err, line)
		case <-deadline.C:
			return fmt.Errorf("java %s did not print %s within %s", p.main, line, within)
		case <-tick.C:
		}
	}
	return nil
}

// Wait waits for the program to exit, at most timeout (then kills it), and
// returns its exit error.
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("java %s killed after %s", p.main, timeout)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// Section returns the output of one scenario of a program that prints
// "RUN name" before each: its RUN line up to the next RUN line (or the
// end), or "" when it never started.
func Section(out, name string) string {
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
