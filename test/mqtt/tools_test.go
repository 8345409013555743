//go:build crossprocess

package mqtt

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// wait bounds every wait for something that should happen: generous,
// since the machine is shared and loaded; nothing is timed.
const wait = 30 * time.Second

// program is a client program (mosquitto_sub, a Python script) running in
// the background, its output (standard output and error) written to a
// file. It is killed when the test ends.
type program struct {
	name string
	cmd  *exec.Cmd
	out  string // the output's file
	done chan struct{}
	err  error // Wait's result, once done is closed
}

// start runs name with args in the background.
func start(t *testing.T, name string, args ...string) *program {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	f, err := os.CreateTemp(t.TempDir(), "output")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child has its own descriptor
	p := &program{name: filepath.Base(name), cmd: cmd, out: f.Name(), done: make(chan struct{})}
	switch {
	case name == python && len(args) > 0:
		p.name = filepath.Base(args[0])
	case name == "stdbuf" && len(args) > 1:
		p.name = args[1]
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s %s output:\n%s", p.name, strings.Join(args, " "), p.output())
		}
	})
	return p
}

// runProgram runs name with args to its end (at most twice wait) and
// returns its output and exit error.
func runProgram(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	return runInput(t, "", name, args...)
}

// runInput is runProgram with input as the program's standard input.
func runInput(t *testing.T, input, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%s killed after %s: %w", name, 2*wait, ctx.Err())
	}
	return string(out), err
}

// kill sends SIGKILL and waits for the program to be gone.
func (p *program) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *program) output() string {
	b, _ := os.ReadFile(p.out)
	return string(b)
}

// exited waits at most within for the program to exit and returns its
// exit error.
func (p *program) exited(within time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		return fmt.Errorf("%s still running after %s; output:\n%s", p.name, within, p.output())
	}
}

// await waits at most within until the program has printed a line
// containing s; an error if it exits or the time runs out first.
func (p *program) await(s string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for !strings.Contains(p.output(), s) {
		select {
		case <-p.done:
			if strings.Contains(p.output(), s) {
				return nil
			}
			return fmt.Errorf("%s exited (%v) without printing %q; output:\n%s", p.name, p.err, s, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not print %q within %s; output:\n%s", p.name, s, within, p.output())
		}
	}
	return nil
}

// lines returns the program's output lines that start with prefix, with
// the prefix cut off.
func (p *program) lines(prefix string) []string {
	var out []string
	for l := range strings.SplitSeq(p.output(), "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			out = append(out, rest)
		}
	}
	return out
}

// mosquitto is how the mosquitto tools reach a broker: host, port and
// protocol version flags, and TLS or credentials when set.
type mosquitto struct {
	addr    string // host:port
	version string // mqttv311 or mqttv5
	extra   []string
}

// args returns the connection flags followed by more.
func (m mosquitto) args(more ...string) []string {
	host, port, _ := strings.Cut(m.addr, ":")
	return append(append([]string{"-h", host, "-p", port, "-V", m.version}, m.extra...), more...)
}

// sub starts mosquitto_sub with debug output (which shows each PUBLISH's
// DUP, QoS and RETAIN flags) and every message printed as
// "MSG topic qos retain payload"; it waits for the SUBACK.
func (m mosquitto) sub(t *testing.T, more ...string) *program {
	t.Helper()
	// stdbuf: its output is a pipe, which stdio would buffer whole.
	args := append([]string{"-oL", "mosquitto_sub"}, m.args(append([]string{"-d", "-F", "MSG %t %q %r %p"}, more...)...)...)
	p := start(t, "stdbuf", args...)
	if err := p.await("Subscribed (mid:", wait); err != nil {
		t.Fatal(err)
	}
	return p
}

// eachVersion runs f as a subtest per protocol version, named as
// mosquitto names it (mqttv311, mqttv5), with the mosquitto flags for b
// and the codec's protocol level.
func eachVersion(t *testing.T, b *broker, f func(t *testing.T, m mosquitto, level byte)) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) { f(t, mosquitto{addr: b.MQTT, version: v.name}, v.level) })
	}
}

// versions are the protocol versions, as mosquitto names them and as
// CONNECT's protocol level.
var versions = []struct {
	name  string
	level byte
}{{"mqttv311", packet.Version311}, {"mqttv5", packet.Version5}}

// pub runs mosquitto_pub to its end; a failure fails the test.
func (m mosquitto) pub(t *testing.T, more ...string) {
	t.Helper()
	if out, err := runProgram(t, "mosquitto_pub", m.args(more...)...); err != nil {
		t.Fatalf("mosquitto_pub %s: %v\n%s", strings.Join(more, " "), err, out)
	}
}

// pyScript is the path of a script in py/.
func pyScript(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("py", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
