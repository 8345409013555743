//go:build crossprocess

package interop

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// TestSilentClientGetsError checks what the broker's session code means to
// do when a client that promised heart-beats goes silent: send an ERROR
// ("no data received within the heart-beat interval") and close.
func TestSilentClientGetsError(t *testing.T) {
	p := piertest.Start(t, "")
	nc, err := net.DialTimeout("tcp", p.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, "CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:500,0\n\n\x00"); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	all, err := io.ReadAll(bufio.NewReader(nc))
	if err != nil {
		t.Fatalf("socket not closed within 20 s: %v (got %q)", err, all)
	}
	frames := strings.Split(string(all), "\x00")
	if len(frames) < 2 || !strings.HasPrefix(strings.TrimLeft(frames[1], "\r\n"), "ERROR") {
		t.Errorf("silent client: want CONNECTED then ERROR before the close, got %q", all)
	}
}
