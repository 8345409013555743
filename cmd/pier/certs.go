package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

const certsUsage = `Makes a private certificate authority (CA) and certificates signed by it,
for users without a PKI of their own:

  DIR/CA.crt, DIR/CA.key      the CA (ECDSA P-256, self-signed), made if absent
                              and reused if present
  DIR/NAME.crt, DIR/NAME.key  a certificate for each NAME (ECDSA P-256), CN=NAME

Each certificate is good for TLS servers and clients alike, so one serves as
a broker's certificate (tls.cert_file, tls.key_file), as a member's
certificate in a replicated group (store.replicated.tls: cert_file,
key_file, and ca_file DIR/CA.crt) and as a client certificate. Its names
(subject alternative names) are NAME and each HOST given after "=", IP
addresses as IP names; with no HOST, NAME, localhost, 127.0.0.1 and ::1.
Members of a group are checked against the CA, not against these names.

Keys are PKCS#8 PEM files readable by their owner only (mode 0600); keep
DIR/CA.key safe: whoever has it can make members of the group. An existing
NAME.crt or NAME.key is not overwritten without --force. The CA is valid for
ten years (or --days, if longer); certificates for --days, at most until the
CA expires. Java's keytool imports PKCS#12, which openssl makes:
  openssl pkcs12 -export -in DIR/NAME.crt -inkey DIR/NAME.key -certfile DIR/CA.crt -out NAME.p12

  pier certs a b c admin
  pier certs --dir /etc/pier/certs a=10.0.0.1,pier-a.example.com b=10.0.0.2 c=10.0.0.3`

// certsOptions are the flags of pier certs.
type certsOptions struct {
	dir, ca string
	days    int
	force   bool
}

// certSpec is one certificate asked for: NAME[=HOST,...].
type certSpec struct {
	name string
	dns  []string
	ips  []net.IP
}

func runCerts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	opts, specs, err := parseCertsArgs(args, stderr)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if s.name == opts.ca {
			return fmt.Errorf("%s: the CA's own name", s.name)
		}
		if opts.force {
			continue
		}
		for _, ext := range []string{".crt", ".key"} {
			p := filepath.Join(opts.dir, s.name+ext)
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s exists; not overwritten without --force", p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	if err := os.MkdirAll(opts.dir, 0o700); err != nil {
		return err
	}
	ca, caKey, err := certAuthority(opts, stdout)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if err := issueCert(opts, s, ca, caKey, stdout); err != nil {
			return err
		}
	}
	return nil
}

// parseCertsArgs parses the flags, which may come before, between or after
// the names.
func parseCertsArgs(args []string, stderr io.Writer) (certsOptions, []certSpec, error) {
	var opts certsOptions
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pier certs [flags] NAME[=HOST,HOST...]...\n\n%s\n\nFlags:\n", certsUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&opts.dir, "dir", "./certs", "the directory the files are written to (made if missing)")
	fs.StringVar(&opts.ca, "ca", "group-ca", "the CA's name: DIR/CA.crt and DIR/CA.key")
	fs.IntVar(&opts.days, "days", 825, "how many days the certificates are valid")
	fs.BoolVar(&opts.force, "force", false, "replace existing NAME.crt and NAME.key")
	var specs []certSpec
	seen := map[string]bool{}
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return opts, nil, err
			}
			return opts, nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		s, err := parseCertSpec(fs.Arg(0))
		if err != nil {
			return opts, nil, err
		}
		if seen[s.name] {
			return opts, nil, fmt.Errorf("%s: named twice", s.name)
		}
		seen[s.name] = true
		specs = append(specs, s)
		rest = fs.Args()[1:]
	}
	if !fileName.MatchString(opts.ca) {
		return opts, nil, fmt.Errorf("--ca %q: not a file name (letters, digits, . _ -)", opts.ca)
	}
	if opts.days < 1 {
		return opts, nil, fmt.Errorf("--days %d: at least 1", opts.days)
	}
	return opts, specs, nil
}

var (
	fileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	dnsName  = regexp.MustCompile(`^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*$`)
)

