package config

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TLS is the broker's certificate, used by every TLS listener (ssl://,
// stomp+ssl://) and by the console, and what it trusts.
type TLS struct {
	// CertFile and KeyFile are the broker's certificate chain and private
	// key (PEM). YAML: tls.cert_file, tls.key_file.
	CertFile, KeyFile string
	// ClientCAFile, when set, makes TLS listeners ask for client
	// certificates and verify them against these CAs (PEM); a verified
	// certificate's common name can stand for a configured user. YAML:
	// tls.client_ca_file.
	ClientCAFile string
	// CAFile is what this broker trusts when it dials ssl:// brokers
	// (network bridges); empty: the system's roots. YAML: tls.ca_file.
	CAFile string
	// KeystoreFile is the broker's key and certificate chain in a Java
	// key store (PKCS#12 or JKS), instead of CertFile and KeyFile, as
	// ActiveMQ's sslContext keyStore. YAML: tls.keystore_file,
	// tls.keystore_password.
	KeystoreFile, KeystorePassword string
	// TruststoreFile is a Java trust store (PKCS#12 or JKS) of CAs, as
	// ActiveMQ's sslContext trustStore: trusted for client certificates
	// (as ClientCAFile) and for dialing ssl:// brokers (as CAFile). YAML:
	// tls.truststore_file, tls.truststore_password.
	TruststoreFile, TruststorePassword string
}

// Enabled reports whether the broker has a certificate.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeystoreFile != "" }

// Security is who may connect and what they may do, with ActiveMQ's
// semantics (simpleAuthenticationPlugin, authorizationPlugin).
type Security struct {
	// AllowAnonymous lets clients in without credentials. Unset (nil): true
	// when no users are configured, false once any exists. YAML:
	// security.allow_anonymous.
	AllowAnonymous *bool
	// ForgetLogins keeps verified logins in the process only; by default
	// they are remembered in the group's store so that a new master does
	// not hash every password again (docs/security.md). YAML:
	// security.remember_logins (true by default).
	ForgetLogins bool
	// Users are listed inline. YAML: security.users.
	Users []User
	// UsersFile and GroupsFile are ActiveMQ JAAS properties files
	// (user=password, group=user1,user2). YAML: security.users_file,
	// security.groups_file.
	UsersFile, GroupsFile string
	// Authorization lists ActiveMQ's authorization entries: every entry
	// whose pattern matches a destination adds its groups. With none,
	// every authenticated user may do everything. YAML:
	// security.authorization.
	Authorization []AuthzEntry
	// TempDestinations is the entry for temporary destinations
	// (ActiveMQ's tempDestinationAuthorizationEntry). YAML:
	// security.temp_destinations.
	TempDestinations *Grants
	// Bridges are the groups whose users may open a network bridge into
	// this broker: a duplex connector's request to be bridged back is
	// honoured only for them. YAML: security.bridges.
	Bridges []string
}

// User is one inline user.
type User struct {
	Name         string
	PasswordHash string // bcrypt, as `pier passwd` prints it
	Groups       []string
}

// Grants are the groups allowed each action.
type Grants struct {
	Read, Write, Admin []string
}

// AuthzEntry grants actions on the queues or topics a pattern matches.
type AuthzEntry struct {
	Queue, Topic string // exactly one is set; . * > as in destination names
	Grants
}

// HasUsers reports whether any users are configured (inline or in a file).
func (s *Security) HasUsers() bool { return len(s.Users) > 0 || s.UsersFile != "" }

// Anonymous reports whether clients may connect without credentials.
func (s *Security) Anonymous() bool {
	if s.AllowAnonymous != nil {
		return *s.AllowAnonymous
	}
	return !s.HasUsers()
}

// Enforced reports whether anything is checked at all: users,
// authorization entries or allow_anonymous are configured. Without them
// Pier is open, as before security existed (and allowed only on loopback).
// With allow_anonymous set explicitly, anonymous clients are let in but
// network bridges must still be granted (security.bridges).
func (s *Security) Enforced() bool {
	return s.HasUsers() || len(s.Authorization) > 0 || s.TempDestinations != nil || s.AllowAnonymous != nil ||
		len(s.Bridges) > 0
}

