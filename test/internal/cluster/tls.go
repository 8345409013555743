package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/piermq/pier/internal/replication"
)

// TLS is the mutual TLS of a group's replication port, with certificates
// made by `pier certs`: Dir holds the group's CA (CAName.crt) and a
// certificate per node ID (a.crt, a.key, ...), and Client is what the
// harness presents on its status queries.
type TLS struct {
	Dir    string
	CAName string
	Client *replication.TLS
}

// MakeCerts runs `pier certs` in a new directory for the IDs of a group of
// n nodes ("a", "b", ...) and for an "admin" certificate the harness
// presents, and returns the group's TLS for Options.TLS. The test is
// skipped without $PIER_BIN.
func MakeCerts(t testing.TB, nodes int) *TLS {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "certs")
	names := []string{"admin"}
	for i := range nodes {
		names = append(names, string(rune('a'+i)))
	}
	out := RunPier(t, append([]string{"certs", "--dir", dir}, names...)...)
	t.Logf("pier certs:\n%s", out)
	client, err := LoadTLS(filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key"), filepath.Join(dir, "group-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return &TLS{Dir: dir, CAName: "group-ca", Client: client}
}

// RunPier runs the pier binary ($PIER_BIN) with args and returns its
// output; a non-zero exit fails the test.
func RunPier(t testing.TB, args ...string) string {
	t.Helper()
	bin := os.Getenv("PIER_BIN")
	if bin == "" {
		t.Skip("PIER_BIN is not set: go build -o /tmp/pier ./cmd/pier && PIER_BIN=/tmp/pier go test -tags crossprocess ./test/cluster/")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pier %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// LoadTLS reads a certificate, its key and a CA certificate (PEM) as a
// replication.TLS; an empty certFile gives one without a certificate.
func LoadTLS(certFile, keyFile, caFile string) (*replication.TLS, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("cluster: %s: no certificate", caFile)
	}
	t := &replication.TLS{CA: pool}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		t.Certificate = &pair
	}
	return t, nil
}

// yaml is the store.replicated.tls section of node id, indented for the
// store.replicated section.
func (t *TLS) yaml(id string) string {
	return fmt.Sprintf("    tls:\n      cert_file: %s\n      key_file: %s\n      ca_file: %s\n",
		filepath.Join(t.Dir, id+".crt"), filepath.Join(t.Dir, id+".key"), filepath.Join(t.Dir, t.CAName+".crt"))
}

// statusTLS is what the harness presents on status queries: nil for a
// group without TLS.
func (c *Cluster) statusTLS() *replication.TLS {
	if c.opts.TLS == nil {
		return nil
	}
	return c.opts.TLS.Client
}
