package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Authenticate checks a connection's credentials and returns its subject.
// A refusal wraps ErrAuthentication, with ActiveMQ's wording, after a pause
// that grows with the failures from the same host; it is logged.
//
// Without enforcement everyone is let in, under the name they give. With
// it: a user name is checked against its password (bcrypt, or a plain-text
// password from an ActiveMQ file); without one, a verified client
// certificate's common name stands for that user; without either, the
// subject is anonymous if that is allowed.
func (g *Guard) Authenticate(ctx context.Context, c Credentials) (*Subject, error) {
	if !g.opts.Enforced {
		name := c.Username
		if name == "" {
			name = AnonymousUser
		}
		return &Subject{User: name, Anonymous: c.Username == "", bridge: true}, nil
	}
	s, method, err := g.verify(ctx, c)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		delay := g.fails.failed(host(c.Remote), g.opts.FailDelay, g.opts.MaxFailDelay)
		g.log.Warn("login refused", "user", c.Username, "proto", c.Protocol, "peer", c.Remote, "reason", err.Error(),
			"delay", delay.String())
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		if c.Username == "" {
			return nil, fmt.Errorf("%w: %v", ErrAuthentication, err)
		}
		// ActiveMQ's words, which its users grep their logs for.
		return nil, fmt.Errorf("%w: User name [%s] or password is invalid.", ErrAuthentication, c.Username)
	}
	level := slog.LevelInfo
	if c.Request {
		level = slog.LevelDebug
	}
	g.log.Log(ctx, level, "login", "user", s.User, "proto", c.Protocol, "peer", c.Remote, "method", method)
	return s, nil
}

// verify checks credentials; method says how they were accepted.
func (g *Guard) verify(ctx context.Context, c Credentials) (s *Subject, method string, err error) {
	switch {
	case c.Username != "" && len(g.users) == 0 && g.opts.AllowAnonymous:
		// No users to check a name against (a broker open to anyone on
		// purpose): the credentials some clients always send are ignored.
		return g.anonymous(), "anonymous", nil
	case c.Username != "":
		u := g.users[c.Username]
		if u == nil {
			// Spend the time a wrong password would, so that a user
			// name cannot be probed by timing.
			g.hash(ctx, func() { bcrypt.CompareHashAndPassword(dummyHash, []byte(c.Password)) })
			return nil, "", fmt.Errorf("unknown user %q", c.Username)
		}
		if !g.checkPassword(ctx, u, c.Password) {
			return nil, "", fmt.Errorf("wrong password for user %q", c.Username)
		}
		return g.subjectFor(u), "password", nil
	case len(c.Certificates) > 0:
		cn := c.Certificates[0].Subject.CommonName
		u := g.users[cn]
		if u == nil {
			return nil, "", fmt.Errorf("the certificate's common name %q is not a user", cn)
		}
		return g.subjectFor(u), "certificate", nil
	case g.opts.AllowAnonymous:
		return g.anonymous(), "anonymous", nil
	}
	return nil, "", fmt.Errorf("anonymous connections are not allowed: give a user name and password")
}

// checkPassword compares password with u's, through the cache of verified
// logins: a reconnect storm after a failover costs one bcrypt per user.
func (g *Guard) checkPassword(ctx context.Context, u *User, password string) bool {
	if u.Plain {
		return subtle.ConstantTimeCompare([]byte(u.Hash), []byte(password)) == 1
	}
	key := g.logins.key(u.Name, password)
	if g.logins.hit(key) {
		return true
	}
	// Concurrent first logins of one user with one password share a
	// single verification.
	ok := g.logins.once(key, func() bool {
		if g.remembered(u, password) { // verified by a master before (remember.go)
			return true
		}
		err := ErrAuthentication
		g.hash(ctx, func() {
			g.verifications.Add(1)
			err = bcrypt.CompareHashAndPassword([]byte(u.Hash), []byte(password))
		})
		if err == nil {
			g.remember(u, password)
		}
		return err == nil
	})
	return ok
}

// hash runs f, a password hash, with at most hashWorkers at once: a flood
// of wrong passwords cannot take every core from the broker.
func (g *Guard) hash(ctx context.Context, f func()) {
	select {
	case g.work <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-g.work }()
	f()
}

func hashWorkers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// dummyHash is compared against for unknown users: a bcrypt hash (cost 10,
// as `pier passwd` makes) of a random password nobody kept.
var dummyHash = []byte("$2a$10$xnEZc97Dd7VKzZekAVfofexVze5ohTQriR3oM52SQBXECKSw6W6Xe")

