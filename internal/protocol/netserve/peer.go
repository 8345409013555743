package netserve

import (
	"crypto/tls"
	"crypto/x509"
	"net"
)

// tlsState is a connection that knows its TLS state: *tls.Conn, and a
// WebSocket carried over TLS (wsserve), whose handshake the HTTP server did.
type tlsState interface {
	ConnectionState() tls.ConnectionState
}

// PeerCertificates returns the verified certificate chain a TLS client
// presented (leaf first), or nil: a plain connection, no client
// certificate, or one the listener did not verify. Call it once the
// connection has been read from (the handshake is done by then).
func PeerCertificates(nc net.Conn) []*x509.Certificate {
	tc, ok := nc.(tlsState)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	if !st.HandshakeComplete || len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return nil
	}
	return st.VerifiedChains[0]
}
