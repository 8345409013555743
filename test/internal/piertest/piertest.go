// Package piertest starts and stops real pier broker processes for the
// cross-process suites under test/ (crash, interop, migrate, openwire,
// security). It owns one thing: the life cycle of a `pier serve` child
// process, by default on a temporary data directory with STOMP (and, on
// request, OpenWire) on a free loopback port; a suite that needs more (TLS
// listeners, a console) writes the configuration itself (Options.Config,
// or a file of its own such as an activemq.xml: Options.ConfigPath) and
// says when the broker is ready (Options.Ready).
//
// The binary is taken from $PIER_BIN; when it is unset the test is skipped
// with a message saying how to build it.
package piertest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ReadyTimeout bounds how long a broker may take to log msg=ready; generous
// because the machine running the suites is shared and loaded.
const ReadyTimeout = 60 * time.Second

// Pier is one broker: a data directory and a STOMP port that survive
// restarts, and at most one running process.
type Pier struct {
	t    testing.TB
	bin  string
	Addr string // STOMP host:port
	// OpenWireAddr is the OpenWire host:port when started with
	// Options.OpenWire, else empty (OpenWire is then switched off, so no
	// suite binds the default 61616).
	OpenWireAddr string
	// DataDir is broker.data_dir (the journal is under it); empty with
	// Options.Config.
	DataDir string
	cfgPath string
	args    []string    // Options.Args
	env     []string    // Options.Env
	label   string      // "pier" or "pier <name>", in messages
	ready   func() bool // Options.Ready; nil: msg=ready in the log

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been waited for
	err  error         // cmd.Wait's result, once done
	log  *syncBuffer   // stderr of every run, concatenated
}

// Bin returns $PIER_BIN, or skips the test when it is not set.
func Bin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("PIER_BIN")
	if bin == "" {
		t.Skip("PIER_BIN is not set: go build -o /tmp/pier ./cmd/pier && PIER_BIN=/tmp/pier go test -tags crossprocess ./test/...")
	}
	return bin
}

// Start writes a configuration (STOMP only, journal store in a temporary
// data directory, on a free port) followed by extraYAML (top-level sections
// such as limits: or policies:), starts pier and waits until it is ready.
// The process is killed when the test ends.
func Start(t testing.TB, extraYAML string) *Pier {
	t.Helper()
	return StartWith(t, Options{Extra: extraYAML})
}

// Options select what StartWith configures beyond Start's defaults.
type Options struct {
	Extra    string // top-level YAML sections appended to the configuration
	OpenWire bool   // also listen for OpenWire on a free loopback port
	// OpenWireAddr is the OpenWire address to listen on (with OpenWire);
	// default a free loopback port.
	OpenWireAddr string
	// Name is broker.name; default "piertest".
	Name string
	// Config, when not empty, is the whole configuration, written as given
	// instead of the one made of the fields above (Name then only labels
	// messages; Addr, OpenWireAddr and DataDir stay empty): for brokers
	// those cannot describe, such as TLS listeners, a console or another
	// store.
	Config string
	// Ready, when set, is polled after every start until it reports true
	// (e.g. a console's /readyz), instead of waiting for msg=ready in the
	// log of that start.
	Ready func() bool
	// ConfigPath, when not empty, is a configuration file the test wrote
	// itself, started as it is: for a file whose name and neighbours
	// matter, such as an activemq.xml with a jetty.xml beside it. Config
	// and the fields that make one are then ignored.
	ConfigPath string
	// Args are more arguments of pier serve, after --config (such as
	// --console HOST:PORT or --property NAME=VALUE).
	Args []string
	// Env are more NAME=VALUE environment variables of pier (such as
	// ACTIVEMQ_DATA), besides the test's own.
	Env []string
}

// StartWith is Start with options; Start(t, extra) is
// StartWith(t, Options{Extra: extra}).
func StartWith(t testing.TB, opts Options) *Pier {
	t.Helper()
	p := &Pier{t: t, bin: Bin(t), log: &syncBuffer{}, label: "pier", ready: opts.Ready}
	if opts.Name != "" {
		p.label += " " + opts.Name
	}
	p.args, p.env = opts.Args, opts.Env
	p.cfgPath = opts.ConfigPath
	if p.cfgPath == "" {
		cfg := opts.Config
		if cfg == "" {
			cfg = p.config(opts)
		}
		p.cfgPath = filepath.Join(t.TempDir(), "pier.yaml")
		if err := os.WriteFile(p.cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", p.label, p.Log())
		}
	})
	p.start()
	return p
}

