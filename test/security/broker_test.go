//go:build crossprocess

package security

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

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

// pierProc is one broker run by piertest (a configuration, a data
// directory and ports that survive restarts: Kill, Restart, Log, LogLen,
// LogSince) with a console on a free port, over HTTPS when the spec has a
// CA, through which it is waited for (/readyz 200).
type pierProc struct {
	*piertest.Pier
	console string // scheme://host:port of console.listen
	http    *http.Client
}

// startPier writes spec's configuration, starts pier and waits for /readyz
// 200. The process is killed when the test ends, and its output logged if
// the test failed.
func startPier(t *testing.T, spec brokerSpec) *pierProc {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "sec"
	}
	if spec.Store == "" {
		spec.Store = "store:\n  kind: journal"
	}
	console := piertest.FreeAddr(t)
	p := &pierProc{console: "http://" + console}
	tr := &http.Transport{DisableKeepAlives: true}
	if spec.CA != nil {
		p.console = "https://" + console
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
`, spec.Name, t.TempDir(), spec.OpenWire, spec.STOMP, console, spec.Store, spec.Extra)
	p.Pier = piertest.StartWith(t, piertest.Options{Name: spec.Name, Config: cfg, Ready: p.ready})
	return p
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
	cmd := exec.CommandContext(ctx, piertest.Bin(t), "serve", "--config", path)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("still running after %s: %w", within, ctx.Err())
	}
	return string(out), err
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
