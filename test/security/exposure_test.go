//go:build crossprocess

package security

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/piertest"
)

// TestExposure: the secure defaults of `pier serve`. A client listener
// or the console bound beyond loopback without users makes pier exit
// non-zero naming security.users and security.allow_anonymous; with
// allow_anonymous: true, or with users, it starts. A replication port
// beyond loopback without store.replicated.tls exits non-zero naming it
// and store.replicated.insecure; with insecure: true, or with mutual TLS
// (certificates from `pier certs`), a group of one starts.
func TestExposure(t *testing.T) {
	f := setup(t)
	anyAddr := func() string { return "0.0.0.0:" + port(piertest.FreeAddr(t)) }
	refused := []struct {
		name, transports, console, store string
		want                             []string
	}{
		{name: "openwire", transports: "  openwire: tcp://" + anyAddr(),
			want: []string{"transports.openwire", "beyond loopback", "security.users", "security.allow_anonymous: true"}},
		{name: "stomp", transports: "  stomp: stomp://" + anyAddr(),
			want: []string{"transports.stomp", "security.users", "security.allow_anonymous: true"}},
		{name: "console", transports: "  openwire: tcp://" + piertest.FreeAddr(t), console: anyAddr(),
			want: []string{"console.listen", "security.users", "security.allow_anonymous: true"}},
		{name: "replicated", transports: "  openwire: tcp://" + piertest.FreeAddr(t), store: replicatedStore(anyAddr(), ""),
			want: []string{"store.replicated.bind", "beyond loopback", "store.replicated.tls", "store.replicated.insecure: true"}},
	}
	for _, tc := range refused {
		t.Run("refused-"+tc.name, func(t *testing.T) {
			console := tc.console
			if console == "" {
				console = piertest.FreeAddr(t)
			}
			store := tc.store
			if store == "" {
				store = "store:\n  kind: journal\n"
			}
			cfg := fmt.Sprintf("broker:\n  name: exposed\n  data_dir: %s\ntransports:\n%s\nconsole:\n  listen: %s\n%s",
				t.TempDir(), tc.transports, console, store)
			out, err := runPier(t, cfg, 30*time.Second)
			if _, exited := err.(*exec.ExitError); !exited {
				t.Fatalf("pier serve did not exit with an error (%v):\n%s", err, tail(out, 4<<10))
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("the refusal does not mention %q:\n%s", want, out)
				}
			}
			t.Logf("%v: %s", err, strings.TrimSpace(out))
		})
	}

	// The positive controls: the same binds, allowed.
	t.Run("allow-anonymous", func(t *testing.T) {
		addr := anyAddr()
		startPier(t, brokerSpec{Name: "anonymous", OpenWire: "tcp://" + addr, STOMP: "stomp://" + anyAddr(),
			Extra: "security:\n  allow_anonymous: true\n"})
		// Anyone who reaches it gets in: a client without credentials,
		// through an address of this machine beyond loopback if it has one.
		host := outsideIP(t)
		c := dialGo(t, "tcp://"+net.JoinHostPort(host, port(addr)), client.Options{})
		s, err := c.Session(testContext(t), client.AutoAck)
		if err != nil {
			t.Fatal(err)
		}
		goRoundTrip(t, s, "anonymous.q", "from anyone at "+host)
	})
	t.Run("users", func(t *testing.T) {
		startPier(t, brokerSpec{Name: "users", OpenWire: "tcp://" + anyAddr(), Extra: f.securityYAML()})
	})
	t.Run("replicated-insecure", func(t *testing.T) {
		startPier(t, brokerSpec{Name: "insecure", OpenWire: "tcp://" + piertest.FreeAddr(t), Store: replicatedStore(anyAddr(), "    insecure: true\n")})
	})
	t.Run("replicated-tls", func(t *testing.T) {
		dir := t.TempDir()
		if out, err := exec.Command(piertest.Bin(t), "certs", "--dir", dir, "a").CombinedOutput(); err != nil {
			t.Fatalf("pier certs: %v\n%s", err, out)
		}
		tls := fmt.Sprintf("    tls:\n      cert_file: %s\n      key_file: %s\n      ca_file: %s\n",
			filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"), filepath.Join(dir, "group-ca.crt"))
		startPier(t, brokerSpec{Name: "mutual", OpenWire: "tcp://" + piertest.FreeAddr(t), Store: replicatedStore(anyAddr(), tls)})
	})
}

// replicatedStore is the store section of a replicated group of one bound
// to bind (host:port), with extra keys under store.replicated.
func replicatedStore(bind, extra string) string {
	_, port, _ := strings.Cut(bind, ":")
	return fmt.Sprintf("store:\n  kind: replicated\n  replicated:\n    node_id: a\n    bind: tcp://%s\n%s    peers:\n      a: tcp://127.0.0.1:%s\n",
		bind, extra, port)
}

// outsideIP returns an IPv4 address of this machine beyond loopback, or
// 127.0.0.1 (logged) when it has none.
func outsideIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	t.Logf("no address beyond loopback (%v): connecting through 127.0.0.1", err)
	return "127.0.0.1"
}