func (d *decoder) tls(path string, n *yaml.Node, t *TLS) {
	d.mapping(path, n, []field{
		{"cert_file", d.str(&t.CertFile)},
		{"key_file", d.str(&t.KeyFile)},
		{"client_ca_file", d.str(&t.ClientCAFile)},
		{"ca_file", d.str(&t.CAFile)},
		{"keystore_file", d.str(&t.KeystoreFile)},
		{"keystore_password", d.str(&t.KeystorePassword)},
		{"truststore_file", d.str(&t.TruststoreFile)},
		{"truststore_password", d.str(&t.TruststorePassword)},
	})
}

func (d *decoder) replicationTLS(path string, n *yaml.Node, t *ReplicationTLS) {
	d.mapping(path, n, []field{
		{"cert_file", d.str(&t.CertFile)},
		{"key_file", d.str(&t.KeyFile)},
		{"ca_file", d.str(&t.CAFile)},
	})
}

func (d *decoder) security(path string, n *yaml.Node, s *Security) {
	d.mapping(path, n, []field{
		{"allow_anonymous", func(p string, v *yaml.Node) {
			var b bool
			before := len(d.errs)
			d.boolean(&b)(p, v)
			if len(d.errs) == before && !isNull(resolve(v)) {
				s.AllowAnonymous = &b
			}
		}},
		{"remember_logins", func(p string, v *yaml.Node) {
			remember := !s.ForgetLogins
			d.boolean(&remember)(p, v)
			s.ForgetLogins = !remember
		}},
		{"users", func(p string, v *yaml.Node) {
			s.Users = nil
			d.sequence(p, v, func(ip string, iv *yaml.Node) {
				var u User
				d.mapping(ip, iv, []field{
					{"name", d.str(&u.Name)},
					{"password_hash", d.str(&u.PasswordHash)},
					{"groups", d.strList(&u.Groups)},
				})
				s.Users = append(s.Users, u)
			})
		}},
		{"users_file", d.str(&s.UsersFile)},
		{"groups_file", d.str(&s.GroupsFile)},
		{"authorization", func(p string, v *yaml.Node) {
			s.Authorization = nil
			d.sequence(p, v, func(ip string, iv *yaml.Node) {
				var e AuthzEntry
				d.mapping(ip, iv, []field{
					{"queue", d.str(&e.Queue)},
					{"topic", d.str(&e.Topic)},
					{"read", d.strList(&e.Read)},
					{"write", d.strList(&e.Write)},
					{"admin", d.strList(&e.Admin)},
				})
				s.Authorization = append(s.Authorization, e)
			})
		}},
		{"temp_destinations", func(p string, v *yaml.Node) {
			if isNull(resolve(v)) {
				return
			}
			g := &Grants{}
			d.grants(p, v, g)
			s.TempDestinations = g
		}},
		{"bridges", d.strList(&s.Bridges)},
	})
}

func (d *decoder) grants(path string, n *yaml.Node, g *Grants) {
	d.mapping(path, n, []field{
		{"read", d.strList(&g.Read)},
		{"write", d.strList(&g.Write)},
		{"admin", d.strList(&g.Admin)},
	})
}

// bcryptHash is the shape of a bcrypt hash: $2a$, $2b$ or $2y$, a two-digit
// cost and 53 characters of bcrypt's base64 alphabet.
var bcryptHash = regexp.MustCompile(`^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$`)

// IsBcryptHash reports whether s has the shape of a bcrypt hash.
func IsBcryptHash(s string) bool { return bcryptHash.MatchString(s) }

