// Package auth is Pier's front door: it authenticates every connection —
// whatever its protocol, a network bridge, the console — from its
// credentials, TLS certificate, remote address and protocol, and authorizes
// every access to a destination with ActiveMQ's semantics (read, write and
// admin per queue or topic pattern, granted to groups, all matching entries
// united). The broker core calls it; protocol adapters only translate its
// refusals into their protocol's errors.
//
// A Guard is built once from the configuration and is then read-only, so it
// is safe for concurrent use without locks on the authorization path; the
// login cache and the failed-login tracker have their own.
package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/message"
)

// Errors. Adapters map both to their protocol's security error (OpenWire:
// java.lang.SecurityException, which the JMS client raises as
// JMSSecurityException).
var (
	// ErrAuthentication is a refused login.
	ErrAuthentication = errors.New("authentication failed")
	// ErrNotAuthorized is a refused access to a destination.
	ErrNotAuthorized = errors.New("auth: not authorized")
)

// Action is what a subject wants to do with a destination.
type Action uint8

// Actions, as ActiveMQ's authorization entries name them.
const (
	// Read is consuming and browsing.
	Read Action = iota + 1
	// Write is sending.
	Write
	// Admin is creating a destination (ActiveMQ's "admin").
	Admin
)

func (a Action) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// verb is how ActiveMQ's refusals name an action.
func (a Action) verb() string {
	switch a {
	case Read:
		return "read from"
	case Write:
		return "write to"
	case Admin:
		return "create"
	}
	return a.String()
}

// Credentials are what a connection presents.
type Credentials struct {
	Username, Password string
	// Remote is the peer's address, for the audit log and the slowing of
	// failed logins.
	Remote string
	// Protocol names the transport (openwire, stomp, http, ...).
	Protocol string
	// Certificates is the peer's verified TLS certificate chain, leaf
	// first (empty without TLS or without a client certificate). Without a
	// user name, the leaf's common name stands for a configured user.
	Certificates []*x509.Certificate
	// Request marks a login per request (HTTP) rather than per
	// connection: its successes are logged at debug level, so that a
	// metrics scraper does not fill the audit log (failures are logged as
	// always).
	Request bool
}

// Subject is an authenticated connection's identity.
type Subject struct {
	// User is the user name ("anonymous" for an anonymous subject).
	User string
	// Anonymous marks a subject let in without credentials.
	Anonymous bool
	system    bool
	groups    []string // sorted
	bridge    bool
}

// System is the broker's own subject (its advisories, network bridges'
// local side): allowed everything.
var System = &Subject{User: "system", system: true, bridge: true}

// IsSystem reports whether s is the broker itself.
func (s *Subject) IsSystem() bool { return s.system }

// Groups returns the subject's groups, sorted.
func (s *Subject) Groups() []string { return slices.Clone(s.groups) }

// MayBridge reports whether the subject may open a network bridge into this
// broker (a duplex connector's request to be bridged back).
func (s *Subject) MayBridge() bool { return s.bridge }

func (s *Subject) in(group string) bool {
	_, ok := slices.BinarySearch(s.groups, group)
	return ok
}

// User is one configured user.
type User struct {
	Name string
	// Hash is a bcrypt hash of the password, or the plain-text password
	// when Plain (read from an ActiveMQ users.properties file).
	Hash   string
	Plain  bool
	Groups []string
}

// Grants are the groups allowed each action; "*" is every subject.
type Grants struct {
	Read, Write, Admin []string
}

func (g *Grants) of(a Action) []string {
	switch a {
	case Read:
		return g.Read
	case Write:
		return g.Write
	case Admin:
		return g.Admin
	}
	return nil
}

// Entry is one authorization entry: the grants on the queues (Topic false)
// or topics (Topic true) a pattern matches.
type Entry struct {
	Topic   bool
	Pattern string
	Grants
}

// Options configure a Guard.
type Options struct {
	// Enforced turns security on. Without it every connection is let in
	// (its user name taken as given) and everything is allowed: Pier as it
	// was before security, allowed only on loopback.
	Enforced bool
	Users    []User
	// AllowAnonymous lets connections without credentials in, as user
	// "anonymous" in group "anonymous".
	AllowAnonymous bool
	// Entries are the authorization entries. Without any, an
	// authenticated subject may do everything (ActiveMQ without an
	// authorization plugin).
	Entries []Entry
	// Temp is the entry for temporary destinations; nil: only the owner's
	// connection may use one.
	Temp *Grants
	// Bridges are the groups whose users may open network bridges.
	Bridges []string
	// FailDelay is the pause after a failed login, doubled for each
	// further failure from the same host within a minute, up to
	// MaxFailDelay. Defaults: 200ms and 5s.
	FailDelay, MaxFailDelay time.Duration
	// CacheTTL is how long a verified password is remembered (default
	// 10m); CacheSize bounds how many are (default 10000).
	CacheTTL  time.Duration
	CacheSize int
	// ForgetLogins keeps verified logins in the process only, not in the
	// group's store (UseLoginStore; security.remember_logins: false).
	ForgetLogins bool
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// Log receives the audit log (logins, denials).
	Log *slog.Logger
}

