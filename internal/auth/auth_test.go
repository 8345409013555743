package auth

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
)

// Hashes of "app-secret" and "admin-secret" (cost 10), as in
// examples/secure.yaml.
const (
	appHash   = "$2a$10$bE8sossOa2GiwcJxKZZuVOXZMhUety/0s6gKlzhJ8ut7z3qLkYjqy"
	adminHash = "$2a$10$XNTbYxGC9N1FfnOp1ppFAumVTAgCTEACKwiMPXkcwCJX/Sjamq6Cq"
)

// secureGuard is the guard of examples/secure.yaml.
func secureGuard(t testing.TB, mod func(*Options)) *Guard {
	t.Helper()
	all := []string{"admins"}
	apps := []string{"apps"}
	o := Options{
		Enforced: true,
		Users: []User{
			{Name: "app", Hash: appHash, Groups: []string{"apps"}},
			{Name: "admin", Hash: adminHash, Groups: []string{"admins"}},
			{Name: "legacy", Hash: "plain-pw", Plain: true, Groups: []string{"apps", "bridges"}},
		},
		Entries: []Entry{
			{Pattern: ">", Grants: Grants{Read: all, Write: all, Admin: all}},
			{Topic: true, Pattern: ">", Grants: Grants{Read: all, Write: all, Admin: all}},
			{Pattern: "orders.>", Grants: Grants{Read: apps, Write: apps, Admin: apps}},
			{Topic: true, Pattern: "prices.*", Grants: Grants{Read: []string{"*"}}},
			{Topic: true, Pattern: "ActiveMQ.Advisory.>", Grants: Grants{Read: []string{"*"}, Write: []string{"*"}, Admin: []string{"*"}}},
		},
		Temp:      &Grants{Read: []string{"apps", "admins"}, Write: []string{"apps", "admins"}, Admin: []string{"apps", "admins"}},
		Bridges:   []string{"bridges"},
		FailDelay: time.Millisecond, MaxFailDelay: 4 * time.Millisecond,
	}
	if mod != nil {
		mod(&o)
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func login(t testing.TB, g *Guard, user, pw string) *Subject {
	t.Helper()
	s, err := g.Authenticate(context.Background(), Credentials{Username: user, Password: pw, Remote: "127.0.0.1:5000", Protocol: "test"})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return s
}

func TestAuthenticate(t *testing.T) {
	g := secureGuard(t, nil)
	ctx := context.Background()
	s := login(t, g, "app", "app-secret")
	if s.User != "app" || s.Anonymous || !s.in("apps") || s.MayBridge() {
		t.Errorf("app subject = %+v", s)
	}
	if s := login(t, g, "legacy", "plain-pw"); !s.MayBridge() {
		t.Errorf("legacy (group bridges) may not bridge")
	}
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "admin"}}
	s, err := g.Authenticate(ctx, Credentials{Certificates: []*x509.Certificate{cert}})
	if err != nil || s.User != "admin" || !s.in("admins") {
		t.Errorf("certificate login = %+v, %v", s, err)
	}
	for _, c := range []struct {
		name string
		cred Credentials
		msg  string
	}{
		{"wrong password", Credentials{Username: "app", Password: "nope"}, "User name [app] or password is invalid."},
		{"unknown user", Credentials{Username: "mallory", Password: "x"}, "User name [mallory] or password is invalid."},
		{"plain text wrong", Credentials{Username: "legacy", Password: "plain-pwx"}, "User name [legacy] or password is invalid."},
		{"anonymous", Credentials{}, "anonymous connections are not allowed"},
		{"certificate of nobody", Credentials{Certificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: "eve"}}}}, `"eve" is not a user`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := g.Authenticate(ctx, c.cred)
			if !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err = %v, want ErrAuthentication saying %q", err, c.msg)
			}
		})
	}
	// Open to anyone on purpose, without users: credentials are ignored
	// (and grant nothing).
	open, err := New(Options{Enforced: true, AllowAnonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := open.Authenticate(ctx, Credentials{Username: "admin", Password: "x"}); err != nil || !s.Anonymous || s.User != AnonymousUser {
		t.Errorf("credentials on a broker without users: %+v, %v", s, err)
	}
	anon := secureGuard(t, func(o *Options) { o.AllowAnonymous = true })
	if _, err := anon.Authenticate(ctx, Credentials{Username: "app", Password: "wrong"}); !errors.Is(err, ErrAuthentication) {
		t.Errorf("a wrong password with anonymous allowed: %v, want refused", err)
	}
	s, err = anon.Authenticate(ctx, Credentials{})
	if err != nil || !s.Anonymous || s.User != AnonymousUser || !s.in(AnonymousGroup) {
		t.Errorf("anonymous = %+v, %v", s, err)
	}
}

func TestOpenGuardLetsEveryoneIn(t *testing.T) {
	g := Open()
	s, err := g.Authenticate(context.Background(), Credentials{Username: "whoever", Password: "x"})
	if err != nil || s.User != "whoever" || !s.MayBridge() {
		t.Fatalf("open guard: %+v, %v", s, err)
	}
	if err := g.Authorize(s, Write, message.Destination{Kind: message.Topic, Name: "ActiveMQ.Advisory.X"}); err != nil {
		t.Errorf("open guard refused: %v", err)
	}
}

// A reconnect storm costs one bcrypt per user and password.
func TestLoginCache(t *testing.T) {
	g := secureGuard(t, nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			login(t, g, "app", "app-secret")
		}()
	}
	wg.Wait()
	if n := g.verifications.Load(); n != 1 {
		t.Errorf("50 concurrent logins made %d bcrypt verifications, want 1", n)
	}
	login(t, g, "app", "app-secret")
	if _, err := g.Authenticate(context.Background(), Credentials{Username: "app", Password: "wrong"}); err == nil {
		t.Fatal("wrong password accepted after a cached login")
	}
	if n := g.verifications.Load(); n != 2 {
		t.Errorf("after a cached login and a wrong password: %d verifications, want 2", n)
	}
}

