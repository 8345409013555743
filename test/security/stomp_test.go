//go:build crossprocess

package security

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/piertest"
)

// python is Debian's interpreter, which sees python3-stomp.
const python = "/usr/bin/python3"

// TestStomp runs the stomp.py scripts of py/ against a secured broker:
// login.py (login/passcode accepted; wrong passcode, unknown user and no
// credentials refused with ActiveMQ's words) and denied.py (a refused
// SEND and SUBSCRIBE get an ERROR and the connection keeps working).
func TestStomp(t *testing.T) {
	checkStompPy(t)
	p, _, addr := securePier(t, "stomp")
	for _, script := range []string{"login.py", "denied.py"} {
		t.Run(strings.TrimSuffix(script, ".py"), func(t *testing.T) {
			runPy(t, script, port(addr))
		})
	}
	if countLines(p.Log(), "msg=\"login refused\"", "proto=stomp", "user=app") == 0 {
		t.Errorf("the broker logged no refused STOMP login of app")
	}
}

// TestStompTLS runs py/tls.py against a stomp+ssl:// listener: stomp.py's
// set_ssl with the broker CA connects and logs in; with the client CA
// (which did not sign the broker's certificate) it must not connect.
func TestStompTLS(t *testing.T) {
	checkStompPy(t)
	f := setup(t)
	_, _, addr := tlsPier(t, "stomp-tls")
	runPy(t, "tls.py", port(addr), f.certs.CA, f.certs.ClientCA)
}

// checkStompPy fails when python3-stomp is missing (scripts/test.sh
// installs it).
func checkStompPy(t *testing.T) {
	t.Helper()
	piertest.Bin(t)
	out, err := exec.Command(python, "-c", "import stomp; print(stomp.__version__)").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import stomp (apt-get install python3-stomp): %v\n%s", python, err, out)
	}
}

// runPy runs a script of py/ with the users' passwords in PIER_USERS and
// fails unless it prints PASS and exits 0.
func runPy(t *testing.T, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := filepath.Abs("py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join(dir, script)}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "PIER_USERS="+javaUsers())
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil || !strings.Contains(out.String(), "PASS") {
		t.Fatalf("%s: %v\n%s", script, err, out.String())
	}
	t.Logf("%s", strings.TrimSpace(out.String()))
}

// port returns the port of host:port.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// recordingCache counts the TLS sessions a server offered for resumption.
type recordingCache struct {
	tls.ClientSessionCache
	puts int
}

func (c *recordingCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.puts++
	}
	c.ClientSessionCache.Put(key, cs)
}

// The STOMP listener offers no TLS 1.3 session tickets (Debian's stomp.py
// loses its CONNECT when one arrives: stompTLS in cmd/pier); the OpenWire
// listener does, for cheaper reconnects. Without the first, TestStompTLS
// fails now and then under load; this pins both.
func TestSessionTickets(t *testing.T) {
	f := setup(t)
	_, openwire, stomp := tlsPier(t, "tickets")
	for _, c := range []struct {
		name, addr string
		hello      []byte
		want       bool
	}{
		{"stomp", stomp, []byte("CONNECT\naccept-version:1.2\nhost:x\nlogin:app\npasscode:" + passwords["app"] + "\n\n\x00"), false},
		{"openwire", openwire, nil, true},
	} {
		cache := &recordingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		conn, err := tls.Dial("tcp", c.addr, &tls.Config{RootCAs: f.ca, ClientSessionCache: cache, MinVersion: tls.VersionTLS13})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.hello != nil {
			if _, err := conn.Write(c.hello); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		// The first byte of the broker's first frame (CONNECTED, or
		// OpenWire's WireFormatInfo): a ticket comes before it.
		if _, err := conn.Read(make([]byte, 1)); err != nil {
			t.Fatalf("%s: reading the broker's first frame: %v", c.name, err)
		}
		conn.Close()
		if got := cache.puts > 0; got != c.want {
			t.Errorf("%s listener offered session tickets: %v, want %v", c.name, got, c.want)
		}
	}
}