// config is the configuration Start writes: STOMP on a free port, OpenWire
// if asked, the journal in a new data directory, then opts.Extra.
func (p *Pier) config(opts Options) string {
	p.DataDir = p.t.TempDir()
	p.Addr = FreeAddr(p.t)
	openwire := `""`
	if opts.OpenWire {
		p.OpenWireAddr = opts.OpenWireAddr
		if p.OpenWireAddr == "" {
			p.OpenWireAddr = FreeAddr(p.t)
		}
		openwire = "tcp://" + p.OpenWireAddr
	}
	if opts.Name == "" {
		opts.Name = "piertest"
	}
	return fmt.Sprintf(`broker:
  name: %s
  data_dir: %s
transports:
  openwire: %s
  stomp: stomp://%s
console:
  listen: ""
store:
  kind: journal
  journal:
    dir: %s
%s
`, opts.Name, p.DataDir, openwire, p.Addr, filepath.Join(p.DataDir, "journal"), opts.Extra)
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, and that no earlier call of this process returned: the kernel may
// hand a port it just freed out again (test/migrate's trio once got the
// same port for a console and an OpenWire listener).
func FreeAddr(t testing.TB) string {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, dup := handedOut.LoadOrStore(addr, true); !dup {
			return addr
		}
	}
	t.Fatal("piertest: no fresh loopback port in 100 tries")
	return ""
}

// handedOut holds the addresses FreeAddr returned.
var handedOut sync.Map

func (p *Pier) start() {
	p.t.Helper()
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		p.t.Fatalf("piertest: %s is already running", p.label)
	}
	from := p.log.Len()
	cmd := exec.Command(p.bin, append([]string{"serve", "--config", p.cfgPath}, p.args...)...)
	if len(p.env) > 0 {
		cmd.Env = append(os.Environ(), p.env...)
	}
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		p.t.Fatalf("piertest: start pier: %v", err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	p.mu.Unlock()

	ready := p.ready
	if ready == nil {
		ready = func() bool { return strings.Contains(p.log.From(from), "msg=ready") }
	}
	deadline := time.Now().Add(ReadyTimeout)
	for !ready() {
		select {
		case <-done:
			p.mu.Lock()
			p.cmd = nil
			p.mu.Unlock()
			p.t.Fatalf("piertest: %s exited before ready (%v):\n%s", p.label, p.err, p.log.From(from))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("piertest: %s not ready after %s:\n%s", p.label, ReadyTimeout, p.log.From(from))
		}
	}
}

// Kill sends SIGKILL (a crash) and waits for the process to be gone, also
// when another goroutine killed it first. It is a no-op when pier is not
// running.
func (p *Pier) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil {
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	}
	if done != nil {
		<-done
	}
}

// Stop sends SIGTERM and waits (at most timeout, then kills) for a clean
// exit. It returns the process's exit error: nil for exit status 0.
func (p *Pier) Stop(timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return errors.New("piertest: pier is not running")
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(timeout):
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("piertest: pier did not exit within %s of SIGTERM", timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Restart starts pier again on the same data directory and port, after
// Kill or Stop.
func (p *Pier) Restart() {
	p.t.Helper()
	p.start()
}

// Running reports whether the process is still alive (it has not exited
// on its own).
func (p *Pier) Running() bool {
	p.mu.Lock()
	done := p.done
	running := p.cmd != nil
	p.mu.Unlock()
	if !running {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Log returns everything pier wrote to stdout and stderr so far.
func (p *Pier) Log() string { return p.log.From(0) }

// LogLen is a mark for LogSince: the length of the log so far.
func (p *Pier) LogLen() int { return p.log.Len() }

// LogSince returns what pier wrote after mark (a LogLen).
func (p *Pier) LogSince(mark int) string { return p.log.From(mark) }

// syncBuffer is a bytes.Buffer safe for a writing process and a reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) From(off int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf.Bytes()[off:])
}
