//go:build crossprocess

// Package security is the cross-process suite of Pier's security: real
// `pier serve` processes ($PIER_BIN) with users, groups, authorization
// entries and TLS, used by the clients people run against ActiveMQ:
//
//   - the ActiveMQ 5.17 JMS client (java/, compiled once per run with
//     javac against Debian's libactivemq-java): logins refused with
//     JMSSecurityException, grants per action (send, consume, browse,
//     create) on a connection that keeps working, composite destinations,
//     other users' temporary queues, advisories, JMSXUserID, ssl:// with a
//     keytool truststore and with a client certificate keystore, and a
//     failover client re-authenticating across a kill -9 of the broker;
//   - Debian's stomp.py (py/, run with /usr/bin/python3): logins, refused
//     frames on a connection that keeps working, stomp+ssl://;
//   - Pier's Go client (package client): ErrSecurity, OnAsyncError, ssl://;
//   - network bridges into a secured broker, and raw OpenWire frames (the
//     Go codec) that ask a broker to dial out;
//   - the secure defaults: listeners beyond loopback refused without users.
//
// Certificates and keystores are made per run with openssl and keytool in
// a temporary directory, password hashes with `pier passwd`. Every broker
// gets free loopback ports and is waited for through its console's
// /readyz.
//
//	go build -o /tmp/pier ./cmd/pier
//	PIER_BIN=/tmp/pier PIER_ROOT=$(pwd) go test -tags crossprocess -count=1 -v ./test/security/
package security

import (
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/piermq/pier/test/internal/javarun"
	"github.com/piermq/pier/test/internal/piertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	javarun.RemoveClasses()
	if fix.dir != "" {
		os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

// The users of the suite and their passwords. Groups: app is in apps,
// app2 in others (a group without temporary-destination grants), admin
// in admins, bridge in bridges (the group of security.bridges).
var passwords = map[string]string{
	"app":    "app-secret",
	"app2":   "app2-secret",
	"admin":  "admin-secret",
	"bridge": "bridge-secret",
}

var groups = map[string]string{"app": "apps", "app2": "others", "admin": "admins", "bridge": "bridges"}

// users lists passwords' keys in a fixed order.
var users = []string{"app", "app2", "admin", "bridge"}

// fixture is what every test shares: a temporary directory with the
// certificates and keystores, and a bcrypt hash per user.
type fixture struct {
	dir    string
	certs  *certs
	hashes map[string]string
	ca     *x509.CertPool // the broker CA, for HTTPS consoles and clients
}

var fix struct {
	once sync.Once
	dir  string
	f    *fixture
	err  error
}

// setup makes the fixture on first use; it skips without $PIER_BIN and
// fails when openssl, keytool or `pier passwd` fail.
func setup(t *testing.T) *fixture {
	t.Helper()
	bin := piertest.Bin(t)
	fix.once.Do(func() {
		fix.dir, fix.err = os.MkdirTemp("", "pier-security-")
		if fix.err != nil {
			return
		}
		fix.f, fix.err = newFixture(bin, fix.dir)
	})
	if fix.err != nil {
		t.Fatal(fix.err)
	}
	return fix.f
}

func newFixture(bin, dir string) (*fixture, error) {
	f := &fixture{dir: dir, hashes: map[string]string{}}
	for _, u := range users {
		cmd := exec.Command(bin, "passwd")
		cmd.Stdin = strings.NewReader(passwords[u] + "\n")
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("pier passwd for %s: %v", u, err)
		}
		f.hashes[u] = strings.TrimSpace(string(out))
	}
	c, err := makeCerts(dir)
	if err != nil {
		return nil, err
	}
	f.certs = c
	f.ca, err = c.pool(c.CA)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// securityYAML is the security section most brokers of the suite run
// with: the four users, entries in the manner of examples/secure.yaml
// (admins everywhere, apps on orders.>), payments for admins only,
// audit.> writable by apps but created only by admins, rpc.> shared by
// apps and others, a temp entry for apps and admins (others have none),
// and bridges for network bridges. There is deliberately no entry for
// ActiveMQ.Advisory.>: the temporary-destination advisories every JMS
// client subscribes to must be readable anyway.
func (f *fixture) securityYAML() string {
	var b strings.Builder
	b.WriteString("security:\n  users:\n")
	for _, u := range users {
		fmt.Fprintf(&b, "    - name: %s\n      password_hash: %q\n      groups: [%s]\n", u, f.hashes[u], groups[u])
	}
	b.WriteString(`  authorization:
    - queue: ">"
      read: [admins, bridges]
      write: [admins, bridges]
      admin: [admins, bridges]
    - topic: ">"
      read: [admins, bridges]
      write: [admins, bridges]
      admin: [admins, bridges]
    - queue: "orders.>"
      read: [apps]
      write: [apps]
      admin: [apps]
    - queue: "audit.>"
      read: [apps]
      write: [apps]
    - queue: "rpc.>"
      read: [apps, others]
      write: [apps, others]
      admin: [apps, others]
  temp_destinations:
    read: [apps, admins]
    write: [apps, admins]
    admin: [apps, admins]
  bridges: [bridges]
`)
	return b.String()
}

// tlsYAML is the tls section: the broker's certificate, and client
// certificates verified against the client CA.
func (f *fixture) tlsYAML() string {
	c := f.certs
	return fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n  client_ca_file: %s\n", c.BrokerCert, c.BrokerKey, c.ClientCA)
}

// securePier starts a broker with the suite's security section over
// plain tcp:// and stomp://, and returns it with its two addresses.
func securePier(t *testing.T, name string) (p *pierProc, openwire, stomp string) {
	f := setup(t)
	openwire, stomp = piertest.FreeAddr(t), piertest.FreeAddr(t)
	p = startPier(t, brokerSpec{Name: name, OpenWire: "tcp://" + openwire, STOMP: "stomp://" + stomp, Extra: f.securityYAML()})
	return p, openwire, stomp
}

// tlsPier starts a broker with the suite's security over ssl:// and
// stomp+ssl:// (client certificates verified against the client CA).
func tlsPier(t *testing.T, name string) (p *pierProc, openwire, stomp string) {
	f := setup(t)
	openwire, stomp = piertest.FreeAddr(t), piertest.FreeAddr(t)
	p = startPier(t, brokerSpec{Name: name, OpenWire: "ssl://" + openwire, STOMP: "stomp+ssl://" + stomp,
		Extra: f.securityYAML() + f.tlsYAML(), CA: f.ca})
	return p, openwire, stomp
}
