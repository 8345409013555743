package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/keystore"
)

// newGuard builds the front door from the security section: inline users,
// ActiveMQ's JAAS properties files, authorization entries.
func newGuard(cfg *config.Config, log *slog.Logger) (*auth.Guard, error) {
	s := &cfg.Security
	o := auth.Options{Enforced: s.Enforced(), AllowAnonymous: s.Anonymous(), Bridges: s.Bridges, ForgetLogins: s.ForgetLogins, Log: log}
	for _, u := range s.Users {
		o.Users = append(o.Users, auth.User{Name: u.Name, Hash: u.PasswordHash, Groups: u.Groups})
	}
	if s.UsersFile != "" {
		users, plain, unknown, err := auth.LoadUserFiles(s.UsersFile, s.GroupsFile)
		if err != nil {
			return nil, fmt.Errorf("security.users_file: %w", err)
		}
		if plain > 0 {
			log.Warn("the users file holds plain-text passwords; replace them with bcrypt hashes from `pier passwd`",
				"component", "audit", "file", s.UsersFile, "users", plain)
		}
		if len(unknown) > 0 {
			log.Warn("the groups file names users that do not exist", "component", "audit", "file", s.GroupsFile, "users", unknown)
		}
		o.Users = append(o.Users, users...)
	}
	for _, e := range s.Authorization {
		ae := auth.Entry{Pattern: e.Queue, Grants: auth.Grants(e.Grants)}
		if e.Topic != "" {
			ae.Topic, ae.Pattern = true, e.Topic
		}
		o.Entries = append(o.Entries, ae)
	}
	if t := s.TempDestinations; t != nil {
		g := auth.Grants(*t)
		o.Temp = &g
	}
	g, err := auth.New(o)
	if err != nil {
		return nil, fmt.Errorf("security: %w", err)
	}
	if g.Enforced() {
		g.LogSummary()
	}
	return g, nil
}

// serverTLS is the broker's TLS configuration for its TLS listeners and
// the console: its certificate, and the client CAs when client
// certificates are verified. Nil when no certificate is configured.
func serverTLS(t config.TLS) (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	cert, err := brokerCert(t)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var pool *x509.CertPool
	switch {
	case t.ClientCAFile != "":
		if pool, err = loadCAs(t.ClientCAFile); err != nil {
			return nil, fmt.Errorf("tls.client_ca_file: %w", err)
		}
	case t.TruststoreFile != "":
		if pool, err = keystore.LoadCAs(t.TruststoreFile, t.TruststorePassword); err != nil {
			return nil, fmt.Errorf("tls.truststore_file: %w", err)
		}
	}
	if pool != nil {
		// A certificate is verified when given; clients without one log
		// in with a password.
		c.ClientCAs, c.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return c, nil
}

// brokerCert is the broker's own certificate: a key store, or PEM files.
func brokerCert(t config.TLS) (tls.Certificate, error) {
	if t.KeystoreFile != "" {
		c, err := keystore.LoadKey(t.KeystoreFile, t.KeystorePassword)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("tls.keystore_file: %w", err)
		}
		return c, nil
	}
	c, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
	}
	return c, nil
}

// loadCAs reads a PEM file of CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}

// advertised returns a listener URL as clients and peers are told it: a
// host that binds every interface (0.0.0.0, ::, empty) is replaced by
// broker.advertise_host, or else by the machine's host name, as ActiveMQ
// publishes such connectors.
func advertised(cfg *config.Config, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return raw
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return raw
	}
	adv := cfg.Broker.AdvertiseHost
	if adv == "" {
		if adv, err = os.Hostname(); err != nil || adv == "" {
			adv = "localhost"
		}
	}
	u.Host = net.JoinHostPort(adv, port)
	return u.String()
}

// stompTLS is the broker's TLS configuration for STOMP listeners: without
// TLS 1.3 session tickets. Debian's stomp.py (8.0) reads a TLS connection
// in one thread while it writes its CONNECT in another; a session ticket
// arriving after the handshake makes it lose that CONNECT now and then
// (about one connection in ten under load, jasonrbriggs/stomp.py#450,
// fixed upstream by reading and writing in one thread). STOMP clients do
// not resume sessions, so nothing is lost by not offering it; OpenWire
// keeps its tickets (the Java client resumes, which makes a reconnect
// storm after a failover cheaper).
func stompTLS(c *tls.Config) *tls.Config {
	s := c.Clone()
	s.SessionTicketsDisabled = true
	return s
}
