package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/piermq/pier/internal/auth"
)

// Who may use the console, and how they prove it. Scripts send HTTP basic
// authentication (or a client certificate) with every request; the pages
// log in once (POST /api/v1/login) and then carry a session cookie. A
// change made with a cookie must also carry the session's CSRF token in
// the X-CSRF-Token header, which a page of another site cannot read; a
// request with the Authorization header needs none. Every change is also
// refused when a browser says it comes from another origin
// (http.CrossOriginProtection), which covers credentials a browser caches
// for basic authentication too.

const (
	// sessionCookie names the session cookie.
	sessionCookie = "pier_session"
	// csrfHeader carries the session's CSRF token on changes.
	csrfHeader = "X-CSRF-Token"
	// sessionIdle ends a session unused this long.
	sessionIdle = 30 * time.Minute
	// sessionMax ends a session this long after the login, used or not.
	sessionMax = 12 * time.Hour
	// maxSessions bounds the sessions held; beyond it the oldest go.
	maxSessions = 10000
)

// principal is who a request comes from.
type principal struct {
	// subject is who the front door found; nil without a guard.
	subject *auth.Subject
	user    string
	admin   bool // may change things (console.admin_groups)
	// session is the request's session when it came with the cookie
	// (not with the Authorization header).
	session *session
}

// session is one login of the pages.
type session struct {
	token   string // the cookie's value
	csrf    string
	subject *auth.Subject
	user    string
	admin   bool
	created time.Time
	seen    time.Time // guarded by sessions.mu
}

// sessions holds the pages' logins, in memory: a restart or a failover
// to another member logs the pages out.
type sessions struct {
	now func() time.Time
	mu  struct {
		sync.Mutex
		byToken map[string]*session
	}
}

func newSessions(now func() time.Time) *sessions {
	ss := &sessions{now: now}
	ss.mu.byToken = map[string]*session{}
	return ss
}

// token returns 32 random bytes, base64url.
func token() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for p.
func (ss *sessions) create(p *principal) *session {
	now := ss.now()
	s := &session{token: token(), csrf: token(), subject: p.subject, user: p.user, admin: p.admin,
		created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.mu.byToken) >= maxSessions {
		ss.sweepLocked(now)
	}
	ss.mu.byToken[s.token] = s
	return s
}

// get returns the live session of tok and marks it used; nil if there is
// none or it expired.
func (ss *sessions) get(tok string) *session {
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.mu.byToken[tok]
	if s == nil {
		return nil
	}
	if expired(s, now) {
		delete(ss.mu.byToken, tok)
		return nil
	}
	s.seen = now
	return s
}

func expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) >= sessionIdle || now.Sub(s.created) >= sessionMax
}

// remove ends the session of tok.
func (ss *sessions) remove(tok string) {
	ss.mu.Lock()
	delete(ss.mu.byToken, tok)
	ss.mu.Unlock()
}

// sweepLocked drops expired sessions and, if there are still too many,
// the least recently used.
func (ss *sessions) sweepLocked(now time.Time) {
	for tok, s := range ss.mu.byToken {
		if expired(s, now) {
			delete(ss.mu.byToken, tok)
		}
	}
	for len(ss.mu.byToken) >= maxSessions {
		var oldest *session
		for _, s := range ss.mu.byToken {
			if oldest == nil || s.seen.Before(oldest.seen) {
				oldest = s
			}
		}
		delete(ss.mu.byToken, oldest.token)
	}
}

// errNoCredentials is a request that presented nothing while anonymous
// access is not allowed.
var errNoCredentials = errors.New("login required: use HTTP basic authentication, or log in with POST /api/v1/login")

// secured reports whether the console asks for logins at all.
func (s *Server) secured() bool { return s.opts.Guard != nil && s.opts.Guard.Enforced() }

// identify finds who r comes from: its Authorization header, else its
// session cookie, else its client certificate or anonymous access, as the
// front door allows.
func (s *Server) identify(r *http.Request) (*principal, error) {
	_, _, basic := r.BasicAuth()
	if !basic {
		if c, err := r.Cookie(sessionCookie); err == nil {
			if ss := s.sessions.get(c.Value); ss != nil {
				return &principal{subject: ss.subject, user: ss.user, admin: ss.admin, session: ss}, nil
			}
		}
	}
	user, pw, _ := r.BasicAuth()
	return s.authenticateAs(r, user, pw, true)
}

