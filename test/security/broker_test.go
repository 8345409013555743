//go:build crossprocess

package security

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a broker may take to answer /readyz 200;
// generous because the machine running the suites is shared.
const readyTimeout = 60 * time.Second

// brokerSpec is what a test asks of one `pier serve` process. Every
// listener address is host:port on loopback unless the test says otherwise.
type brokerSpec struct {
	Name string
	// OpenWire and STOMP are transport URLs (tcp://..., ssl://...,
	// stomp://..., stomp+ssl://...); empty switches the transport off.
	OpenWire, STOMP string
	// Extra is appended to the configuration: top-level sections such as
	// security:, tls:, network_connectors:.
	Extra string
	// Store replaces the store section (default: the journal).
	Store string
	// CA, when set, is the pool the console's HTTPS certificate is
	// verified with (a broker with a tls: section serves HTTPS).
	CA *x509.CertPool
}

// pierProc is one broker: a configuration, a data directory and a console
// port that survive restarts, and at most one running process.
type pierProc struct {
	t       *testing.T
	spec    brokerSpec
	dataDir string
	cfgPath string
	console string // host:port of console.listen
	http    *http.Client
	log     lockedBuffer // output of every run

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has been waited for
	err  error         // cmd.Wait's result once done
	runs int
}

// startPier writes spec's configuration, starts pier and waits for /readyz
// 200. The process is killed when the test ends, and its output logged if
// the test failed.
func startPier(t *testing.T, spec brokerSpec) *pierProc {
	t.Helper()
	p := newPier(t, spec)
	p.start()
	return p
}

// newPier prepares a broker without starting it.
func newPier(t *testing.T, spec brokerSpec) *pierProc {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "sec"
	}
	if spec.Store == "" {
		spec.Store = "store:\n  kind: journal"
	}
	p := &pierProc{t: t, spec: spec, dataDir: t.TempDir(), console: freeAddr(t)}
	scheme := "http"
	tr := &http.Transport{DisableKeepAlives: true}
	if spec.CA != nil {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{RootCAs: spec.CA}
	}
	p.http = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	cfg := fmt.Sprintf(`broker:
  name: %s
  data_dir: %s
transports:
  openwire: %q
  stomp: %q
console:
  listen: %s
%s
%s
`, spec.Name, p.dataDir, spec.OpenWire, spec.STOMP, p.console, spec.Store, spec.Extra)
	p.cfgPath = filepath.Join(t.TempDir(), spec.Name+".yaml")
	if err := os.WriteFile(p.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p.console = scheme + "://" + p.console
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("pier %s output:\n%s", spec.Name, tail(p.Log(), 16<<10))
		}
	})
	return p
}

// start runs the process and waits until /readyz answers 200; it fails
// the test if the process exits first or readiness takes too long.
func (p *pierProc) start() {
	p.t.Helper()
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		p.t.Fatalf("pier %s is already running", p.spec.Name)
	}
	p.runs++
	fmt.Fprintf(&p.log, "=== run %d of %s\n", p.runs, p.spec.Name)
	cmd := exec.Command(pierBin(p.t), "serve", "--config", p.cfgPath)
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		p.t.Fatalf("start pier %s: %v", p.spec.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	deadline := time.Now().Add(readyTimeout)
	for {
		if p.ready() {
			return
		}
		select {
		case <-done:
			p.mu.Lock()
			p.cmd = nil
			err := p.err
			p.mu.Unlock()
			p.t.Fatalf("pier %s exited before it was ready (%v):\n%s", p.spec.Name, err, tail(p.Log(), 8<<10))
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("pier %s: /readyz not 200 after %s:\n%s", p.spec.Name, readyTimeout, tail(p.Log(), 8<<10))
		}
	}
}

// ready reports whether the console answers /readyz with 200.
func (p *pierProc) ready() bool {
	resp, err := p.http.Get(p.console + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill sends SIGKILL and waits until the process is gone; a no-op when it
// is not running.
func (p *pierProc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Restart starts the process again on the same configuration and data.
func (p *pierProc) Restart() {
	p.t.Helper()
	p.start()
}

// Log returns what every run of the process wrote so far.
func (p *pierProc) Log() string { return p.log.String() }

// LogLen is a mark for LogSince.
func (p *pierProc) LogLen() int { return p.log.Len() }

// LogSince returns the output written after mark.
func (p *pierProc) LogSince(mark int) string { return p.log.String()[mark:] }

// Get fetches path from the console, with basic authentication when user
// is not empty, and returns the status code and body.
func (p *pierProc) Get(path, user, password string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, p.console+path, nil)
	if err != nil {
		return 0, "", err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), err
}

// waitLog waits until the log written after mark contains every one of
// parts on one line, and returns that line.
func (p *pierProc) waitLog(mark int, within time.Duration, parts ...string) (string, bool) {
	deadline := time.Now().Add(within)
	for {
		for line := range strings.SplitSeq(p.LogSince(mark), "\n") {
			if containsAll(line, parts...) {
				return line, true
			}
		}
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// countLines counts the lines of s containing every one of parts.
func countLines(s string, parts ...string) int {
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if containsAll(line, parts...) {
			n++
		}
	}
	return n
}

func containsAll(s string, parts ...string) bool {
	for _, x := range parts {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// runPier runs `pier serve` on a configuration the test wrote and
// returns its output and exit error, for configurations pier must refuse;
// it kills the process after within.
func runPier(t *testing.T, cfg string, within time.Duration) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pier.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, pierBin(t), "serve", "--config", path)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("still running after %s: %w", within, ctx.Err())
	}
	return string(out), err
}

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freePort is freeAddr's port.
func freePort(t *testing.T) string {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	return port
}

// pierBin returns $PIER_BIN, or skips the test when it is not set.
func pierBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("PIER_BIN")
	if bin == "" {
		t.Skip("PIER_BIN is not set: go build -o /tmp/pier ./cmd/pier && PIER_BIN=/tmp/pier go test -tags crossprocess ./test/security/")
	}
	return bin
}

// lockedBuffer is a bytes.Buffer shared by a writing process and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
