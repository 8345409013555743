// Package clienttest makes what tests of TLS connections to a broker need:
// a certificate authority held in memory, and the server and client
// certificates it signs. Nothing here is fit for production use: keys are
// not protected and certificates last a day.
package clienttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a certificate authority for one test.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// Pool holds the CA's certificate: a RootCAs (or ClientCAs) that
	// trusts what it signs.
	Pool *x509.CertPool
	// PEM is the CA's certificate, PEM-encoded (a --ca-file).
	PEM []byte

	serial atomic.Int64
}

// NewCA makes a CA named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{cert: cert, key: key, Pool: x509.NewCertPool(),
		PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	ca.Pool.AddCert(cert)
	ca.serial.Store(1)
	return ca
}

// IssuePEM signs a certificate with common name cn, valid for server and
// client authentication, naming hosts (DNS names or IP addresses), and
// returns it and its private key, PEM-encoded.
func (ca *CA) IssuePEM(t testing.TB, cn string, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// Issue is IssuePEM as a tls.Certificate.
func (ca *CA) Issue(t testing.TB, cn string, hosts ...string) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(ca.IssuePEM(t, cn, hosts...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ServerConfig returns a server's TLS configuration with a certificate for
// hosts (default: 127.0.0.1 and localhost).
func (ca *CA) ServerConfig(t testing.TB, hosts ...string) *tls.Config {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "localhost"}
	}
	return &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "broker", hosts...)}}
}

// RequireClientCerts makes cfg ask every client for a certificate signed
// by ca, and returns cfg.
func (ca *CA) RequireClientCerts(cfg *tls.Config) *tls.Config {
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = ca.Pool
	return cfg
}

// ClientConfig returns a client's TLS configuration that trusts ca.
func (ca *CA) ClientConfig() *tls.Config { return &tls.Config{RootCAs: ca.Pool} }

// Files writes the CA's certificate and a certificate for cn (and hosts)
// with its key into a temporary directory of t, and returns their paths
// (for --ca-file, --cert-file and --key-file).
func (ca *CA) Files(t testing.TB, cn string, hosts ...string) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM := ca.IssuePEM(t, cn, hosts...)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	for _, f := range []struct {
		path string
		data []byte
	}{{caFile, ca.PEM}, {certFile, certPEM}, {keyFile, keyPEM}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}
