package keystore

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// stores are made once by the JDK's keytool, as ActiveMQ users make them.
var (
	storesOnce sync.Once
	storesDir  string
	storesErr  error
)

func keytool(dir string, args ...string) error {
	cmd := exec.Command("keytool", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return &exec.Error{Name: "keytool " + strings.Join(args, " ") + ": " + string(out), Err: err}
	}
	return nil
}

func stores(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("keytool"); err != nil {
		t.Fatal("keytool is missing (the JDK: apt-get install openjdk-17-jdk-headless; scripts/test.sh installs it)")
	}
	storesOnce.Do(func() {
		storesDir, storesErr = os.MkdirTemp("", "pier-keystore-")
		if storesErr != nil {
			return
		}
		d := storesDir
		for _, step := range [][]string{
			{"-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=broker", "-validity", "2",
				"-storetype", "JKS", "-keystore", "broker.jks", "-storepass", "password", "-keypass", "password"},
			{"-genkeypair", "-alias", "broker", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=broker-p12", "-validity", "2",
				"-storetype", "PKCS12", "-keystore", "broker.p12", "-storepass", "password"},
			{"-genkeypair", "-alias", "other", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=other", "-validity", "2",
				"-storetype", "JKS", "-keystore", "two.jks", "-storepass", "password", "-keypass", "password"},
			{"-genkeypair", "-alias", "second", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=second", "-validity", "2",
				"-storetype", "JKS", "-keystore", "two.jks", "-storepass", "password", "-keypass", "password"},
			{"-exportcert", "-alias", "broker", "-keystore", "broker.jks", "-storepass", "password", "-file", "broker.der"},
			{"-exportcert", "-alias", "broker", "-keystore", "broker.p12", "-storepass", "password", "-file", "broker-p12.der"},
			{"-importcert", "-noprompt", "-alias", "ca", "-file", "broker.der", "-storetype", "JKS", "-keystore", "trust.jks", "-storepass", "password"},
			{"-importcert", "-noprompt", "-alias", "ca", "-file", "broker-p12.der", "-storetype", "PKCS12", "-keystore", "trust.p12", "-storepass", "password"},
		} {
			if storesErr = keytool(d, step...); storesErr != nil {
				return
			}
		}
	})
	if storesErr != nil {
		t.Fatal(storesErr)
	}
	return storesDir
}

func TestLoadKey(t *testing.T) {
	d := stores(t)
	for file, cn := range map[string]string{"broker.jks": "broker", "broker.p12": "broker-p12"} {
		c, err := LoadKey(filepath.Join(d, file), "password")
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if c.Leaf.Subject.CommonName != cn || len(c.Certificate) == 0 || c.PrivateKey == nil {
			t.Errorf("%s: got %q, %d certificates", file, c.Leaf.Subject.CommonName, len(c.Certificate))
		}
		if _, err := LoadKey(filepath.Join(d, file), "wrong"); err == nil {
			t.Errorf("%s: loaded with a wrong password", file)
		}
	}
	if _, err := LoadKey(filepath.Join(d, "two.jks"), "password"); err == nil || !strings.Contains(err.Error(), "2 private key entries") {
		t.Errorf("two keys: %v", err)
	}
	if _, err := LoadKey(filepath.Join(d, "trust.jks"), "password"); err == nil || !strings.Contains(err.Error(), "no private key entry") {
		t.Errorf("a trust store as key store: %v", err)
	}
}

func TestLoadCAs(t *testing.T) {
	d := stores(t)
	for trust, key := range map[string]string{"trust.jks": "broker.jks", "trust.p12": "broker.p12"} {
		pool, err := LoadCAs(filepath.Join(d, trust), "password")
		if err != nil {
			t.Fatalf("%s: %v", trust, err)
		}
		c, err := LoadKey(filepath.Join(d, key), "password")
		if err != nil {
			t.Fatal(err)
		}
		// The self-signed broker certificate verifies against the trust
		// store that holds it, and not against an empty pool.
		opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		if _, err := c.Leaf.Verify(opts); err != nil {
			t.Errorf("%s does not trust %s: %v", trust, key, err)
		}
		opts.Roots = x509.NewCertPool()
		if _, err := c.Leaf.Verify(opts); err == nil {
			t.Error("verified against an empty pool: the check proves nothing")
		}
	}
	if _, err := LoadCAs(filepath.Join(d, "broker.jks"), "password"); err == nil {
		t.Error("a key store with no trusted entry loaded as a trust store")
	}
}

func TestBadFiles(t *testing.T) {
	d := t.TempDir()
	for name, data := range map[string][]byte{
		"jceks":   {0xce, 0xce, 0xce, 0xce, 0, 0, 0, 2},
		"garbage": []byte("not a key store at all"),
		"jks-cut": {0xfe, 0xed, 0xfe, 0xed, 0, 0},
	} {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(p, "password"); err == nil {
			t.Errorf("%s: loaded as a key store", name)
		}
		if _, err := LoadCAs(p, "password"); err == nil {
			t.Errorf("%s: loaded as a trust store", name)
		}
	}
	if _, err := LoadKey(filepath.Join(d, "missing"), ""); err == nil {
		t.Error("a missing file loaded")
	}
}

// FuzzStores: any bytes are a key store, a trust store or an error, never
// a panic (the JKS reader and the PKCS#12 decoder are libraries; the
// dispatch and the checks around them are Pier's).
func FuzzStores(f *testing.F) {
	f.Add([]byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1}, "password")
	f.Add([]byte{0x30, 0x82, 0x01, 0x00}, "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		if c, err := keyFrom("f", data, password); err == nil && (c.Leaf == nil || c.PrivateKey == nil) {
			t.Fatal("a key store without a key or certificate accepted")
		}
		if p, err := casFrom("f", data, password); err == nil && p == nil {
			t.Fatal("a nil pool accepted")
		}
	})
}
