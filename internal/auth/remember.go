package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Logins verified by one master are remembered in the group's store, so a
// new master does not hash them again: after a failover, a reconnect storm
// of many users costs one HMAC a login instead of one bcrypt (about 60 ms
// of a core at cost 10: a minute for 1,000 users).
//
// What is stored for a verified (user, password) is the mark
// "login:USER:" and 16 bytes of HMAC-SHA256 keyed by the user's bcrypt hash
// over the user name and password. The key is in the configuration, not
// in the store: the store alone lets nobody test a guess. Who has both
// the store and the configuration can test guesses at HMAC speed rather
// than bcrypt speed for the users that logged in; a configuration alone
// gives what it gave before (ActiveMQ's users.properties holds the
// passwords themselves). security.remember_logins: false keeps verified
// logins in the process only (docs/security.md).

// LoginStore is where remembered logins are kept: the broker's marks.
type LoginStore interface {
	Marked(key string) bool
	Marks(prefix string) []string
	Mark(ctx context.Context, keys ...string) error
	Unmark(ctx context.Context, keys ...string) error
}

type loginStore struct{ s LoginStore }

// UseLoginStore makes s where verified logins are remembered (the broker
// of the span of service that starts), and forgets remembered logins of
// users no longer configured. nil stops remembering.
func (g *Guard) UseLoginStore(s LoginStore) {
	if s == nil || g.opts.ForgetLogins || !g.opts.Enforced {
		g.store.Store(nil)
		return
	}
	g.store.Store(&loginStore{s})
	var stale []string
	for _, k := range s.Marks(loginPrefix) {
		user, _, ok := strings.Cut(strings.TrimPrefix(k, loginPrefix), ":")
		if u := g.users[user]; !ok || u == nil || u.Plain {
			stale = append(stale, k)
		}
	}
	if len(stale) > 0 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s.Unmark(ctx, stale...)
		}()
	}
}

// DropLoginStore stops remembering in s, if it is the store in use (its
// span of service ends).
func (g *Guard) DropLoginStore(s LoginStore) {
	if cur := g.store.Load(); cur != nil && cur.s == s {
		g.store.CompareAndSwap(cur, nil)
	}
}

const loginPrefix = "login:"

// rememberKey is the mark of a verified login.
func rememberKey(u *User, password string) string {
	m := hmac.New(sha256.New, []byte(u.Hash))
	m.Write([]byte(u.Name))
	m.Write([]byte{0})
	m.Write([]byte(password))
	return loginPrefix + u.Name + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// remembered reports whether the group's store remembers the login.
func (g *Guard) remembered(u *User, password string) bool {
	st := g.store.Load()
	return st != nil && st.s.Marked(rememberKey(u, password))
}

// remember records a verified login in the group's store, in the
// background, replacing what it held for the user's other passwords.
func (g *Guard) remember(u *User, password string) {
	st := g.store.Load()
	if st == nil {
		return
	}
	key := rememberKey(u, password)
	if st.s.Marked(key) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var old []string
		for _, k := range st.s.Marks(loginPrefix + u.Name + ":") {
			if k != key && strings.Count(strings.TrimPrefix(k, loginPrefix+u.Name+":"), ":") == 0 {
				old = append(old, k)
			}
		}
		if err := st.s.Mark(ctx, key); err != nil {
			g.log.Debug("login not remembered in the store", "user", u.Name, "err", err)
			return
		}
		if len(old) > 0 {
			st.s.Unmark(ctx, old...)
		}
	}()
}