// parseCertSpec parses NAME[=HOST,HOST...].
func parseCertSpec(arg string) (certSpec, error) {
	name, hosts, withHosts := strings.Cut(arg, "=")
	if !fileName.MatchString(name) {
		return certSpec{}, fmt.Errorf("%q: NAME must be a file name (letters, digits, . _ -, at most 64)", name)
	}
	s := certSpec{name: name}
	list := []string{name}
	if withHosts {
		list = append(list, strings.Split(hosts, ",")...)
	} else {
		list = append(list, "localhost", "127.0.0.1", "::1")
	}
	for _, h := range list {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); ip != nil {
			s.ips = append(s.ips, ip)
			continue
		}
		if !dnsName.MatchString(h) || len(h) > 253 {
			return certSpec{}, fmt.Errorf("%s: host %q is neither an IP address nor a DNS name", name, h)
		}
		s.dns = append(s.dns, h)
	}
	return s, nil
}

// certAuthority loads DIR/CA.crt and DIR/CA.key, or makes them if neither
// exists.
func certAuthority(opts certsOptions, stdout io.Writer) (*x509.Certificate, crypto.Signer, error) {
	crtPath, keyPath := filepath.Join(opts.dir, opts.ca+".crt"), filepath.Join(opts.dir, opts.ca+".key")
	_, crtErr := os.Stat(crtPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case crtErr == nil && keyErr == nil:
		return loadCA(crtPath, keyPath, stdout)
	case crtErr == nil || keyErr == nil:
		return nil, nil, fmt.Errorf("%s and %s: only one exists; remove it to make a new CA, or restore the other", crtPath, keyPath)
	case !errors.Is(crtErr, fs.ErrNotExist):
		return nil, nil, crtErr
	case !errors.Is(keyErr, fs.ErrNotExist):
		return nil, nil, keyErr
	}
	key, serial, err := newKeyAndSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: opts.ca, Organization: []string{"Pier"}},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.AddDate(0, 0, max(opts.days, 3650)),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("make CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "made %s\n", keyPath)
	if err := writePEM(crtPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "made %s (CA %s, valid until %s)\n", crtPath, opts.ca, cert.NotAfter.Format(time.DateOnly))
	return cert, key, nil
}

// loadCA reads an existing CA; it must be a CA and not have expired.
func loadCA(crtPath, keyPath string, stdout io.Writer) (*x509.Certificate, crypto.Signer, error) {
	pair, err := tls.LoadX509KeyPair(crtPath, keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("CA: %w", err)
	}
	cert := pair.Leaf
	if cert == nil {
		if cert, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("CA %s: %w", crtPath, err)
		}
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	switch {
	case !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, nil, fmt.Errorf("%s is not a CA certificate (it may not sign certificates)", crtPath)
	case time.Now().After(cert.NotAfter):
		return nil, nil, fmt.Errorf("the CA %s expired on %s; move it and its key away to make a new one (and new certificates for everyone)",
			crtPath, cert.NotAfter.Format(time.DateOnly))
	case !ok:
		return nil, nil, fmt.Errorf("%s: the key cannot sign", keyPath)
	}
	fmt.Fprintf(stdout, "using %s (CA %s, valid until %s)\n", crtPath, cert.Subject.CommonName, cert.NotAfter.Format(time.DateOnly))
	return cert, signer, nil
}

// issueCert makes DIR/NAME.key and DIR/NAME.crt, signed by the CA.
func issueCert(opts certsOptions, s certSpec, ca *x509.Certificate, caKey crypto.Signer, stdout io.Writer) error {
	key, serial, err := newKeyAndSerial()
	if err != nil {
		return err
	}
	now := time.Now()
	notAfter := now.AddDate(0, 0, opts.days)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: s.name},
		DNSNames:     s.dns,
		IPAddresses:  s.ips,
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	keyPath, crtPath := filepath.Join(opts.dir, s.name+".key"), filepath.Join(opts.dir, s.name+".crt")
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "made %s\n", keyPath)
	if err := writePEM(crtPath, "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	names := append([]string(nil), s.dns...)
	for _, ip := range s.ips {
		names = append(names, ip.String())
	}
	fmt.Fprintf(stdout, "made %s (CN=%s; names %s; valid until %s)\n", crtPath, s.name, strings.Join(names, ", "),
		notAfter.Format(time.DateOnly))
	return nil
}

// newKeyAndSerial makes an ECDSA P-256 key and a random 128-bit serial
// number for a new certificate.
func newKeyAndSerial() (*ecdsa.PrivateKey, *big.Int, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	return key, serial, nil
}

// writeKey writes key as PKCS#8 PEM ("PRIVATE KEY"), readable by its owner
// only.
func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM writes one PEM block to path with mode, atomically: a
// temporary file in the same directory, renamed over path.
func writePEM(path, blockType string, der []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(mode)
	if err == nil {
		err = pem.Encode(f, &pem.Block{Type: blockType, Bytes: der})
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
