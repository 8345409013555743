//go:build crossprocess

package openwire

import (
	"context"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// TestCrossProtocol: a JMS client and Debian's stomp.py exchange messages
// through one broker, with headers mapped as ActiveMQ maps them.
func TestCrossProtocol(t *testing.T) {
	if target(t) != "pier" {
		t.Skip("the ActiveMQ launcher opens no STOMP port")
	}
	p := piertest.StartWith(t, piertest.Options{OpenWire: true})
	_, stompPort, _ := strings.Cut(p.Addr, ":")
	url := "tcp://" + p.OpenWireAddr
	ctx := context.Background()

	// JMS → STOMP: text arrives without content-length, bytes with it.
	if err := startJava(t, ctx, nil, "CrossProtocol", "send", url, "cross.jms").Wait(time.Minute); err != nil {
		t.Fatalf("JMS send: %v", err)
	}
	got := strings.Split(strings.TrimSpace(stompPy(t, "recv", stompPort, "cross.jms")), "\n")
	if len(got) != 2 {
		t.Fatalf("STOMP side got %q", got)
	}
	text := hex.EncodeToString([]byte("jms text \u2713 \U0001F600"))
	want := []string{
		"MSG body=" + text + " content-length=None corr=corr-1 type=greeting color=red count=7 ok=true persistent=true priority=6",
		"MSG body=000102ff content-length=4 corr=None type=None color=None count=None ok=None persistent=true priority=4",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("STOMP message %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}

	// STOMP → JMS: content-length makes a BytesMessage, amq-msg-type:text
	// overrides it; STOMP sends are non-persistent unless they say so.
	stompPy(t, "send", stompPort, "cross.stomp")
	jms := startJava(t, ctx, nil, "CrossProtocol", "recv", url, "cross.stomp", "3")
	if err := jms.Wait(time.Minute); err != nil {
		t.Fatalf("JMS receive: %v\n%s", err, jms.Output())
	}
	var lines []string
	for _, l := range strings.Split(jms.Output(), "\n") {
		if strings.HasPrefix(l, "MSG ") {
			lines = append(lines, l)
		}
	}
	wantJMS := []string{
		"MSG kind=text body=" + hex.EncodeToString([]byte("stomp text \u2713")) + " corr=c2 color=blue persistent=true priority=4",
		"MSG kind=bytes body=0001fe corr=null color=green persistent=false priority=4",
		"MSG kind=text body=" + hex.EncodeToString([]byte("forced text")) + " corr=null color=black persistent=false priority=4",
	}
	if len(lines) != len(wantJMS) {
		t.Fatalf("JMS side got %q", lines)
	}
	for i := range wantJMS {
		if lines[i] != wantJMS[i] {
			t.Errorf("JMS message %d:\n got %s\nwant %s", i, lines[i], wantJMS[i])
		}
	}
}

// stompPy runs py/cross.py with Debian's python (which has stomp.py).
func stompPy(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{filepath.Join("py", "cross.py")}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cross.py %v: %v\n%s", args, err, out)
	}
	return string(out)
}