// isBcrypt reports whether h is a bcrypt hash bcrypt can use.
func isBcrypt(h string) bool {
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

// DefaultCost is the bcrypt cost `pier passwd` uses: about 60 ms of one
// core here per verification, paid once per user and password per process
// (the login cache), so once per user after a failover.
const DefaultCost = bcrypt.DefaultCost

// HashPassword returns the bcrypt hash of password at cost (4 to 31;
// `pier passwd`).
func HashPassword(password string, cost int) (string, error) {
	if password == "" {
		return "", fmt.Errorf("auth: empty password")
	}
	if len(password) > 72 {
		return "", fmt.Errorf("auth: a password longer than 72 bytes cannot be hashed with bcrypt")
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return "", fmt.Errorf("auth: bcrypt cost %d: want %d to %d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return string(h), nil
}

func host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// loginCache remembers verified (user, password) pairs by an HMAC under a
// key of this process, never the password itself.
type loginCache struct {
	secret [32]byte
	size   int
	ttl    time.Duration
	now    func() time.Time

	mu struct {
		sync.Mutex
		ok       map[[32]byte]time.Time // key -> expiry
		inflight map[[32]byte]*flight
	}
}

type flight struct {
	done chan struct{}
	ok   bool
}

func newLoginCache(size int, ttl time.Duration, now func() time.Time) *loginCache {
	c := &loginCache{size: size, ttl: ttl, now: now}
	rand.Read(c.secret[:])
	c.mu.ok = map[[32]byte]time.Time{}
	c.mu.inflight = map[[32]byte]*flight{}
	return c
}

func (c *loginCache) key(user, password string) [32]byte {
	m := hmac.New(sha256.New, c.secret[:])
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [32]byte
	m.Sum(k[:0])
	return k
}

func (c *loginCache) hit(k [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.mu.ok[k]
	if ok && c.now().After(exp) {
		delete(c.mu.ok, k)
		return false
	}
	return ok
}

// once runs verify for k unless a verification of k is under way, whose
// answer it then waits for; a success is remembered.
func (c *loginCache) once(k [32]byte, verify func() bool) bool {
	c.mu.Lock()
	if f := c.mu.inflight[k]; f != nil {
		c.mu.Unlock()
		<-f.done
		return f.ok
	}
	f := &flight{done: make(chan struct{})}
	c.mu.inflight[k] = f
	c.mu.Unlock()
	f.ok = verify()
	c.mu.Lock()
	delete(c.mu.inflight, k)
	if f.ok {
		if len(c.mu.ok) >= c.size {
			c.evictLocked()
		}
		c.mu.ok[k] = c.now().Add(c.ttl)
	}
	c.mu.Unlock()
	close(f.done)
	return f.ok
}

// evictLocked drops expired entries, and if none were, about half of the
// others (map order is random).
func (c *loginCache) evictLocked() {
	now := c.now()
	n := len(c.mu.ok)
	for k, exp := range c.mu.ok {
		if now.After(exp) {
			delete(c.mu.ok, k)
		}
	}
	if len(c.mu.ok) < n {
		return
	}
	for k := range c.mu.ok {
		if len(c.mu.ok) <= n/2 {
			return
		}
		delete(c.mu.ok, k)
	}
}

// failures counts recent failed logins per host.
type failures struct {
	now func() time.Time
	mu  struct {
		sync.Mutex
		byHost map[string]failRecord
	}
}

type failRecord struct {
	count int
	last  time.Time
}

// failWindow is how long failures from a host are remembered.
const failWindow = time.Minute

func newFailures(now func() time.Time) *failures {
	f := &failures{now: now}
	f.mu.byHost = map[string]failRecord{}
	return f
}

// failed records a failure from host and returns how long to pause: base,
// doubled for each earlier failure within failWindow, up to limit.
func (f *failures) failed(host string, base, limit time.Duration) time.Duration {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.mu.byHost) > 10000 {
		for h, r := range f.mu.byHost {
			if now.Sub(r.last) > failWindow {
				delete(f.mu.byHost, h)
			}
		}
	}
	r := f.mu.byHost[host]
	if now.Sub(r.last) > failWindow {
		r.count = 0
	}
	r.count++
	r.last = now
	f.mu.byHost[host] = r
	d := base
	for i := 1; i < r.count && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
