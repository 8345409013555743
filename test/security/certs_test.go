//go:build crossprocess

package security

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// storePass protects the PKCS#12 file and the Java keystores.
const storePass = "changeit"

// certs are the files makeCerts writes: two private CAs (one for the
// broker, one for clients), the broker's certificate for 127.0.0.1 and
// localhost, a client certificate with CN=app, and for the JMS client a
// JKS truststore holding the broker CA and a JKS keystore holding the
// client's key and certificate.
type certs struct {
	CA, CAKey                 string
	BrokerCert, BrokerKey     string
	ClientCA, ClientCAKey     string
	ClientCert, ClientKey     string
	TrustStore, KeyStore      string // JKS, password storePass
	StrangerCert, StrangerKey string // CN=stranger (no such user), signed by the client CA
}

// makeCerts makes the certificates with openssl and the keystores with
// keytool, in dir.
func makeCerts(dir string) (*certs, error) {
	for _, tool := range []string{"openssl", "keytool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found (apt-get install openssl openjdk-17-jdk-headless): %v", tool, err)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	c := &certs{
		CA: p("ca.crt"), CAKey: p("ca.key"),
		BrokerCert: p("broker.crt"), BrokerKey: p("broker.key"),
		ClientCA: p("client-ca.crt"), ClientCAKey: p("client-ca.key"),
		ClientCert: p("app.crt"), ClientKey: p("app.key"),
		StrangerCert: p("stranger.crt"), StrangerKey: p("stranger.key"),
		TrustStore: p("truststore.jks"), KeyStore: p("keystore.jks"),
	}
	steps := [][]string{
		selfSigned(c.CA, c.CAKey, "/CN=Pier Security Suite CA"),
		selfSigned(c.ClientCA, c.ClientCAKey, "/CN=Pier Security Suite Client CA"),
	}
	steps = append(steps, leaf(dir, "broker", c.BrokerCert, c.BrokerKey, c.CA, c.CAKey, "/CN=localhost",
		"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")...)
	steps = append(steps, leaf(dir, "app", c.ClientCert, c.ClientKey, c.ClientCA, c.ClientCAKey, "/CN=app",
		"extendedKeyUsage=clientAuth\n")...)
	steps = append(steps, leaf(dir, "stranger", c.StrangerCert, c.StrangerKey, c.ClientCA, c.ClientCAKey, "/CN=stranger",
		"extendedKeyUsage=clientAuth\n")...)
	p12 := p("app.p12")
	steps = append(steps,
		[]string{"openssl", "pkcs12", "-export", "-in", c.ClientCert, "-inkey", c.ClientKey, "-certfile", c.ClientCA,
			"-name", "app", "-out", p12, "-passout", "pass:" + storePass},
		[]string{"keytool", "-importkeystore", "-noprompt", "-srckeystore", p12, "-srcstoretype", "PKCS12",
			"-srcstorepass", storePass, "-destkeystore", c.KeyStore, "-deststoretype", "JKS",
			"-deststorepass", storePass, "-destkeypass", storePass},
		[]string{"keytool", "-importcert", "-noprompt", "-alias", "pier-ca", "-file", c.CA,
			"-keystore", c.TrustStore, "-storetype", "JKS", "-storepass", storePass},
	)
	for _, s := range steps {
		if s[0] == "write" {
			if err := os.WriteFile(s[1], []byte(s[2]), 0o600); err != nil {
				return nil, err
			}
			continue
		}
		if err := run(dir, s...); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// selfSigned is the openssl command for a CA certificate and its key.
func selfSigned(cert, key, subj string) []string {
	return []string{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-days", "2", "-subj", subj, "-addext", "basicConstraints=critical,CA:TRUE",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign"}
}

// leaf returns the steps for a certificate signed by ca: a key and a
// request, the extensions file, the signature.
func leaf(dir, name, cert, key, ca, caKey, subj, ext string) [][]string {
	csr := filepath.Join(dir, name+".csr")
	extFile := filepath.Join(dir, name+".ext")
	serial := fmt.Sprintf("0x%x", time.Now().UnixNano())
	return [][]string{
		{"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subj},
		{"write", extFile, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" + ext},
		{"openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-set_serial", serial,
			"-out", cert, "-days", "2", "-extfile", extFile},
	}
}

func run(dir string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// pool returns a pool holding the PEM certificates of file.
func (c *certs) pool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", file)
	}
	return pool, nil
}
