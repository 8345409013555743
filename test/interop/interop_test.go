//go:build crossprocess

// Package interop runs third-party STOMP clients against a real pier
// process: the Python scripts in py/ use Debian's stomp.py (python3-stomp,
// run with /usr/bin/python3) through its Connection10, Connection11 and
// Connection12 classes, plus raw sockets for malformed input and silent
// heart-beat clients. Each case starts its own broker; a script prints
// PASS and exits 0 on success.
package interop

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// python is Debian's interpreter, which sees the python3-stomp package
// (the first python3 on PATH may be another installation).
const python = "/usr/bin/python3"

// scriptTimeout bounds one script run; the scripts bound each wait and
// have their own watchdog, this is the last resort.
const scriptTimeout = 3 * time.Minute

var all = []string{"1.0", "1.1", "1.2"}

func TestInterop(t *testing.T) {
	checkStompPy(t)
	cases := []struct {
		script   string
		versions []string
		config   string // extra YAML for the broker
	}{
		{script: "queues.py", versions: all},
		{script: "topics.py", versions: all},
		{script: "durable.py", versions: all},
		{script: "transactions.py", versions: all},
		{script: "redelivery.py", versions: all},
		{script: "nack.py", versions: []string{"1.1", "1.2"}},
		{script: "maxredeliveries.py", versions: []string{"1.1", "1.2"},
			config: "policies:\n  redelivery:\n    max_redeliveries: 2\n"},
		{script: "binary.py", versions: all},
		{script: "escaping.py", versions: []string{"1.1", "1.2"}},
		{script: "receipts.py", versions: all},
		{script: "heartbeats.py", versions: []string{"1.1", "1.2"}},
		{script: "tempqueue.py", versions: []string{"1.1", "1.2"}},
		{script: "malformed.py", versions: []string{"1.2"},
			config: "limits:\n  max_frame_size: 1KiB\n"},
	}
	for _, tc := range cases {
		for _, v := range tc.versions {
			name := strings.TrimSuffix(tc.script, ".py") + "/" + v
			t.Run(name, func(t *testing.T) {
				p := piertest.Start(t, tc.config)
				runScript(t, p, tc.script, v)
				if !p.Running() {
					t.Fatalf("pier is no longer running after %s", tc.script)
				}
				if err := p.Stop(30 * time.Second); err != nil {
					t.Errorf("pier did not stop cleanly after %s: %v", tc.script, err)
				}
			})
		}
	}
}

// checkStompPy fails (not skips: scripts/test.sh installs it) when
// python3-stomp is missing.
func checkStompPy(t *testing.T) {
	t.Helper()
	piertest.Bin(t)
	out, err := exec.Command(python, "-c", "import stomp; print(stomp.__version__)").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import stomp (apt-get install python3-stomp): %v\n%s", python, err, out)
	}
	t.Logf("stomp.py %s", strings.TrimSpace(string(out)))
}

func runScript(t *testing.T, p *piertest.Pier, script, version string) {
	t.Helper()
	_, port, _ := strings.Cut(p.Addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	dir, err := filepath.Abs("py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, python, filepath.Join(dir, script), port, version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: killed after %s\n%s", script, version, scriptTimeout, out.String())
	}
	if err != nil || !strings.Contains(out.String(), "PASS") {
		t.Fatalf("%s %s: %v\n%s", script, version, err, out.String())
	}
	t.Logf("%s", strings.TrimSpace(out.String()))
}
