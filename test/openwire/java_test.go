//go:build crossprocess

package openwire

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

// jars is the classpath of the ActiveMQ 5.17 JMS client as Debian installs
// it (package in brackets): the client itself [libactivemq-java], the JMS
// 1.1 API [libgeronimo-jms-1.1-spec-java], the J2EE management API its
// statistics classes use [libgeronimo-j2ee-management-1.1-spec-java], hawtbuf
// [libhawtbuf-java] and slf4j with the no-op binding [libslf4j-java].
var jars = []string{
	"/usr/share/java/activemq-client.jar",
	"/usr/share/java/geronimo-jms_1.1_spec.jar",
	"/usr/share/java/geronimo-j2ee-management-1.1-spec.jar",
	"/usr/share/java/hawtbuf.jar",
	"/usr/share/java/slf4j-api.jar",
	"/usr/share/java/slf4j-nop.jar",
}

// installHint names the Debian packages the suite needs.
const installHint = "apt-get install openjdk-17-jdk-headless libactivemq-java" +
	" (and activemq for OPENWIRE_TARGET=activemq)"

// classes is the directory javac wrote the programs of java/ to, once per
// run; TestMain removes it.
var classes struct {
	once sync.Once
	dir  string
	err  error
}

// classpath compiles java/*.java on first use and returns the classpath to
// run them with. It fails the test, saying what to install, when Java or a
// jar is missing.
func classpath(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (%v): %s", tool, err, installHint)
		}
	}
	for _, j := range jars {
		if _, err := os.Stat(j); err != nil {
			t.Fatalf("missing %s: %s", j, installHint)
		}
	}
	classes.once.Do(func() {
		classes.dir, classes.err = compile()
	})
	if classes.err != nil {
		t.Fatal(classes.err)
	}
	return strings.Join(append(jars[:len(jars):len(jars)], classes.dir), ":")
}

func compile() (string, error) {
	srcs, err := filepath.Glob(filepath.Join("java", "*.java"))
	if err != nil || len(srcs) == 0 {
		return "", fmt.Errorf("no Java sources under java/ (%v)", err)
	}
	dir, err := os.MkdirTemp("", "pier-openwire-classes-")
	if err != nil {
		return "", err
	}
	args := append([]string{"-encoding", "UTF-8", "-d", dir, "-cp", strings.Join(jars, ":")}, srcs...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "javac", args...).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("javac: %v\n%s", err, out)
	}
	return dir, nil
}

// javaProc is a running Java program of java/ whose stdout is read line by
// line.
type javaProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer // stdout and stderr so far
	done chan struct{}
	err  error // Wait's result once done is closed
}

// startJava starts `java -cp CP main args...`, calling onLine (if not nil)
// with each line of its standard output from one goroutine; the program is
// killed when the test ends or ctx is done.
func startJava(t *testing.T, ctx context.Context, onLine func(string), main string, args ...string) *javaProc {
	t.Helper()
	cp := classpath(t)
	full := append([]string{"-cp", cp, "-Xmx256m", "-XX:TieredStopAtLevel=1", main}, args...)
	cmd := exec.CommandContext(ctx, "java", full...)
	cmd.WaitDelay = 5 * time.Second
	p := &javaProc{cmd: cmd, done: make(chan struct{})}
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
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := sc.Text()
			p.record([]byte(line + "\n"))
			if onLine != nil {
				onLine(line)
			}
		}
		io.Copy(io.Discard, stdout)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *javaProc) record(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output returns what the program wrote so far.
func (p *javaProc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Wait waits for the program to exit, at most timeout (then kills it), and
// returns its exit error.
func (p *javaProc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("killed after %s", timeout)
	}
	return p.err
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