func (k *checker) security(c *Config) {
	s := &c.Security
	names := map[string]int{}
	for i, u := range s.Users {
		p := fmt.Sprintf("security.users[%d]", i)
		switch {
		case strings.TrimSpace(u.Name) == "":
			k.add(ErrMissing, p+".name", "must not be empty")
		case strings.ContainsAny(u.Name, " \t\r\n=:"):
			k.add(ErrInvalid, p+".name", "%q: a user name may not contain spaces, '=' or ':'", u.Name)
		default:
			if j, dup := names[u.Name]; dup {
				k.add(ErrInvalid, p+".name", "user %q is also security.users[%d]", u.Name, j)
			}
			names[u.Name] = i
		}
		switch {
		case u.PasswordHash == "":
			k.add(ErrMissing, p+".password_hash", "required (a bcrypt hash: run `pier passwd` and paste what it prints)")
		case !IsBcryptHash(u.PasswordHash):
			k.add(ErrInvalid, p+".password_hash", "is not a bcrypt hash ($2a$10$ and 53 more characters); run `pier passwd` and paste what it prints")
		}
		k.groupNames(p+".groups", u.Groups)
	}
	if s.GroupsFile != "" && s.UsersFile == "" && len(s.Users) == 0 {
		k.add(ErrInvalid, "security.groups_file", "is set but no users are (security.users_file or security.users)")
	}
	if s.AllowAnonymous != nil && !*s.AllowAnonymous && !s.HasUsers() {
		k.add(ErrInvalid, "security.allow_anonymous", "is false but no users are configured: nobody could connect (add security.users or security.users_file)")
	}
	for i, e := range s.Authorization {
		p := fmt.Sprintf("security.authorization[%d]", i)
		switch {
		case e.Queue == "" && e.Topic == "":
			k.add(ErrMissing, p, "needs a queue or a topic pattern")
		case e.Queue != "" && e.Topic != "":
			k.add(ErrInvalid, p, "has both a queue and a topic pattern; write two entries")
		default:
			key, pat := "queue", e.Queue
			if e.Topic != "" {
				key, pat = "topic", e.Topic
			}
			if err := checkPattern(pat); err != nil {
				k.add(ErrInvalid, p+"."+key, "%q: %v", pat, err)
			}
		}
		k.grants(p, e.Grants)
	}
	if s.TempDestinations != nil {
		k.grants("security.temp_destinations", *s.TempDestinations)
	}
	k.groupNames("security.bridges", s.Bridges)
}

func (k *checker) grants(path string, g Grants) {
	k.groupNames(path+".read", g.Read)
	k.groupNames(path+".write", g.Write)
	k.groupNames(path+".admin", g.Admin)
}

func (k *checker) groupNames(path string, groups []string) {
	for i, g := range groups {
		if strings.TrimSpace(g) == "" || strings.ContainsAny(g, " \t\r\n=,") {
			k.add(ErrInvalid, fmt.Sprintf("%s[%d]", path, i), "%q is not a group name", g)
		}
	}
}

// checkPattern validates a destination pattern: parts separated by dots,
// none empty, wildcards (* one part, > the rest) standing alone.
func checkPattern(p string) error {
	if strings.ContainsAny(p, " \t\r\n,") {
		return fmt.Errorf("patterns may not contain spaces or commas")
	}
	parts := strings.Split(p, ".")
	for i, part := range parts {
		switch {
		case part == "":
			return fmt.Errorf("empty part")
		case part == ">" && i != len(parts)-1:
			return fmt.Errorf("> must be the last part")
		case len(part) > 1 && strings.ContainsAny(part, "*>"):
			return fmt.Errorf("a wildcard must be a whole part (%q)", part)
		}
	}
	return nil
}

