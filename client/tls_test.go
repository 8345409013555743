package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/piermq/pier/client/clienttest"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// startPierTLS runs a Pier broker whose OpenWire listener speaks TLS with
// cfg; it returns the broker's host:port.
func startPierTLS(t testing.TB, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startPierOn(t, tls.NewListener(ln, cfg))
}

// echo sends a message through c and receives it back.
func echo(t *testing.T, c *Conn, queue string) {
	t.Helper()
	s := session(t, c, AutoAck)
	send(t, producer(t, s, Queue(queue)), "over tls")
	receiveText(t, consumer(t, s, Queue(queue)), "over tls")
}

func usesTLS(c *Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.mu.t.nc.(*tls.Conn)
	return ok
}

func TestDialTLS(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	addr := startPierTLS(t, ca.ServerConfig(t))

	for _, u := range []string{"ssl://" + addr, "nio+ssl://" + addr + "?socket.verifyHostName=true",
		"failover:(ssl://" + addr + ")?randomize=false"} {
		t.Run(u, func(t *testing.T) {
			c := dial(t, u, Options{TLS: ca.ClientConfig()})
			if !usesTLS(c) {
				t.Fatal("the connection does not use TLS")
			}
			echo(t, c, "tls.dial")
		})
	}

	// A plain OpenWire client gets nowhere on a TLS port, and the system's
	// roots do not know the test CA.
	if _, err := Dial(testCtx(t), "tcp://"+addr+"?connectionTimeout=2000", Options{}); err == nil {
		t.Error("tcp:// to a TLS listener worked")
	}
	_, err := Dial(testCtx(t), "ssl://"+addr, Options{})
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) || !strings.Contains(err.Error(), "ssl://"+addr) {
		t.Errorf("without the CA: %v, want a certificate verification error naming ssl://%s", err, addr)
	}
}

// The broker's certificate must name the host dialled, unless
// socket.verifyHostName=false, which still checks who signed it.
func TestDialTLSHostName(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	addr := startPierTLS(t, ca.ServerConfig(t, "broker.example"))

	_, err := Dial(testCtx(t), "ssl://"+addr, Options{TLS: ca.ClientConfig()})
	var herr x509.HostnameError
	if !errors.As(err, &herr) {
		t.Fatalf("certificate for another host: %v, want a host name error", err)
	}
	echo(t, dial(t, "ssl://"+addr+"?socket.verifyHostName=false", Options{TLS: ca.ClientConfig()}), "tls.name")
	cfg := ca.ClientConfig()
	cfg.ServerName = "broker.example"
	echo(t, dial(t, "ssl://"+addr, Options{TLS: cfg}), "tls.servername")
	echo(t, dial(t, "failover:(ssl://"+addr+")?nested.socket.verifyHostName=false", Options{TLS: ca.ClientConfig()}), "tls.nested")

	other := clienttest.NewCA(t, "another CA")
	_, err = Dial(testCtx(t), "ssl://"+addr+"?socket.verifyHostName=false", Options{TLS: other.ClientConfig()})
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Errorf("verifyHostName=false with a CA that did not sign: %v, want an unknown authority error", err)
	}
}

func TestDialTLSClientCertificate(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	addr := startPierTLS(t, ca.RequireClientCerts(ca.ServerConfig(t)))

	if _, err := Dial(testCtx(t), "ssl://"+addr, Options{TLS: ca.ClientConfig()}); err == nil {
		t.Fatal("a broker that requires a client certificate let one in without")
	}
	cfg := ca.ClientConfig()
	cfg.Certificates = []tls.Certificate{ca.Issue(t, "app")}
	echo(t, dial(t, "ssl://"+addr, Options{TLS: cfg}), "tls.mutual")
	if cfg.ServerName != "" || cfg.InsecureSkipVerify {
		t.Errorf("Dial modified Options.TLS: %+v", cfg)
	}
}

// A failover connection over TLS follows brokers a broker names with
// ssl:// (ConnectionControl), and ignores plain ones.
func TestFailoverTLSConnectedBrokers(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	pier := startPierTLS(t, ca.ServerConfig(t))
	plain := startPier(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := fakeBrokerOn(t, tls.NewListener(ln, ca.ServerConfig(t)), &wire.ConnectionControl{
		ConnectedBrokers: "tcp://" + plain + ",ssl://" + pier, RebalanceConnection: true})
	opts := Options{TLS: ca.ClientConfig()}
	h := newHooks(&opts)
	c := dial(t, "failover:(ssl://"+fake+")?randomize=false&initialReconnectDelay=5&maxReconnectDelay=50", opts)
	if got := h.waitResumed(t); got != pier {
		t.Fatalf("moved to %s, want %s", got, pier)
	}
	c.fo.mu.Lock()
	updated := c.fo.mu.updated
	c.fo.mu.Unlock()
	if len(updated) != 1 || updated[0].String() != "ssl://"+pier {
		t.Errorf("broker list %v: want only the ssl:// broker", updated)
	}
	if !usesTLS(c) {
		t.Fatal("the connection does not use TLS")
	}
	echo(t, c, "tls.moved")
}

// A connection with tcp:// brokers takes ssl:// ones from the broker, as
// ActiveMQ does.
func TestFailoverPlainToTLS(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	pier := startPierTLS(t, ca.ServerConfig(t))
	fake := fakeBroker(t, &wire.ConnectionControl{ReconnectTo: "ssl://" + pier})
	opts := Options{TLS: ca.ClientConfig()}
	h := newHooks(&opts)
	c := dial(t, fastFailover(fake), opts)
	if got := h.waitResumed(t); got != pier {
		t.Fatalf("moved to %s, want %s", got, pier)
	}
	echo(t, c, "tls.reconnectto")
}

func TestTLSConfigFor(t *testing.T) {
	b := func(s string) BrokerURL {
		u, err := ParseURL(s)
		if err != nil {
			t.Fatal(err)
		}
		return u.Brokers[0]
	}
	if c := tlsConfigFor(nil, b("ssl://[::1]:1")); c.ServerName != "::1" || c.InsecureSkipVerify {
		t.Errorf("nil base: %+v", c)
	}
	base := &tls.Config{ServerName: "given"}
	c := tlsConfigFor(base, b("ssl://h:1?socket.verifyHostName=false"))
	if c.ServerName != "given" || !c.InsecureSkipVerify || c.VerifyConnection == nil {
		t.Errorf("verifyHostName=false: %+v", c)
	}
	if base.InsecureSkipVerify || base.VerifyConnection != nil {
		t.Error("base modified")
	}
	if err := c.VerifyConnection(tls.ConnectionState{}); err == nil {
		t.Error("no certificate accepted")
	}
	insecure := &tls.Config{InsecureSkipVerify: true}
	if c := tlsConfigFor(insecure, b("ssl://h:1?socket.verifyHostName=false")); c.VerifyConnection != nil {
		t.Error("InsecureSkipVerify given: the chain must not be checked")
	}
}
