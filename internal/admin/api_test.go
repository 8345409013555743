package admin

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// decode unmarshals a JSON answer, failing on anything else.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q: %s", ct, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return v
}

// wantError checks an answer's status and that its body is
// {"error": "..."} containing text.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, code int, text string) {
	t.Helper()
	if rec.Code != code {
		t.Fatalf("status %d, want %d: %s", rec.Code, code, rec.Body)
	}
	e := decode[struct{ Error string }](t, rec)
	if e.Error == "" || !strings.Contains(e.Error, text) {
		t.Fatalf("error %q, want one containing %q", e.Error, text)
	}
}

// endpoint is one route of the API with a request that succeeds for an
// admin.
type endpoint struct {
	method, path, body string
	code               int // an admin's
	changes            bool
}

var endpoints = []endpoint{
	{"GET", "/api/v1/broker", "", 200, false},
	{"GET", "/api/v1/group", "", 200, false},
	{"GET", "/api/v1/destinations", "", 200, false},
	{"GET", "/api/v1/queues/orders", "", 200, false},
	{"GET", "/api/v1/topics/prices", "", 200, false},
	{"GET", "/api/v1/queues/orders/messages", "", 200, false},
	{"GET", "/api/v1/durables", "", 200, false},
	{"GET", "/api/v1/connections", "", 200, false},
	{"GET", "/api/v1/scheduler/jobs", "", 200, false},
	{"POST", "/api/v1/queues/orders/purge", "", 200, true},
	{"POST", "/api/v1/queues/orders/move", `{"to":"queue://other"}`, 200, true},
	{"POST", "/api/v1/queues/ActiveMQ.DLQ/retry", `{}`, 200, true},
	{"POST", "/api/v1/queues/orders/remove", `{"ids":["m1"]}`, 200, true},
	{"POST", "/api/v1/queues/orders.new/messages", `{"body":"hi"}`, 201, true},
	{"DELETE", "/api/v1/queues/orders", "", 204, true},
	{"DELETE", "/api/v1/topics/prices", "", 204, true},
	{"DELETE", "/api/v1/durables/app/sub", "", 204, true},
	{"DELETE", "/api/v1/connections/ID:c-1", "", 204, true},
	{"DELETE", "/api/v1/scheduler/jobs/none", "", 404, true},
}