func TestLoginCacheExpires(t *testing.T) {
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	g := secureGuard(t, func(o *Options) { o.Now = clock; o.CacheTTL = time.Minute })
	login(t, g, "app", "app-secret")
	login(t, g, "app", "app-secret")
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	login(t, g, "app", "app-secret")
	if n := g.verifications.Load(); n != 2 {
		t.Errorf("verifications = %d, want 2 (one cached, one after expiry)", n)
	}
}

func TestFailuresSlowDown(t *testing.T) {
	now := time.Unix(1000, 0)
	f := newFailures(func() time.Time { return now })
	var got []time.Duration
	for range 6 {
		got = append(got, f.failed("10.0.0.1", 100*time.Millisecond, time.Second))
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays = %v, want %v ms", got, want)
		}
	}
	if d := f.failed("10.0.0.2", 100*time.Millisecond, time.Second); d != 100*time.Millisecond {
		t.Errorf("another host's first failure waits %v", d)
	}
	now = now.Add(2 * time.Minute)
	if d := f.failed("10.0.0.1", 100*time.Millisecond, time.Second); d != 100*time.Millisecond {
		t.Errorf("after the window, the first failure waits %v", d)
	}
}

func TestAuthorize(t *testing.T) {
	g := secureGuard(t, nil)
	app := login(t, g, "app", "app-secret")
	admin := login(t, g, "admin", "admin-secret")
	q := func(n string) message.Destination { return message.Destination{Kind: message.Queue, Name: n} }
	tp := func(n string) message.Destination { return message.Destination{Kind: message.Topic, Name: n} }
	tq := message.Destination{Kind: message.TempQueue, Name: "ID:x-1:1"}
	for _, c := range []struct {
		s    *Subject
		a    Action
		d    message.Destination
		deny string // expected refusal message; empty: allowed
	}{
		{app, Write, q("orders.new"), ""},
		{app, Read, q("orders.new.eu"), ""},
		{app, Admin, q("orders.x"), ""},
		{app, Write, q("orders"), "User app is not authorized to write to: queue://orders"},
		{app, Write, q("payments"), "User app is not authorized to write to: queue://payments"},
		{app, Read, tp("orders.new"), "User app is not authorized to read from: topic://orders.new"},
		{app, Admin, q("payments"), "User app is not authorized to create: queue://payments"},
		{admin, Write, q("payments"), ""},
		{admin, Read, tp("anything.at.all"), ""},
		{app, Read, tp("prices.eur"), ""}, // "*"
		{app, Write, tp("prices.eur"), "User app is not authorized to write to: topic://prices.eur"},
		// Wildcards: allowed only where every match is.
		{app, Read, q("orders.*"), ""},
		{app, Read, q("orders.>"), ""},
		{app, Read, q("*.new"), "User app is not authorized to read from: queue://*.new"},
		{app, Read, q(">"), "User app is not authorized to read from: queue://>"},
		{admin, Read, q(">"), ""},
		{app, Read, tp("prices.>"), "User app is not authorized to read from: topic://prices.>"},
		{app, Read, tp("prices.*"), ""},
		// Advisories.
		{app, Read, tp("ActiveMQ.Advisory.Consumer.Queue.orders"), ""},
		{app, Write, tp("ActiveMQ.Advisory.TempQueue"), "User app is not authorized to write to: topic://ActiveMQ.Advisory.TempQueue (advisory topics are written by the broker only)"},
		{admin, Write, tp("ActiveMQ.Advisory.Consumer.Queue.x"), "(advisory topics are written by the broker only)"},
		// Temporary destinations of other connections.
		{app, Write, tq, ""},
		{admin, Read, tq, ""},
		{System, Write, tp("ActiveMQ.Advisory.TempQueue"), ""},
	} {
		err := g.Authorize(c.s, c.a, c.d)
		switch {
		case c.deny == "" && err != nil:
			t.Errorf("%s %s %s: refused: %v", c.s.User, c.a, c.d, err)
		case c.deny != "" && (err == nil || !errors.Is(err, ErrNotAuthorized) || !strings.Contains(err.Error(), c.deny)):
			t.Errorf("%s %s %s: err = %v, want a refusal saying %q", c.s.User, c.a, c.d, err, c.deny)
		}
	}

	// Without a temp entry only creating is allowed (the owner's own use
	// is the broker's business).
	noTemp := secureGuard(t, func(o *Options) { o.Temp = nil })
	u := login(t, noTemp, "admin", "admin-secret")
	if err := noTemp.Authorize(u, Admin, tq); err != nil {
		t.Errorf("creating a temporary queue without a temp entry: %v", err)
	}
	if err := noTemp.Authorize(u, Write, tq); !errors.Is(err, ErrNotAuthorized) {
		t.Errorf("writing another connection's temporary queue without a temp entry: %v", err)
	}
	// The temporary-destination advisories are readable by everyone, even
	// without an entry granting them.
	noAdv := secureGuard(t, func(o *Options) { o.Entries = o.Entries[:2] })
	u = login(t, noAdv, "app", "app-secret")
	if err := noAdv.Authorize(u, Read, tp("ActiveMQ.Advisory.TempQueue")); err != nil {
		t.Errorf("temp advisory: %v", err)
	}
	if err := noAdv.Authorize(u, Read, tp("ActiveMQ.Advisory.Consumer.Queue.x")); err == nil {
		t.Error("consumer advisory readable without a grant")
	}
	// No entries: an authenticated user may do everything.
	none := secureGuard(t, func(o *Options) { o.Entries = nil })
	u = login(t, none, "app", "app-secret")
	if err := none.Authorize(u, Admin, q("anything")); err != nil {
		t.Errorf("no entries: %v", err)
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		e, p string
		want bool
	}{
		{">", "a", true}, {">", ">", true}, {">", "a.*.c", true},
		{"a.>", "a.b", true}, {"a.>", "a.>", true}, {"a.>", "a", false}, {"a.>", ">", false},
		{"a.*", "a.b", true}, {"a.*", "a.*", true}, {"a.*", "a.>", false}, {"a.*", "a.b.c", false},
		{"a.b", "a.*", false}, {"*.b", "a.b", true}, {"*.b", "*.b", true}, {"*.b", "*.c", false},
		{"a.b", "a.b", true},
	} {
		if got := covers(strings.Split(c.e, "."), strings.Split(c.p, ".")); got != c.want {
			t.Errorf("covers(%q, %q) = %v, want %v", c.e, c.p, got, c.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, o := range []Options{
		{Users: []User{{Name: "a", Hash: "not-bcrypt"}}},
		{Users: []User{{Name: "a", Hash: appHash}, {Name: "a", Hash: appHash}}},
		{Entries: []Entry{{Pattern: "a.>.b"}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("s3cret", DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Enforced: true, Users: []User{{Name: "u", Hash: h}}})
	if err != nil {
		t.Fatal(err)
	}
	login(t, g, "u", "s3cret")
	if _, err := HashPassword("", DefaultCost); err == nil {
		t.Error("empty password hashed")
	}
	if _, err := HashPassword("x", 3); err == nil {
		t.Error("cost 3 accepted")
	}
	if h, err := HashPassword("x", 4); err != nil || !strings.HasPrefix(h, "$2a$04$") {
		t.Errorf("cost 4: %q, %v", h, err)
	}
	if _, err := HashPassword(strings.Repeat("x", 73), DefaultCost); err == nil {
		t.Error("73-byte password hashed (bcrypt ignores what is beyond 72)")
	}
}

func TestDenialLogIsNotAFlood(t *testing.T) {
	var buf syncBuffer
	g := secureGuard(t, func(o *Options) { o.Log = newTextLogger(&buf) })
	app := login(t, g, "app", "app-secret")
	for range 100 {
		g.Authorize(app, Write, message.Destination{Kind: message.Queue, Name: "payments"})
	}
	if n := strings.Count(buf.String(), "access denied"); n != 1 {
		t.Errorf("100 identical refusals logged %d times, want 1:\n%s", n, buf.String())
	}
}