// authenticateAs asks the front door about user and pw, or r's client
// certificate, or none (anonymous); perRequest logs a success at debug
// level (a login per request, not a session's).
func (s *Server) authenticateAs(r *http.Request, user, pw string, perRequest bool) (*principal, error) {
	g := s.opts.Guard
	if g == nil {
		if user == "" {
			user = auth.AnonymousUser
		}
		return &principal{user: user, admin: true}, nil
	}
	cred := auth.Credentials{Username: user, Password: pw, Remote: r.RemoteAddr, Protocol: "http", Request: perRequest}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		cred.Certificates = r.TLS.VerifiedChains[0]
	}
	if user == "" && cred.Certificates == nil && !g.AllowsAnonymous() {
		return nil, errNoCredentials
	}
	sub, err := g.Authenticate(r.Context(), cred)
	if err != nil {
		return nil, err
	}
	return &principal{subject: sub, user: sub.User, admin: s.mayChange(sub)}, nil
}

// mayChange reports whether sub is in one of the console's admin groups
// (everyone is, with security off).
func (s *Server) mayChange(sub *auth.Subject) bool {
	if !s.secured() {
		return true
	}
	groups := s.adminGroups()
	for _, g := range sub.Groups() {
		if slices.Contains(groups, g) {
			return true
		}
	}
	return false
}

func (s *Server) adminGroups() []string {
	if s.opts.AdminGroups == nil {
		return []string{"admins"}
	}
	return s.opts.AdminGroups
}

// unauthorized answers 401. Scripts and a browser's address bar get a
// basic-authentication challenge; the pages' own calls (fetch, which
// sends Sec-Fetch-Mode other than navigate, or X-Requested-With) do not,
// so that the browser shows the console's login form, not its own dialog.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, err error) {
	mode := r.Header.Get("Sec-Fetch-Mode")
	if r.Header.Get("X-Requested-With") == "" && (mode == "" || mode == "navigate") {
		w.Header().Set("WWW-Authenticate", `Basic realm="Pier", charset="UTF-8"`)
	}
	writeError(w, http.StatusUnauthorized, err.Error())
}

// checkChange refuses a change p may not make: 403 for a user outside the
// admin groups and for a cookie without its CSRF token. It reports
// whether the change may go on.
func (s *Server) checkChange(w http.ResponseWriter, r *http.Request, p *principal) bool {
	if !p.admin {
		writeError(w, http.StatusForbidden, fmt.Sprintf("user %s may only look: changes are for members of %s (console.admin_groups)",
			p.user, strings.Join(s.adminGroups(), ", ")))
		return false
	}
	if p.session != nil && !p.session.checkCSRF(r.Header.Get(csrfHeader)) {
		writeError(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" header: send the csrf of GET /api/v1/session with every change")
		return false
	}
	return true
}

func (ss *session) checkCSRF(tok string) bool {
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(ss.csrf)) == 1
}

// sessionJSON is what /api/v1/session and /api/v1/login answer.
type sessionJSON struct {
	User    string `json:"user"`
	Admin   bool   `json:"admin"`
	CSRF    string `json:"csrf"`
	Secured bool   `json:"secured"` // logins are checked (security on)
}

func (s *Server) sessionOf(p *principal) sessionJSON {
	j := sessionJSON{User: p.user, Admin: p.admin, Secured: s.secured()}
	if p.session != nil {
		j.CSRF = p.session.csrf
	}
	return j
}

// getSession answers who the request is (401 if nobody).
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	p, err := s.identify(r)
	if err != nil {
		s.unauthorized(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.sessionOf(p))
}

// postLogin checks a user and password (JSON {"user","password"} or a
// form) and starts a session: the cookie, and the session's CSRF token in
// the answer. A refused login is slowed by the front door.
func (s *Server) postLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		req.User, req.Password = r.PostFormValue("user"), r.PostFormValue("password")
	default:
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if req.User == "" {
		writeError(w, http.StatusBadRequest, "give user and password")
		return
	}
	p, err := s.authenticateAs(r, req.User, req.Password, false)
	if err != nil {
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	p.session = s.sessions.create(p)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: p.session.token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, s.sessionOf(p))
}

// postLogout ends the request's session (with its CSRF token) and clears
// the cookie.
func (s *Server) postLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if ss := s.sessions.get(c.Value); ss != nil {
			if !ss.checkCSRF(r.Header.Get(csrfHeader)) {
				writeError(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" header")
				return
			}
			s.sessions.remove(c.Value)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	w.WriteHeader(http.StatusNoContent)
}
