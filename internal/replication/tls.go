package replication

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// TLS is the mutual TLS of the replication port. With it, the port accepts
// only connections whose client certificate verifies against CA, and every
// connection this member opens (Raft, status queries) presents Certificate
// and believes the other end only if its certificate verifies against CA.
//
// Membership is proved by the group's CA alone: the peer's certificate
// chain is verified (signature, validity period, key usage), its host name
// is not. Members are dialled by the addresses in the peers map, IPs as
// often as names, and a member keeps its certificate when it moves; the
// names in a certificate say nothing about whether it belongs to the group,
// the CA's signature does. Anyone holding a certificate of the CA is
// therefore a member: use a CA of the group's own (`pier certs` makes
// one), not one that signs certificates for other purposes.
//
// A member's certificate serves both ends of a connection, so it needs the
// extended key usages serverAuth and clientAuth (or none at all).
type TLS struct {
	// Certificate is this member's certificate chain and private key,
	// signed by CA. Only a status query may go without one (and a port
	// with TLS refuses it).
	Certificate *tls.Certificate
	// CA holds the group's CA certificates.
	CA *x509.CertPool
}

// minTLSVersion is the oldest protocol version spoken; Go prefers TLS 1.3
// when both ends have it, and its default cipher suites are used.
const minTLSVersion = tls.VersionTLS12

// validate checks a member's TLS: a CA, and a certificate of its own that
// the CA signed, valid now for both ends of a connection.
func (t *TLS) validate() error {
	if t.CA == nil {
		return errors.New("replication: TLS: no group CA")
	}
	if t.Certificate == nil || len(t.Certificate.Certificate) == 0 {
		return errors.New("replication: TLS: no certificate of this member")
	}
	leaf, inter, err := chain(t.Certificate.Certificate)
	if err != nil {
		return fmt.Errorf("replication: TLS: this member's certificate: %w", err)
	}
	for _, u := range []struct {
		usage x509.ExtKeyUsage
		name  string
	}{{x509.ExtKeyUsageServerAuth, "serverAuth"}, {x509.ExtKeyUsageClientAuth, "clientAuth"}} {
		opts := x509.VerifyOptions{Roots: t.CA, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{u.usage}}
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("replication: TLS: this member's certificate (CN=%s) does not verify against the group's CA for %s: %w",
				leaf.Subject.CommonName, u.name, err)
		}
	}
	return nil
}

// chain parses a DER certificate chain into its leaf and a pool of the rest.
func chain(der [][]byte) (*x509.Certificate, *x509.CertPool, error) {
	certs := make([]*x509.Certificate, len(der))
	for i, d := range der {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, nil, err
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	return certs[0], inter, nil
}

// serverConfig is the listening side: a client certificate is required and
// verified against the group's CA (by crypto/tls, which checks the chain
// and clientAuth, and no host name).
func (t *TLS) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion:             minTLSVersion,
		Certificates:           []tls.Certificate{*t.Certificate},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              t.CA,
		SessionTicketsDisabled: true, // every connection proves its certificate afresh
	}
}

// clientConfig is the dialling side: it presents this member's certificate
// and verifies the peer's chain against the group's CA, not its host name
// (see TLS).
func (t *TLS) clientConfig() *tls.Config {
	c := &tls.Config{
		MinVersion: minTLSVersion,
		// crypto/tls's own verification would also require the host name;
		// verifyPeer does the chain alone, on every handshake.
		InsecureSkipVerify: true,
		VerifyConnection:   t.verifyPeer,
	}
	if t.Certificate != nil {
		c.Certificates = []tls.Certificate{*t.Certificate}
	}
	return c
}

// verifyPeer checks the certificate a dialled member presents: a chain to
// the group's CA, valid now, for serverAuth.
func (t *TLS) verifyPeer(cs tls.ConnectionState) error {
	if t.CA == nil { // never the system's roots
		return errors.New("replication: TLS: no group CA to verify the peer with")
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("replication: the peer presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	opts := x509.VerifyOptions{Roots: t.CA, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("replication: the peer's certificate (CN=%s) is not of the group: %w", leaf.Subject.CommonName, err)
	}
	return nil
}

// refusals logs the connections the replication port refuses (a failed
// TLS handshake), at most once per remote host per interval, so that a scan
// or a flood of strangers cannot flood the log. A line says how many
// refusals of that host it stood for since the last one.
type refusals struct {
	log      *slog.Logger
	interval time.Duration

	mu struct {
		sync.Mutex
		hosts map[string]refusal
	}
}

// refusal is the last logged refusal of one host.
type refusal struct {
	at         time.Time
	suppressed int
}

// maxRefusalHosts bounds the hosts remembered; when that many refused
// within one interval, refusals of further hosts go unlogged.
const maxRefusalHosts = 1024

func newRefusals(log *slog.Logger, interval time.Duration) *refusals {
	r := &refusals{log: log, interval: interval}
	r.mu.hosts = map[string]refusal{}
	return r
}

// note records that a connection from peer was refused for err.
func (r *refusals) note(peer net.Addr, err error) {
	addr := peer.String()
	host := addr
	if h, _, e := net.SplitHostPort(addr); e == nil {
		host = h
	}
	now := time.Now()
	r.mu.Lock()
	last, seen := r.mu.hosts[host]
	if seen && now.Sub(last.at) < r.interval {
		last.suppressed++
		r.mu.hosts[host] = last
		r.mu.Unlock()
		return
	}
	if !seen && len(r.mu.hosts) >= maxRefusalHosts {
		for h, e := range r.mu.hosts {
			if now.Sub(e.at) >= r.interval {
				delete(r.mu.hosts, h)
			}
		}
		if len(r.mu.hosts) >= maxRefusalHosts {
			r.mu.Unlock()
			return
		}
	}
	r.mu.hosts[host] = refusal{at: now}
	r.mu.Unlock()
	attrs := []any{"peer", addr, "err", err}
	if last.suppressed > 0 {
		attrs = append(attrs, "refused_since_last_line", last.suppressed)
	}
	r.log.Warn("replication port refused a connection", attrs...)
}