// AnonymousUser and AnonymousGroup are an anonymous subject's names, as
// ActiveMQ's simple authentication plugin calls them.
const (
	AnonymousUser  = "anonymous"
	AnonymousGroup = "anonymous"
)

// Guard authenticates and authorizes. Build it with New.
type Guard struct {
	opts    Options
	log     *slog.Logger
	users   map[string]*User
	entries []entry
	temp    *Grants
	bridges []string
	logins  *loginCache
	fails   *failures
	denials denialLog
	work    chan struct{} // bounds concurrent password hashing

	verifications atomic.Int64 // bcrypt comparisons made, for tests and benchmarks

	store atomic.Pointer[loginStore] // where verified logins are remembered (remember.go)
}

// entry is an Entry with its pattern split into parts.
type entry struct {
	Entry
	parts []string
}

// Open returns a guard that lets everyone in and allows everything.
func Open() *Guard {
	g, _ := New(Options{})
	return g
}

// New checks opts and returns a guard.
func New(opts Options) (*Guard, error) {
	if opts.FailDelay == 0 {
		opts.FailDelay = 200 * time.Millisecond
	}
	if opts.MaxFailDelay == 0 {
		opts.MaxFailDelay = 5 * time.Second
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 10 * time.Minute
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	g := &Guard{opts: opts, log: opts.Log.With("component", "audit"), users: map[string]*User{},
		temp: opts.Temp, bridges: opts.Bridges, work: make(chan struct{}, hashWorkers())}
	for i := range opts.Users {
		u := opts.Users[i]
		if u.Name == "" {
			return nil, errors.New("auth: a user without a name")
		}
		if _, dup := g.users[u.Name]; dup {
			return nil, fmt.Errorf("auth: user %q is configured twice", u.Name)
		}
		if !u.Plain && !isBcrypt(u.Hash) {
			return nil, fmt.Errorf("auth: user %q: the password hash is not a bcrypt hash", u.Name)
		}
		u.Groups = slices.Clone(u.Groups)
		sort.Strings(u.Groups)
		g.users[u.Name] = &u
	}
	for _, e := range opts.Entries {
		if e.Pattern == "" {
			return nil, errors.New("auth: an authorization entry without a pattern")
		}
		if err := message.ValidateName(e.Pattern); err != nil {
			return nil, fmt.Errorf("auth: authorization entry %q: %w", e.Pattern, err)
		}
		g.entries = append(g.entries, entry{Entry: e, parts: strings.Split(e.Pattern, ".")})
	}
	g.logins = newLoginCache(opts.CacheSize, opts.CacheTTL, opts.Now)
	g.fails = newFailures(opts.Now)
	return g, nil
}

// Enforced reports whether security is on.
func (g *Guard) Enforced() bool { return g.opts.Enforced }

// AllowsAnonymous reports whether connections without credentials are let
// in.
func (g *Guard) AllowsAnonymous() bool { return !g.opts.Enforced || g.opts.AllowAnonymous }

// Summary describes the configuration for the startup log line.
func (g *Guard) Summary() []any {
	groups := map[string]bool{}
	plain := 0
	for _, u := range g.users {
		for _, gr := range u.Groups {
			groups[gr] = true
		}
		if u.Plain {
			plain++
		}
	}
	return []any{"enforced", g.opts.Enforced, "users", len(g.users), "plain_text_passwords", plain,
		"groups", len(groups), "authorization_entries", len(g.entries), "anonymous", g.opts.AllowAnonymous,
		"temp_destinations_entry", g.temp != nil, "bridge_groups", strings.Join(g.bridges, ",")}
}

// LogSummary writes the security configuration to the audit log once, at
// startup.
func (g *Guard) LogSummary() {
	g.log.Info("security configuration", g.Summary()...)
}

// subjectFor builds the subject of a configured user.
func (g *Guard) subjectFor(u *User) *Subject {
	s := &Subject{User: u.Name, groups: u.Groups}
	s.bridge = g.anyGroup(s, g.bridges)
	return s
}

func (g *Guard) anonymous() *Subject {
	return &Subject{User: AnonymousUser, Anonymous: true, groups: []string{AnonymousGroup}}
}

// anyGroup reports whether s is in one of groups ("*" is everyone).
func (g *Guard) anyGroup(s *Subject, groups []string) bool {
	for _, gr := range groups {
		if gr == "*" || s.in(gr) {
			return true
		}
	}
	return false
}
