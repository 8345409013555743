// Package keystore reads Java key and trust stores, PKCS#12 and JKS, as
// ActiveMQ's sslContext names them: the broker's key and certificate chain
// from a key store, trusted CA certificates from a trust store.
package keystore

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"

	jks "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// maxSize bounds a store file: they hold a few certificates.
const maxSize = 4 << 20

// Formats, by their first bytes.
var (
	jksMagic   = []byte{0xfe, 0xed, 0xfe, 0xed}
	jceksMagic = []byte{0xce, 0xce, 0xce, 0xce}
)

func read(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxSize {
		return nil, fmt.Errorf("%s: %d bytes; a key store is not that large", path, st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, jceksMagic) {
		return nil, fmt.Errorf("%s is a JCEKS store: convert it to PKCS#12 (keytool -importkeystore -srcstoretype JCEKS -deststoretype PKCS12)", path)
	}
	return data, nil
}

// LoadKey reads the private key and its certificate chain from a key
// store holding one private key entry.
func LoadKey(path, password string) (tls.Certificate, error) {
	data, err := read(path)
	if err != nil {
		return tls.Certificate{}, err
	}
	return keyFrom(path, data, password)
}

func keyFrom(path string, data []byte, password string) (tls.Certificate, error) {
	if bytes.HasPrefix(data, jksMagic) {
		return jksKey(path, data, password)
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", path, err)
	}
	c := tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, ca := range chain {
		c.Certificate = append(c.Certificate, ca.Raw)
	}
	return c, checkPair(path, c)
}

func jksKey(path string, data []byte, password string) (tls.Certificate, error) {
	ks := jks.New()
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", path, err)
	}
	var aliases []string
	for _, a := range ks.Aliases() {
		if ks.IsPrivateKeyEntry(a) {
			aliases = append(aliases, a)
		}
	}
	switch len(aliases) {
	case 0:
		return tls.Certificate{}, fmt.Errorf("%s: no private key entry", path)
	case 1:
	default:
		slices.Sort(aliases)
		return tls.Certificate{}, fmt.Errorf("%s: %d private key entries (%v); keep the broker's only", path, len(aliases), aliases)
	}
	e, err := ks.GetPrivateKeyEntry(aliases[0], []byte(password))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: entry %q: %w", path, aliases[0], err)
	}
	key, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: entry %q: %w", path, aliases[0], err)
	}
	if len(e.CertificateChain) == 0 {
		return tls.Certificate{}, fmt.Errorf("%s: entry %q has no certificate", path, aliases[0])
	}
	c := tls.Certificate{PrivateKey: key}
	for _, cc := range e.CertificateChain {
		c.Certificate = append(c.Certificate, cc.Content)
	}
	if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: entry %q: %w", path, aliases[0], err)
	}
	return c, checkPair(path, c)
}

// checkPair makes sure the key is the certificate's.
func checkPair(path string, c tls.Certificate) error {
	pub, ok := c.PrivateKey.(crypto.Signer)
	if !ok {
		return fmt.Errorf("%s: unsupported private key type %T", path, c.PrivateKey)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := pub.Public().(equaler); !ok || !e.Equal(c.Leaf.PublicKey) {
		return fmt.Errorf("%s: the private key is not the certificate's", path)
	}
	return nil
}

// LoadCAs reads the trusted certificates of a trust store.
func LoadCAs(path, password string) (*x509.CertPool, error) {
	data, err := read(path)
	if err != nil {
		return nil, err
	}
	return casFrom(path, data, password)
}

func casFrom(path string, data []byte, password string) (*x509.CertPool, error) {
	var certs []*x509.Certificate
	var err error
	if bytes.HasPrefix(data, jksMagic) {
		ks := jks.New()
		if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, a := range ks.Aliases() {
			if !ks.IsTrustedCertificateEntry(a) {
				continue
			}
			e, err := ks.GetTrustedCertificateEntry(a)
			if err != nil {
				return nil, fmt.Errorf("%s: entry %q: %w", path, a, err)
			}
			c, err := x509.ParseCertificate(e.Certificate.Content)
			if err != nil {
				return nil, fmt.Errorf("%s: entry %q: %w", path, a, err)
			}
			certs = append(certs, c)
		}
	} else if certs, err = pkcs12.DecodeTrustStore(data, password); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(certs) == 0 {
		return nil, errors.New(path + ": no trusted certificate entry")
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
