package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
)

// dialSocket opens the socket to b: plain TCP, or TLS for ssl:// and
// nio+ssl:// (the handshake is done when it returns, bounded by ctx).
func dialSocket(ctx context.Context, b BrokerURL, opts *Options) (net.Conn, error) {
	nd := &net.Dialer{}
	if !b.TLS() {
		return nd.DialContext(ctx, "tcp", b.Host)
	}
	td := tls.Dialer{NetDialer: nd, Config: tlsConfigFor(opts.TLS, b)}
	return td.DialContext(ctx, "tcp", b.Host)
}

// tlsConfigFor returns the TLS configuration to dial b with, made from base
// (nil: the system's roots, no client certificate), which is not modified:
// without a ServerName, b's host is the name the broker's certificate must
// carry (and, when it is not an IP address, the SNI sent); with b's option
// socket.verifyHostName=false the certificate chain is still verified
// against base.RootCAs, but not the name.
func tlsConfigFor(base *tls.Config, b BrokerURL) *tls.Config {
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(b.Host)
		if err != nil {
			host = b.Host
		}
		cfg.ServerName = host
	}
	if cfg.InsecureSkipVerify || b.Transport().VerifyHostName {
		return cfg
	}
	// Go verifies chain and name together; to keep the chain check without
	// the name, turn both off and verify the chain here.
	roots, next := cfg.RootCAs, cfg.VerifyConnection
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := verifyChain(cs, roots); err != nil {
			return err
		}
		if next != nil {
			return next(cs)
		}
		return nil
	}
	return cfg
}

// verifyChain checks that the peer's certificate chains to roots (nil:
// the system's) for server authentication, whatever name it carries.
func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the broker sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}
