package netserve

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"

	"github.com/piermq/pier/client/clienttest"
)

// stateConn is a connection that reports a TLS state without being a
// *tls.Conn, as a WebSocket over TLS does.
type stateConn struct {
	net.Conn
	st tls.ConnectionState
}

func (c stateConn) ConnectionState() tls.ConnectionState { return c.st }

// verifiedConn returns the server's end of a TLS connection whose client
// presented cert, verified against ca.
func verifiedConn(t *testing.T, ca *clienttest.CA, cert tls.Certificate) *tls.Conn {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ca.RequireClientCerts(ca.ServerConfig(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ccfg := ca.ClientConfig()
	ccfg.Certificates = []tls.Certificate{cert}
	dialed := make(chan error, 1)
	go func() {
		c, err := tls.Dial("tcp", ln.Addr().String(), ccfg)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
		dialed <- err
	}()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	server := nc.(*tls.Conn)
	if err := server.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-dialed; err != nil {
		t.Fatal(err)
	}
	return server
}

func TestPeerCertificates(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	alice := ca.Issue(t, "alice")
	leaf, err := x509.ParseCertificate(alice.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	server := verifiedConn(t, ca, alice)
	plain, _ := tcpPair(t)
	for _, tc := range []struct {
		name string
		nc   net.Conn
		want bool
	}{
		{"tls.Conn with a verified client certificate", server, true},
		{"plain connection", plain, false},
		{"a conn reporting a verified state", stateConn{plain, server.ConnectionState()}, true},
		{"a conn reporting no TLS", stateConn{plain, tls.ConnectionState{}}, false},
		{"a conn reporting an unverified certificate", stateConn{plain, tls.ConnectionState{
			HandshakeComplete: true, PeerCertificates: []*x509.Certificate{leaf}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PeerCertificates(tc.nc)
			if !tc.want {
				if got != nil {
					t.Fatalf("got %d certificates, want none", len(got))
				}
				return
			}
			if len(got) == 0 || !got[0].Equal(leaf) {
				t.Fatalf("got %v, want the client's certificate first", got)
			}
		})
	}
}
