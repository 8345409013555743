package clienttest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestIssue(t *testing.T) {
	ca := NewCA(t, "test CA")
	cert := ca.Issue(t, "app", "broker.example", "127.0.0.1")
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"broker.example", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: host}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: NewCA(t, "other").Pool}); err == nil {
		t.Error("verified by another CA")
	}
	if leaf.Subject.CommonName != "app" {
		t.Errorf("common name %q", leaf.Subject.CommonName)
	}

	caFile, certFile, keyFile := ca.Files(t, "app")
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
		t.Fatalf("CA file: %v", err)
	}
}
