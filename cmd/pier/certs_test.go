package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runCertsCmd runs pier certs with args and returns its exit code and
// output.
func runCertsCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"certs"}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

// loadCert loads dir/name.crt and .key as tls.LoadX509KeyPair does.
func loadCert(t *testing.T, dir, name string) *x509.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return pair.Leaf
}

func caPool(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s: no certificate", path)
	}
	return pool
}

func TestCertsMakesCAAndCertificates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	code, out := runCertsCmd(t, "--dir", dir, "a", "b=10.0.0.2,b.example.com,[fd00::2]", "--days", "30")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if n := strings.Count(out, "made "); n != 6 {
		t.Errorf("%d lines of files made, want 6:\n%s", n, out)
	}
	ca := loadCert(t, dir, "group-ca")
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 || ca.Subject.CommonName != "group-ca" {
		t.Errorf("CA: IsCA %t, key usage %b, CN %q", ca.IsCA, ca.KeyUsage, ca.Subject.CommonName)
	}
	pool := caPool(t, filepath.Join(dir, "group-ca.crt"))
	for _, tc := range []struct {
		name string
		dns  []string
		ips  []string
	}{
		{"a", []string{"a", "localhost"}, []string{"127.0.0.1", "::1"}},
		{"b", []string{"b", "b.example.com"}, []string{"10.0.0.2", "fd00::2"}},
	} {
		c := loadCert(t, dir, tc.name)
		if c.Subject.CommonName != tc.name || !slices.Equal(c.DNSNames, tc.dns) {
			t.Errorf("%s: CN %q, DNS names %v, want %v", tc.name, c.Subject.CommonName, c.DNSNames, tc.dns)
		}
		var ips []string
		for _, ip := range c.IPAddresses {
			ips = append(ips, ip.String())
		}
		if !slices.Equal(ips, tc.ips) {
			t.Errorf("%s: IP names %v, want %v", tc.name, ips, tc.ips)
		}
		for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{u}, DNSName: tc.dns[0]}
			if _, err := c.Verify(opts); err != nil {
				t.Errorf("%s: does not verify for usage %d: %v", tc.name, u, err)
			}
		}
		if err := c.VerifyHostname(tc.ips[0]); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if days := c.NotAfter.Sub(c.NotBefore).Hours() / 24; days < 29 || days > 31 {
			t.Errorf("%s: valid for %.1f days, want 30", tc.name, days)
		}
		if c.KeyUsage&x509.KeyUsageCertSign != 0 || c.IsCA {
			t.Errorf("%s: may sign certificates", tc.name)
		}
	}
	for _, name := range []string{"group-ca.key", "a.key", "b.key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if blk, _ := pem.Decode(b); blk == nil || blk.Type != "PRIVATE KEY" {
			t.Errorf("%s: not a PKCS#8 PEM key", name)
		}
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		for _, args := range [][]string{
			{"pkey", "-in", filepath.Join(dir, "a.key"), "-noout"},
			{"verify", "-CAfile", filepath.Join(dir, "group-ca.crt"), filepath.Join(dir, "a.crt")},
		} {
			if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Errorf("openssl %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
	}
}

func TestCertsReusesTheCAAndRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	if code, out := runCertsCmd(t, "--dir", dir, "--ca", "my-ca", "a"); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	caBefore, _ := os.ReadFile(filepath.Join(dir, "my-ca.crt"))
	aBefore, _ := os.ReadFile(filepath.Join(dir, "a.crt"))

	// A second run signs with the same CA.
	code, out := runCertsCmd(t, "--dir", dir, "--ca", "my-ca", "c")
	if code != 0 || !strings.Contains(out, "using ") || strings.Contains(out, "made "+filepath.Join(dir, "my-ca")) {
		t.Fatalf("exit %d: %s", code, out)
	}
	if caAfter, _ := os.ReadFile(filepath.Join(dir, "my-ca.crt")); !bytes.Equal(caBefore, caAfter) {
		t.Fatal("the CA was replaced")
	}
	pool := caPool(t, filepath.Join(dir, "my-ca.crt"))
	for _, name := range []string{"a", "c"} {
		if _, err := loadCert(t, dir, name).Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// a exists: refused, and nothing else is made either.
	code, out = runCertsCmd(t, "--dir", dir, "--ca", "my-ca", "d", "a")
	if code != 1 || !strings.Contains(out, "--force") {
		t.Fatalf("overwrite: exit %d: %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "d.crt")); err == nil {
		t.Error("d was made although a was refused")
	}
	if aAfter, _ := os.ReadFile(filepath.Join(dir, "a.crt")); !bytes.Equal(aBefore, aAfter) {
		t.Fatal("a.crt was overwritten")
	}
	// With --force (after the names too) it is replaced.
	if code, out := runCertsCmd(t, "--dir", dir, "--ca", "my-ca", "a", "--force"); code != 0 {
		t.Fatalf("--force: exit %d: %s", code, out)
	}
	if aAfter, _ := os.ReadFile(filepath.Join(dir, "a.crt")); bytes.Equal(aBefore, aAfter) {
		t.Fatal("a.crt was not replaced with --force")
	}
	if fi, err := os.Stat(filepath.Join(dir, "a.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("a.key after --force: %v, %v", fi.Mode(), err)
	}
}

func TestCertsRefusesBadArguments(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"../a"},
		{"a=not a host"},
		{"a", "a"},
		{"group-ca"},
		{"--days", "0", "a"},
		{"--ca", "../ca", "a"},
	} {
		if code, out := runCertsCmd(t, append([]string{"--dir", dir}, args...)...); code == 0 {
			t.Errorf("%q: exit 0: %s", args, out)
		}
	}
	if code, out := runCertsCmd(t, "--help"); code != 0 || !strings.Contains(out, "NAME[=HOST") {
		t.Errorf("--help: exit %d: %s", code, out)
	}
	// A CA certificate without its key is not silently replaced.
	if err := os.WriteFile(filepath.Join(dir, "group-ca.crt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := runCertsCmd(t, "--dir", dir, "a"); code == 0 || !strings.Contains(out, "only one exists") {
		t.Errorf("half a CA: exit %d: %s", code, out)
	}
}

func TestReplicationTLSFromFiles(t *testing.T) {
	dir := t.TempDir()
	if code, out := runCertsCmd(t, "--dir", dir, "a"); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	rt, err := loadGroupTLS(pemFile{"cert", f("a.crt")}, pemFile{"key", f("a.key")}, pemFile{"ca", f("group-ca.crt")})
	if err != nil || rt.Certificate == nil || rt.CA == nil {
		t.Fatalf("%+v, %v", rt, err)
	}
	for _, tc := range []struct {
		cert, key, ca pemFile
		want          string
	}{
		{pemFile{"store.replicated.tls.cert_file", f("missing.crt")}, pemFile{"k", f("a.key")}, pemFile{"c", f("group-ca.crt")},
			"store.replicated.tls.cert_file: open " + f("missing.crt") + ": no such file"},
		{pemFile{"c", f("a.crt")}, pemFile{"store.replicated.tls.key_file", f("nope")}, pemFile{"c", f("group-ca.crt")},
			"store.replicated.tls.key_file: open"},
		{pemFile{"c", f("a.crt")}, pemFile{"k", f("a.key")}, pemFile{"store.replicated.tls.ca_file", f("a.key")},
			"store.replicated.tls.ca_file: " + f("a.key") + " holds no PEM certificate"},
		{pemFile{"--cert", f("a.crt")}, pemFile{"--key", f("group-ca.key")}, pemFile{"--ca", f("group-ca.crt")},
			"--cert, --key: tls: private key does not match public key"},
		{pemFile{"--cert", f("a.crt")}, pemFile{"--key", ""}, pemFile{"--ca", f("group-ca.crt")}, "--key: missing"},
		{pemFile{"--cert", ""}, pemFile{"--key", ""}, pemFile{"--ca", ""}, "--ca: missing"},
	} {
		if _, err := loadGroupTLS(tc.cert, tc.key, tc.ca); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
