package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// The REST API under /api/v1/ (docs/api.md is the contract): JSON in and
// out, errors as {"error": "..."}. It reaches the broker of the current
// span of service through Core, never through the broker's internals; no
// operation takes a URI or a connector.

// Core is what the REST API asks of the broker of the current span of
// service (*broker.Broker implements it): Destinations and Clients, two
// small interfaces rather than one wide one.
type Core interface {
	Destinations
	Clients
	Scheduler
}

// Destinations are the queues and topics and their messages.
type Destinations interface {
	Destinations(q broker.DestQuery) broker.DestPage
	Destination(d message.Destination) (broker.DestInfo, bool)
	Browse(ctx context.Context, queue string, offset, limit int) ([]broker.MessageInfo, int, error)
	Purge(ctx context.Context, queue string) (int, error)
	DeleteDestination(ctx context.Context, d message.Destination) error
	RemoveMessages(ctx context.Context, queue string, ids []string) (int, error)
	MoveMessages(ctx context.Context, queue string, ids []string, to message.Destination, copy bool) (int, error)
	RetryMessages(ctx context.Context, queue string, ids []string) (int, error)
}

// Clients are the broker as a whole, its connections and durable
// subscriptions; Connect sends the console's test messages as a client
// would.
type Clients interface {
	Overview() broker.Overview
	Connections() []broker.ConnInfo
	CloseConnection(id string) error
	DurableSubscriptions() []broker.DurableInfo
	DeleteDurable(ctx context.Context, clientID, name string) error
	Connect(ctx context.Context, o broker.ConnOptions) (*broker.Conn, error)
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// apiHandler serves one endpoint for the principal p.
type apiHandler func(w http.ResponseWriter, r *http.Request, p *principal)

// apiRoutes returns the handler of everything under /api/v1/.
func (s *Server) apiRoutes() http.Handler {
	mux := http.NewServeMux()
	look := func(pattern string, h apiHandler) { mux.Handle(pattern, s.api(false, h)) }
	change := func(pattern string, h apiHandler) { mux.Handle(pattern, s.api(true, h)) }
	mux.Handle("POST /api/v1/login", s.sameOrigin(http.HandlerFunc(s.postLogin)))
	mux.Handle("POST /api/v1/logout", s.sameOrigin(http.HandlerFunc(s.postLogout)))
	mux.HandleFunc("GET /api/v1/session", s.getSession)
	look("GET /api/v1/broker", s.getBroker)
	look("GET /api/v1/group", s.getGroup)
	look("GET /api/v1/destinations", s.getDestinations)
	look("GET /api/v1/queues/{name}", s.getDest(message.Queue))
	look("GET /api/v1/topics/{name}", s.getDest(message.Topic))
	change("DELETE /api/v1/queues/{name}", s.deleteDest(message.Queue))
	change("DELETE /api/v1/topics/{name}", s.deleteDest(message.Topic))
	look("GET /api/v1/queues/{name}/messages", s.getMessages)
	change("POST /api/v1/queues/{name}/messages", s.postMessage)
	change("POST /api/v1/queues/{name}/purge", s.postPurge)
	change("POST /api/v1/queues/{name}/move", s.postMove)
	change("POST /api/v1/queues/{name}/retry", s.idsHandler("retried", true, retryIDs))
	change("POST /api/v1/queues/{name}/remove", s.idsHandler("removed", false, removeIDs))
	look("GET /api/v1/durables", s.getDurables)
	change("DELETE /api/v1/durables/{client}/{name}", s.deleteDurable)
	look("GET /api/v1/connections", s.getConnections)
	change("DELETE /api/v1/connections/{id}", s.deleteConnection)
	look("GET /api/v1/scheduler/jobs", s.getJobs)
	change("DELETE /api/v1/scheduler/jobs/{id}", s.deleteJob)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) { noRoute(mux, w, r) })
	return mux
}

// noRoute answers a request no pattern took: 405 with Allow when the path
// exists for other methods, else 404, both as JSON.
func noRoute(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/v1/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s (allowed: %s)",
			r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
}

// sameOrigin refuses (403) a change that a browser says comes from
// another origin (another site's page posting to the console).
func (s *Server) sameOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cop.Check(r); err != nil {
			writeError(w, http.StatusForbidden, "refused: "+err.Error())
			return
		}
		h.ServeHTTP(w, r)
	})
}

// api checks who r comes from and, for a change, whether they may make it,
// then serves h.
func (s *Server) api(changes bool, h apiHandler) http.Handler {
	return s.sameOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.identify(r)
		if err != nil {
			s.unauthorized(w, r, err)
			return
		}
		if changes && !s.checkChange(w, r, p) {
			return
		}
		h(w, r, p)
	}))
}

// writeJSON answers v with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg} with code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, struct {
		Error string `json:"error"`
	}{msg})
}

// decodeJSON reads r's body into v: one JSON object, no unknown fields, at
// most maxBody bytes. An empty body leaves v as it is (a POST without
// options).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return decodeBody(body, v)
}

// decodeBody is decodeJSON's parser.
func decodeBody(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return errors.New("request body: more than one JSON value")
	}
	return nil
}

// statusOf maps a core error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, broker.ErrNoSuchDestination), errors.Is(err, broker.ErrNoSuchConnection),
		errors.Is(err, broker.ErrNoSuchDurable):
		return http.StatusNotFound
	case errors.Is(err, broker.ErrNotDeadLetter), errors.Is(err, broker.ErrDurableInUse):
		return http.StatusConflict
	case errors.Is(err, auth.ErrNotAuthorized):
		return http.StatusForbidden
	case errors.Is(err, message.ErrBadDestination), errors.Is(err, broker.ErrWildcardSend),
		errors.Is(err, broker.ErrSelector):
		return http.StatusBadRequest
	case errors.Is(err, broker.ErrMemoryLimit), errors.Is(err, broker.ErrStoreFull),
		errors.Is(err, broker.ErrClosed), errors.Is(err, store.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail answers a core error: its status and its words, without the
// package's prefix.
func fail(w http.ResponseWriter, err error) {
	writeError(w, statusOf(err), strings.TrimPrefix(err.Error(), "broker: "))
}

// coreFor answers 400 for a bad request (err not nil) and otherwise
// returns the broker as core does (nil once it answered 503).
func (s *Server) coreFor(w http.ResponseWriter, r *http.Request, err error) Core {
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil
	}
	return s.core(w, r)
}

// core returns the broker of the current span of service; while there is
// none (a slave, or a master between spans) it answers 503, with the
// master when the group knows it, and returns nil.
func (s *Server) core(w http.ResponseWriter, r *http.Request) Core {
	var c Core
	if s.opts.Core != nil {
		c = s.opts.Core()
	}
	if c != nil {
		return c
	}
	g := s.group(r.Context())
	msg := "this broker is not serving: no broker core"
	if g.Role != "master" {
		msg = fmt.Sprintf("this broker is a %s; ask the master", g.Role)
		if g.Master != "" {
			msg += " (" + g.Master + ")"
		}
	}
	writeJSON(w, http.StatusServiceUnavailable, struct {
		Error  string `json:"error"`
		Role   string `json:"role"`
		Master string `json:"master"`
	}{msg, g.Role, g.Master})
	return nil
}