func (k *checker) tls(c *Config) {
	t := c.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		k.add(ErrMissing, "tls", "cert_file and key_file go together")
	}
	if t.ClientCAFile != "" && !t.Enabled() {
		k.add(ErrMissing, "tls.client_ca_file", "needs tls.cert_file and tls.key_file (the broker's own certificate)")
	}
	if t.KeystoreFile != "" && (t.CertFile != "" || t.KeyFile != "") {
		k.add(ErrInvalid, "tls.keystore_file", "give the broker's certificate either as keystore_file or as cert_file and key_file, not both")
	}
	if t.KeystorePassword != "" && t.KeystoreFile == "" {
		k.add(ErrMissing, "tls.keystore_password", "without tls.keystore_file")
	}
	if t.TruststoreFile != "" && (t.ClientCAFile != "" || t.CAFile != "") {
		k.add(ErrInvalid, "tls.truststore_file", "trusts clients and brokers alike: give it or client_ca_file and ca_file, not both")
	}
	if t.TruststoreFile != "" && !t.Enabled() {
		k.add(ErrMissing, "tls.truststore_file", "needs the broker's own certificate (keystore_file, or cert_file and key_file)")
	}
	if t.TruststorePassword != "" && t.TruststoreFile == "" {
		k.add(ErrMissing, "tls.truststore_password", "without tls.truststore_file")
	}
	for i, u := range c.Transports.urls() {
		if u == "" {
			continue
		}
		if scheme, _, err := listenAddr(u); err == nil && IsTLSScheme(scheme) && !t.Enabled() {
			k.add(ErrMissing, "transports."+transportSchemes[i].key, "%q needs tls.cert_file and tls.key_file", u)
		}
	}
	if r := c.Store.Replicated.TLS; c.Store.Kind == StoreReplicated && r.Enabled() {
		for _, f := range []struct{ key, v string }{{"cert_file", r.CertFile}, {"key_file", r.KeyFile}, {"ca_file", r.CAFile}} {
			if f.v == "" {
				k.add(ErrMissing, "store.replicated.tls."+f.key, "required for mutual TLS between members (`pier certs` makes them)")
			}
		}
	}
}

// exposure refuses listeners beyond loopback that anyone could use: client
// and console listeners without users (unless anonymous access is asked
// for explicitly), a replication port without mutual TLS (unless insecure
// is asked for explicitly).
func (k *checker) exposure(c *Config) {
	open := !c.Security.HasUsers() && (c.Security.AllowAnonymous == nil || !*c.Security.AllowAnonymous)
	if open {
		for i, u := range c.Transports.urls() {
			if _, hp, err := listenAddr(u); u != "" && err == nil && !loopbackHostPort(hp) {
				k.add(ErrInvalid, "transports."+transportSchemes[i].key,
					"%q listens beyond loopback and no users are configured: add security.users (or security.users_file), or set security.allow_anonymous: true to let in anyone who can reach it", u)
			}
		}
		if l := c.Console.Listen; l != "" && checkHostPort(l) == nil && !loopbackHostPort(l) {
			k.add(ErrInvalid, "console.listen",
				"%q listens beyond loopback and no users are configured: add security.users (or security.users_file), or set security.allow_anonymous: true", l)
		}
	}
	r := c.Store.Replicated
	if c.Store.Kind != StoreReplicated || r.TLS.Enabled() || r.Insecure || r.Bind == "" {
		return
	}
	if _, hp, err := listenAddr(r.Bind); err == nil && !loopbackHostPort(hp) {
		k.add(ErrInvalid, "store.replicated.bind",
			"%q listens beyond loopback without mutual TLS: set store.replicated.tls (cert_file, key_file, ca_file; `pier certs` makes them), or store.replicated.insecure: true to let anyone who can reach it join the group", r.Bind)
	}
}

// IsTLSScheme reports whether a transport scheme is TLS (ssl, stomp+ssl,
// and the like).
func IsTLSScheme(scheme string) bool {
	return scheme == "ssl" || strings.HasSuffix(scheme, "+ssl") || scheme == "wss"
}

// IsLoopback reports whether a listen address (host:port) accepts only
// connections from this machine: a loopback IP or "localhost". An empty
// host, 0.0.0.0, :: and other names listen beyond it.
func IsLoopback(hostport string) bool { return loopbackHostPort(hostport) }

func loopbackHostPort(hp string) bool {
	host, _, err := net.SplitHostPort(hp)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