// TestAPIAccess: every endpoint asks for a login (401 with a basic
// challenge); a viewer may look but not change (403); an admin may do
// both; health, readiness and metrics are open.
func TestAPIAccess(t *testing.T) {
	for _, ep := range endpoints {
		t.Run(ep.method+" "+ep.path, func(t *testing.T) {
			e := newAPIEnv(t, true)
			rec := e.call(t, ep.method, ep.path, ep.body)
			wantError(t, rec, http.StatusUnauthorized, "login required")
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without a challenge")
			}
			wrong := func(r *http.Request) { r.SetBasicAuth("admin", "nope") }
			wantError(t, e.call(t, ep.method, ep.path, ep.body, wrong), http.StatusUnauthorized, "User name [admin] or password is invalid.")
			rec = e.call(t, ep.method, ep.path, ep.body, as("viewer"))
			if ep.changes {
				wantError(t, rec, http.StatusForbidden, "user viewer may only look")
				if c := e.core.called(); len(c) != 0 {
					t.Fatalf("a refused change reached the core: %v", c)
				}
			} else if rec.Code != http.StatusOK {
				t.Fatalf("viewer: %d %s", rec.Code, rec.Body)
			}
			rec = e.call(t, ep.method, ep.path, ep.body, as("admin"))
			if rec.Code != ep.code {
				t.Fatalf("admin: %d, want %d: %s", rec.Code, ep.code, rec.Body)
			}
		})
	}
	e := newAPIEnv(t, true)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if rec := e.call(t, "GET", path, ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s without a login: %d", path, rec.Code)
		}
	}
	if rec := e.call(t, "GET", "/network", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /network without a login: %d", rec.Code)
	}
	// A page's own call gets no challenge (the browser would show its
	// dialog instead of the console's form).
	rec := e.call(t, "GET", "/api/v1/broker", "", header("Sec-Fetch-Mode", "cors"))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("fetch without a login: %d, challenge %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// TestAPISecurityOff: without security everything is open, as before.
func TestAPISecurityOff(t *testing.T) {
	for _, ep := range endpoints {
		e := newAPIEnv(t, false)
		if rec := e.call(t, ep.method, ep.path, ep.body); rec.Code != ep.code {
			t.Errorf("%s %s: %d, want %d: %s", ep.method, ep.path, rec.Code, ep.code, rec.Body)
		}
	}
	e := newAPIEnv(t, false)
	got := decode[sessionJSON](t, e.call(t, "GET", "/api/v1/session", ""))
	if got != (sessionJSON{User: "anonymous", Admin: true}) {
		t.Errorf("session %+v", got)
	}
}

// TestAPISession: the pages' login — cookie attributes, the CSRF token on
// changes, logout, idle expiry.
func TestAPISession(t *testing.T) {
	e := newAPIEnv(t, true)
	wantError(t, e.call(t, "POST", "/api/v1/login", `{"user":"admin","password":"nope"}`), http.StatusUnauthorized, "invalid")
	wantError(t, e.call(t, "POST", "/api/v1/login", `{"password":"x"}`), http.StatusBadRequest, "give user")
	wantError(t, e.call(t, "POST", "/api/v1/login", `{"user":"admin",`), http.StatusBadRequest, "request body")
	rec := e.call(t, "POST", "/api/v1/login", `{"user":"admin","password":"admin-pw"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	login := decode[sessionJSON](t, rec)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != sessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || len(c.Value) < 40 {
		t.Fatalf("cookie %+v", c)
	}
	if login.User != "admin" || !login.Admin || !login.Secured || len(login.CSRF) < 40 {
		t.Fatalf("login answered %+v", login)
	}
	got := decode[sessionJSON](t, e.call(t, "GET", "/api/v1/session", "", withCookie(c)))
	if got != login {
		t.Fatalf("session %+v, want %+v", got, login)
	}
	// Looking needs no token; a change does.
	if rec := e.call(t, "GET", "/api/v1/queues/orders", "", withCookie(c)); rec.Code != http.StatusOK {
		t.Fatalf("GET with the cookie: %d %s", rec.Code, rec.Body)
	}
	wantError(t, e.call(t, "POST", "/api/v1/queues/orders/purge", "", withCookie(c)), http.StatusForbidden, "X-CSRF-Token")
	wantError(t, e.call(t, "POST", "/api/v1/queues/orders/purge", "", withCookie(c), header(csrfHeader, "x"+login.CSRF)),
		http.StatusForbidden, "X-CSRF-Token")
	if calls := e.core.called(); len(calls) != 0 {
		t.Fatalf("a change without its token reached the core: %v", calls)
	}
	if rec := e.call(t, "POST", "/api/v1/queues/orders/purge", "", withCookie(c), header(csrfHeader, login.CSRF)); rec.Code != http.StatusOK {
		t.Fatalf("purge with the token: %d %s", rec.Code, rec.Body)
	}
	// A change from another site is refused, token or not.
	wantError(t, e.call(t, "POST", "/api/v1/queues/orders/purge", "", withCookie(c), header(csrfHeader, login.CSRF),
		header("Sec-Fetch-Site", "cross-site")), http.StatusForbidden, "refused")
	wantError(t, e.call(t, "POST", "/api/v1/queues/orders/purge", "", as("admin"), header("Origin", "https://evil.example")),
		http.StatusForbidden, "refused")
	// Used within 30 minutes, the session stays; idle 30 minutes, it ends.
	e.clock.add(29 * time.Minute)
	if rec := e.call(t, "GET", "/api/v1/session", "", withCookie(c)); rec.Code != http.StatusOK {
		t.Fatalf("after 29 minutes: %d", rec.Code)
	}
	e.clock.add(29 * time.Minute)
	if rec := e.call(t, "GET", "/api/v1/session", "", withCookie(c)); rec.Code != http.StatusOK {
		t.Fatalf("29 minutes after the last use: %d", rec.Code)
	}
	e.clock.add(30 * time.Minute)
	wantError(t, e.call(t, "GET", "/api/v1/session", "", withCookie(c)), http.StatusUnauthorized, "login required")

	// Logout needs the token, ends the session and clears the cookie.
	rec = e.call(t, "POST", "/api/v1/login", "user=viewer&password=viewer-pw",
		header("Content-Type", "application/x-www-form-urlencoded"))
	if rec.Code != http.StatusOK {
		t.Fatalf("form login: %d %s", rec.Code, rec.Body)
	}
	v := decode[sessionJSON](t, rec)
	vc := rec.Result().Cookies()[0]
	if v.User != "viewer" || v.Admin {
		t.Fatalf("viewer's session %+v", v)
	}
	wantError(t, e.call(t, "POST", "/api/v1/queues/orders/purge", "", withCookie(vc), header(csrfHeader, v.CSRF)),
		http.StatusForbidden, "may only look")
	wantError(t, e.call(t, "POST", "/api/v1/logout", "", withCookie(vc)), http.StatusForbidden, "X-CSRF-Token")
	rec = e.call(t, "POST", "/api/v1/logout", "", withCookie(vc), header(csrfHeader, v.CSRF))
	if rec.Code != http.StatusNoContent || len(rec.Result().Cookies()) != 1 || rec.Result().Cookies()[0].MaxAge >= 0 {
		t.Fatalf("logout: %d %v", rec.Code, rec.Result().Cookies())
	}
	wantError(t, e.call(t, "GET", "/api/v1/session", "", withCookie(vc)), http.StatusUnauthorized, "login required")
	// Over TLS the cookie is Secure.
	rec = e.call(t, "POST", "/api/v1/login", `{"user":"viewer","password":"viewer-pw"}`,
		func(r *http.Request) { r.TLS = &tls.ConnectionState{} })
	if cs := rec.Result().Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("cookie over TLS: %+v", cs)
	}
}

// TestAPIBasicNeedsNoToken: a script's basic authentication carries no
// session, so no CSRF token is asked for, even with a stale cookie.
func TestAPIBasicNeedsNoToken(t *testing.T) {
	e := newAPIEnv(t, true)
	stale := &http.Cookie{Name: sessionCookie, Value: "gone"}
	if rec := e.call(t, "POST", "/api/v1/queues/orders/purge", "", as("admin"), withCookie(stale)); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestAPIDestinations(t *testing.T) {
	e := newAPIEnv(t, false)
	tests := []struct {
		query string
		want  broker.DestQuery
		names []string
	}{
		{"", broker.DestQuery{Limit: 100}, []string{"ActiveMQ.DLQ", "a/b c", "orders", "prices"}},
		{"?type=queue&q=ORD&sort=depth&desc=1&offset=0&limit=5",
			broker.DestQuery{Kind: message.Queue, Contains: "ORD", Sort: "depth", Desc: true, Limit: 5}, []string{"orders"}},
		{"?type=topic", broker.DestQuery{Kind: message.Topic, Limit: 100}, []string{"prices"}},
		{"?offset=1&limit=2&desc=0&sort=consumers", broker.DestQuery{Offset: 1, Limit: 2, Sort: "consumers"}, []string{"a/b c", "orders"}},
	}
	for _, tt := range tests {
		rec := e.call(t, "GET", "/api/v1/destinations"+tt.query, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", tt.query, rec.Code, rec.Body)
		}
		page := decode[PageJSON[DestJSON]](t, rec)
		var names []string
		for _, d := range page.Items {
			names = append(names, d.Name)
		}
		if !reflect.DeepEqual(names, tt.names) || e.core.lastQuery != tt.want {
			t.Errorf("%s: names %v, query %+v; want %v, %+v", tt.query, names, e.core.lastQuery, tt.names, tt.want)
		}
	}
	page := decode[PageJSON[DestJSON]](t, e.call(t, "GET", "/api/v1/destinations?q=orders", ""))
	want := DestJSON{Name: "orders", Type: "queue", Depth: 2, InFlight: 1, Enqueued: 10, Dequeued: 8, Expired: 1,
		Consumers: 3, Producers: 4, Memory: 500}
	if page.Total != 1 || len(page.Items) != 1 || page.Items[0] != want {
		t.Errorf("page %+v", page)
	}
	for _, bad := range []string{"?type=temp", "?sort=size", "?desc=maybe", "?offset=-1", "?offset=x", "?limit=0",
		"?limit=1001", "?colour=red", "?q=" + strings.Repeat("a", 4097)} {
		wantError(t, e.call(t, "GET", "/api/v1/destinations"+bad, ""), http.StatusBadRequest, "")
	}
}

func TestAPIQueueAndTopic(t *testing.T) {
	e := newAPIEnv(t, false)
	got := decode[DestJSON](t, e.call(t, "GET", "/api/v1/queues/orders", ""))
	if got.Name != "orders" || got.Type != "queue" || got.Depth != 2 {
		t.Errorf("queue %+v", got)
	}
	// Names are path-escaped: a / or a space in a name.
	if got := decode[DestJSON](t, e.call(t, "GET", "/api/v1/queues/a%2Fb%20c", "")); got.Name != "a/b c" {
		t.Errorf("escaped name: %+v", got)
	}
	if got := decode[DestJSON](t, e.call(t, "GET", "/api/v1/topics/prices", "")); got.Type != "topic" || got.Consumers != 1 {
		t.Errorf("topic %+v", got)
	}
	wantError(t, e.call(t, "GET", "/api/v1/queues/nothing", ""), http.StatusNotFound, "no such queue nothing")
	wantError(t, e.call(t, "GET", "/api/v1/topics/orders", ""), http.StatusNotFound, "no such topic orders")
	for _, bad := range []string{"orders.*", "orders.%3E", "a.%3E.b", "%0A"} {
		wantError(t, e.call(t, "GET", "/api/v1/queues/"+bad, ""), http.StatusBadRequest, "bad destination")
		wantError(t, e.call(t, "POST", "/api/v1/queues/"+bad+"/purge", ""), http.StatusBadRequest, "bad destination")
	}
	wantError(t, e.call(t, "DELETE", "/api/v1/queues/nothing", ""), http.StatusNotFound, "no such queue nothing")
	if rec := e.call(t, "DELETE", "/api/v1/queues/a%2Fb%20c", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if c := e.core.called(); !reflect.DeepEqual(c, []string{"delete queue://a/b c"}) {
		t.Errorf("calls %v", c)
	}
	wantError(t, e.call(t, "GET", "/api/v1/queues/a%2Fb%20c", ""), http.StatusNotFound, "no such queue")
}

func TestAPIMessages(t *testing.T) {
	e := newAPIEnv(t, false)
	rec := e.call(t, "GET", "/api/v1/queues/orders/messages?offset=0&limit=10", "")
	page := decode[struct {
		Total  int
		Offset int
		Items  []map[string]any
	}](t, rec)
	if page.Total != 2 || len(page.Items) != 2 {
		t.Fatalf("page %s", rec.Body)
	}
	want := map[string]any{
		"id": "m1", "position": 0.0, "destination": "queue://orders", "original_destination": "",
		"timestamp": 1700000000000.0, "expiration": 0.0, "priority": 4.0, "persistent": true, "redelivered": false,
		"delivery_count": 0.0, "correlation_id": "c1", "type": "t1", "reply_to": "queue://replies", "group_id": "g",
		"group_seq": 2.0, "user_id": "alice", "properties": map[string]any{"n": 7.0, "s": "x"}, "body_kind": "text",
		"body_size": 5.0, "body_preview": "hello", "body_truncated": false, "in_flight": true,
	}
	if !reflect.DeepEqual(page.Items[0], want) {
		t.Errorf("message\n got %v\nwant %v", page.Items[0], want)
	}
	if m := page.Items[1]; m["body_preview"] != "/wAB" || m["body_preview_encoding"] != "base64" || m["body_kind"] != "bytes" {
		t.Errorf("binary preview %v", m)
	}
	if c := e.core.called(); !reflect.DeepEqual(c, []string{"browse orders 0 10"}) {
		t.Errorf("calls %v", c)
	}
	e.call(t, "GET", "/api/v1/queues/orders/messages", "")
	if c := e.core.called(); !reflect.DeepEqual(c, []string{"browse orders 0 50"}) {
		t.Errorf("default page: calls %v", c)
	}
	wantError(t, e.call(t, "GET", "/api/v1/queues/nothing/messages", ""), http.StatusNotFound, "no such queue nothing")
	for _, bad := range []string{"?limit=0", "?limit=1001", "?offset=-3", "?page=2"} {
		wantError(t, e.call(t, "GET", "/api/v1/queues/orders/messages"+bad, ""), http.StatusBadRequest, "")
	}
}

func TestMessagePreview(t *testing.T) {
	euro := []byte("price: €") // € is 3 bytes
	tests := []struct {
		name     string
		m        broker.MessageInfo
		preview  string
		encoding string
	}{
		{"text", broker.MessageInfo{BodySize: 5, BodyPreview: []byte("hello")}, "hello", ""},
		{"cut inside a character", broker.MessageInfo{BodySize: 100, BodyPreview: euro[:len(euro)-1]}, "price: ", ""},
		{"whole but broken", broker.MessageInfo{BodySize: len(euro) - 1, BodyPreview: euro[:len(euro)-1]},
			"cHJpY2U6IOKC", "base64"},
		{"binary", broker.MessageInfo{BodySize: 2, BodyPreview: []byte{0xc3, 0x28}}, "wyg=", "base64"},
		{"empty", broker.MessageInfo{}, "", ""},
	}
	for _, tt := range tests {
		j := messageOf(tt.m)
		if j.BodyPreview != tt.preview || j.BodyPreviewEncoding != tt.encoding {
			t.Errorf("%s: %q %q, want %q %q", tt.name, j.BodyPreview, j.BodyPreviewEncoding, tt.preview, tt.encoding)
		}
	}
	// Properties JSON cannot carry are named; the message still encodes.
	j := messageOf(broker.MessageInfo{Properties: map[string]any{"nan": math.NaN(), "b": []byte{1}, "c": uint16(65)}})
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"properties":{"b":"AQ==","c":65,"nan":"NaN"}`) {
		t.Errorf("properties: %s", b)
	}
}

func TestAPIChanges(t *testing.T) {
	e := newAPIEnv(t, false)
	notDLQ := strings.TrimPrefix(broker.ErrNotDeadLetter.Error(), "broker: ")
	tests := []struct {
		method, path, body string
		code               int
		answer             string // the JSON answered
		calls              []string
	}{
		{"POST", "/api/v1/queues/orders/move", `{"ids":["m2"],"to":"topic://prices","copy":true}`, 200, `{"moved":1}`,
			[]string{"move orders [m2] topic://prices true"}},
		{"POST", "/api/v1/queues/orders/move", `{"to":"queue://elsewhere"}`, 200, `{"moved":2}`,
			[]string{"move orders [] queue://elsewhere false"}},
		{"POST", "/api/v1/queues/ActiveMQ.DLQ/retry", `{"ids":["d1"]}`, 200, `{"retried":1}`, []string{"retry ActiveMQ.DLQ [d1]"}},
		{"POST", "/api/v1/queues/ActiveMQ.DLQ/retry", ``, 200, `{"retried":1}`, []string{"retry ActiveMQ.DLQ []"}},
		{"POST", "/api/v1/queues/orders/remove", `{"ids":["m1","zz"]}`, 200, `{"removed":1}`, []string{"remove orders [m1 zz]"}},
		{"POST", "/api/v1/queues/orders/retry", `{"ids":["m1"]}`, 409, `{"error":"` + notDLQ + `: orders"}`, nil},
		{"POST", "/api/v1/queues/nothing/purge", ``, 404, `{"error":"no such queue nothing"}`, nil},
		{"POST", "/api/v1/queues/nothing/move", `{"to":"queue://x"}`, 404, `{"error":"no such queue nothing"}`, nil},
		{"POST", "/api/v1/queues/nothing/retry", `{}`, 404, `{"error":"no such queue nothing"}`, nil},
		{"POST", "/api/v1/queues/nothing/remove", `{"ids":["a"]}`, 404, `{"error":"no such queue nothing"}`, nil},
		{"POST", "/api/v1/queues/orders/purge", "", 200, `{"removed":2}`, []string{"purge orders"}},
		{"POST", "/api/v1/queues/orders/purge", "{}", 200, `{"removed":0}`, []string{"purge orders"}},
	}
	for _, tt := range tests {
		rec := e.call(t, tt.method, tt.path, tt.body)
		if rec.Code != tt.code || strings.TrimSpace(rec.Body.String()) != tt.answer {
			t.Errorf("%s %s %s: %d %s, want %d %s", tt.method, tt.path, tt.body, rec.Code, rec.Body, tt.code, tt.answer)
		}
		if c := e.core.called(); !reflect.DeepEqual(c, tt.calls) {
			t.Errorf("%s %s %s: calls %q, want %q", tt.method, tt.path, tt.body, c, tt.calls)
		}
	}
	bad := []struct{ path, body, text string }{
		{"/api/v1/queues/orders/purge", `{"all":true}`, "unknown field"},
		{"/api/v1/queues/orders/move", `{"to":"queue://x"`, "request body"},
		{"/api/v1/queues/orders/move", `{}`, "give \"to\""},
		{"/api/v1/queues/orders/move", `{"to":"orders"}`, "want queue://NAME"},
		{"/api/v1/queues/orders/move", `{"to":"queue://a.*"}`, "wildcard"},
		{"/api/v1/queues/orders/move", `{"to":"queue://a,b"}`, "several"},
		{"/api/v1/queues/orders/move", `{"to":"temp-queue://x"}`, "want queue://NAME"},
		{"/api/v1/queues/orders/move", `{"to":"tcp://evil:61616"}`, "unknown kind"},
		{"/api/v1/queues/orders/move", `{"to":"queue://orders"}`, "the queue the messages are on"},
		{"/api/v1/queues/orders/move", `{"to":"queue://x","ids":[]}`, "empty list"},
		{"/api/v1/queues/orders/move", `{"to":"queue://x","ids":[""]}`, "empty id"},
		{"/api/v1/queues/orders/move", `{"to":"queue://x"} {}`, "more than one"},
		{"/api/v1/queues/orders/remove", `{}`, "give the ids"},
		{"/api/v1/queues/orders/remove", `{"ids":"m1"}`, "request body"},
		{"/api/v1/queues/orders/retry", `[]`, "request body"},
	}
	for _, tt := range bad {
		wantError(t, e.call(t, "POST", tt.path, tt.body), http.StatusBadRequest, tt.text)
	}
	if c := e.core.called(); len(c) != 0 {
		t.Errorf("bad requests reached the core: %v", c)
	}
	big := `{"ids":["` + strings.Repeat("a", maxBody) + `"]}`
	wantError(t, e.call(t, "POST", "/api/v1/queues/orders/remove", big), http.StatusBadRequest, "too large")
}

// TestAPISend: a test message goes through the front door as the console
// user: sent with their identity where they may write, refused (403)
// where the authorization entries do not let them.
func TestAPISend(t *testing.T) {
	e := newAPIEnv(t, true)
	rec := e.call(t, "POST", "/api/v1/queues/orders.new/messages",
		`{"body":"héllo","properties":{"n":7,"f":1.5,"s":"x","b":true},"persistent":false,"priority":9,"correlation_id":"c","type":"t"}`,
		as("admin"))
	if rec.Code != http.StatusCreated {
		t.Fatalf("send: %d %s", rec.Code, rec.Body)
	}
	id := decode[struct{ ID string }](t, rec).ID
	conn, err := e.core.b.Connect(context.Background(), broker.ConnOptions{Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ms, err := conn.Browse(context.Background(), message.Destination{Kind: message.Queue, Name: "orders.new"}, "", 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("browse: %v, %d messages", err, len(ms))
	}
	m := ms[0]
	wantProps := map[string]any{"n": int64(7), "f": 1.5, "s": "x", "b": true}
	if m.ID != id || string(m.Body) != "héllo" || m.BodyKind != message.Text || m.Persistent || m.Priority != 9 ||
		m.CorrelationID != "c" || m.Type != "t" || m.UserID != "admin" || !reflect.DeepEqual(m.Properties, wantProps) {
		t.Errorf("sent %+v", m)
	}
	// The writer may write to orders.> but is no console admin; the admin
	// may not write outside orders.>: both refused, 403.
	wantError(t, e.call(t, "POST", "/api/v1/queues/orders.new/messages", `{"body":"x"}`, as("writer")), http.StatusForbidden, "may only look")
	wantError(t, e.call(t, "POST", "/api/v1/queues/payments/messages", `{"body":"x"}`, as("admin")), http.StatusForbidden, "not authorized")
	for _, bad := range []string{`{"priority":10}`, `{"priority":-1}`, `{"properties":{"JMSType":"x"}}`,
		`{"properties":{"":"x"}}`, `{"properties":{"o":{"a":1}}}`, `{"properties":{"n":null}}`, `{"body":1}`,
		`{"properties":{"big":1e999}}`, `{"ttl":5}`} {
		wantError(t, e.call(t, "POST", "/api/v1/queues/orders.new/messages", bad, as("admin")), http.StatusBadRequest, "")
	}
	wantError(t, e.call(t, "POST", "/api/v1/queues/orders.*/messages", `{}`, as("admin")), http.StatusBadRequest, "wildcard")
}

func TestAPIConnectionsAndDurables(t *testing.T) {
	e := newAPIEnv(t, false)
	conns := decode[PageJSON[ConnJSON]](t, e.call(t, "GET", "/api/v1/connections", ""))
	wantConn := ConnJSON{ID: "ID:c-1", Protocol: "stomp", Remote: "127.0.0.1:5000", User: "alice", ClientID: "app",
		Since: time.Unix(1700000000, 0).UTC(), Consumers: 1, Producers: 2}
	if conns.Total != 1 || len(conns.Items) != 1 || conns.Items[0] != wantConn {
		t.Errorf("connections %+v", conns)
	}
	wantError(t, e.call(t, "DELETE", "/api/v1/connections/ID:nope", ""), http.StatusNotFound, "no such connection ID:nope")
	if rec := e.call(t, "DELETE", "/api/v1/connections/ID:c-1", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("close: %d %s", rec.Code, rec.Body)
	}
	if c := e.core.called(); !reflect.DeepEqual(c, []string{"close ID:c-1"}) {
		t.Errorf("calls %v", c)
	}
	if conns := decode[PageJSON[ConnJSON]](t, e.call(t, "GET", "/api/v1/connections", "")); conns.Total != 0 || conns.Items == nil {
		t.Errorf("after close: %+v", conns)
	}
	ds := decode[PageJSON[durableJSON]](t, e.call(t, "GET", "/api/v1/durables", ""))
	wantDur := durableJSON{ClientID: "app", Name: "sub", Topic: "prices", Selector: "a > 1", Backlog: 9}
	if ds.Total != 1 || ds.Items[0] != wantDur {
		t.Errorf("durables %+v", ds)
	}
	wantError(t, e.call(t, "DELETE", "/api/v1/durables/app/nope", ""), http.StatusNotFound, "no such durable subscription nope of client app")
	if rec := e.call(t, "DELETE", "/api/v1/durables/app/sub", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("unsubscribe: %d %s", rec.Code, rec.Body)
	}
	if c := e.core.called(); !reflect.DeepEqual(c, []string{"unsubscribe app sub"}) {
		t.Errorf("calls %v", c)
	}
}

func TestAPIBrokerAndGroup(t *testing.T) {
	e := newAPIEnv(t, false)
	got := decode[map[string]any](t, e.call(t, "GET", "/api/v1/broker", ""))
	want := map[string]any{"name": "east", "version": "1.2.3", "role": "master", "serving": true, "id": "ID:east",
		"started": "2023-11-14T22:13:20Z", "uptime_seconds": 100.0, "connections": map[string]any{"stomp": 1.0},
		"memory_used": 10.0, "memory_limit": 100.0, "queues": 3.0, "topics": 1.0, "scheduled_jobs": 2.0,
		"enqueued": 10.0, "dequeued": 8.0, "store_used": 4096.0, "store_limit": 1048576.0, "store_messages": 7.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("broker\n got %v\nwant %v", got, want)
	}
	g := decode[Group](t, e.call(t, "GET", "/api/v1/group", ""))
	if g.Kind != "single" || g.Role != "master" || g.Members == nil {
		t.Errorf("group %+v", g)
	}
}

// TestAPISlave: a member that is not master says so, and who the master
// is, and answers 503 where it would need the broker.
func TestAPISlave(t *testing.T) {
	group := Group{Kind: "replicated", Role: "replica", Self: "b", Master: "a (tcp://10.0.0.1:61616)", Term: 3,
		Members: []GroupMember{{ID: "a", Role: "master", State: "Leader"}, {ID: "b", Role: "replica", State: "Follower"}}}
	s := New(Options{Ready: func() bool { return false }, Name: "east", Version: "1.2.3",
		Core:  func() Core { return nil },
		Group: func(context.Context) Group { return group }}, nil)
	e := &apiEnv{s: s}
	got := decode[Group](t, e.call(t, "GET", "/api/v1/group", ""))
	if !reflect.DeepEqual(got, group) {
		t.Errorf("group %+v", got)
	}
	b := decode[map[string]any](t, e.call(t, "GET", "/api/v1/broker", ""))
	wantB := map[string]any{"name": "east", "version": "1.2.3", "role": "replica", "master": "a (tcp://10.0.0.1:61616)",
		"serving": false, "uptime_seconds": 0.0, "connections": map[string]any{}, "memory_used": 0.0, "memory_limit": 0.0, "queues": 0.0, "topics": 0.0, "scheduled_jobs": 0.0,
		"enqueued": 0.0, "dequeued": 0.0, "store_used": 0.0, "store_limit": 0.0, "store_messages": 0.0}
	if !reflect.DeepEqual(b, wantB) {
		t.Errorf("broker %v", b)
	}
	for _, ep := range endpoints {
		if ep.path == "/api/v1/broker" || ep.path == "/api/v1/group" {
			continue
		}
		rec := e.call(t, ep.method, ep.path, ep.body)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s %s on a slave: %d %s", ep.method, ep.path, rec.Code, rec.Body)
			continue
		}
		got := decode[map[string]string](t, rec)
		if got["master"] != group.Master || got["role"] != "replica" || !strings.Contains(got["error"], "this broker is a replica") {
			t.Errorf("%s %s on a slave: %v", ep.method, ep.path, got)
		}
	}
	// No group reported: a lone broker that is not serving is a slave.
	s = New(Options{Ready: func() bool { return false }}, nil)
	e = &apiEnv{s: s}
	wantError(t, e.call(t, "GET", "/api/v1/destinations", ""), http.StatusServiceUnavailable, "this broker is a slave")
}

func TestAPIRoutes(t *testing.T) {
	e := newAPIEnv(t, false)
	rec := e.call(t, "PUT", "/api/v1/queues/orders", "")
	wantError(t, rec, http.StatusMethodNotAllowed, "PUT is not allowed")
	if a := rec.Header().Get("Allow"); a != "GET, DELETE" {
		t.Errorf("Allow %q", a)
	}
	rec = e.call(t, "GET", "/api/v1/queues/orders/purge", "")
	wantError(t, rec, http.StatusMethodNotAllowed, "GET is not allowed")
	if a := rec.Header().Get("Allow"); a != "POST" {
		t.Errorf("Allow %q", a)
	}
	wantError(t, e.call(t, "GET", "/api/v1/nothing", ""), http.StatusNotFound, "no such endpoint")
	wantError(t, e.call(t, "GET", "/api/v1/queues/orders/nothing", ""), http.StatusNotFound, "no such endpoint")
	wantError(t, e.call(t, "GET", "/api/v1/queues/", ""), http.StatusNotFound, "no such endpoint")
}

// TestConsoleRoutes: the pages at /, the API beside them, each answering
// its own way.
func TestConsoleRoutes(t *testing.T) {
	e := newAPIEnv(t, true)
	rec := e.call(t, "GET", "/", "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	wantError(t, e.call(t, "GET", "/api/v1/broker", ""), http.StatusUnauthorized, "login required")
	wantError(t, e.call(t, "GET", "/api/v1/", ""), http.StatusNotFound, "no such endpoint")
	if rec := e.call(t, "GET", "/nothing", ""); rec.Code != http.StatusNotFound {
		t.Errorf("GET /nothing: %d", rec.Code)
	}
}
