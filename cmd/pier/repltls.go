package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/replication"
)

// replicationTLS loads a member's mutual TLS of the replication port from
// store.replicated.tls; nil when that is not set (plain TCP).
func replicationTLS(t config.ReplicationTLS) (*replication.TLS, error) {
	if !t.Enabled() {
		return nil, nil
	}
	const key = "store.replicated.tls."
	return loadGroupTLS(pemFile{key + "cert_file", t.CertFile}, pemFile{key + "key_file", t.KeyFile},
		pemFile{key + "ca_file", t.CAFile})
}

// pemFile is a PEM file and the name its errors give it: a configuration
// key or a flag.
type pemFile struct{ name, path string }

// loadGroupTLS reads a certificate and its key (both or neither) and the
// group's CA.
func loadGroupTLS(cert, key, ca pemFile) (*replication.TLS, error) {
	if ca.path == "" {
		return nil, fmt.Errorf("%s: missing (the group's CA certificate)", ca.name)
	}
	caPEM, err := os.ReadFile(ca.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ca.name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: %s holds no PEM certificate", ca.name, ca.path)
	}
	t := &replication.TLS{CA: pool}
	switch {
	case cert.path == "" && key.path == "":
		return t, nil
	case cert.path == "":
		return nil, fmt.Errorf("%s: missing (it goes with %s)", cert.name, key.name)
	case key.path == "":
		return nil, fmt.Errorf("%s: missing (it goes with %s)", key.name, cert.name)
	}
	certPEM, err := os.ReadFile(cert.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cert.name, err)
	}
	keyPEM, err := os.ReadFile(key.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key.name, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", cert.name, key.name, err)
	}
	t.Certificate = &pair
	return t, nil
}
