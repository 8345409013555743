// Package admin serves the broker's HTTP side on the console port: health
// (/healthz: the process is up), readiness (/readyz: this broker is master
// and serving clients) and Prometheus metrics (/metrics), open to load
// balancers and scrapers; the network bridges (/network, JSON) and the
// REST API (/api/v1/, docs/api.md) behind the front door's login when
// security is on. The web console's pages live here too.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/network"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options are what the console reports on.
type Options struct {
	// Ready reports whether the broker serves clients (/readyz,
	// pier_serving). Required.
	Ready func() bool
	// Network returns the status of every network bridge. Nil when no
	// connectors are configured.
	Network func() []network.Status
	// Guard is the front door: with security on, everything but /healthz,
	// /readyz and /metrics needs a login (HTTP basic authentication, a
	// verified client certificate, or a session of the pages). Nil: open.
	Guard *auth.Guard
	// Core returns the broker of the current span of service, nil while
	// there is none (a slave): the REST API's destination, connection and
	// durable endpoints then answer 503.
	Core func() Core
	// Group reports this member's role and what it knows of its group
	// (/api/v1/group). Nil: a lone broker, master while Ready.
	Group func(ctx context.Context) Group
	// AdminGroups may change things through the REST API
	// (console.admin_groups); every other authenticated user may only
	// look. Nil: [admins]. With security off, everyone may.
	AdminGroups []string
	// Name and Version are the broker's name and Pier's version, for
	// /api/v1/broker.
	Name, Version string
	// Now returns the current time (sessions, uptime); nil: time.Now.
	Now func() time.Time
	// Metrics are the broker, store and replication sources of /metrics
	// (metrics.go).
	Metrics MetricsSources
}

// Server is the HTTP server of the console port.
type Server struct {
	http     *http.Server
	opts     Options
	sessions *sessions
	cop      *http.CrossOriginProtection
}

// New returns a server with its own metrics registry.
func New(opts Options, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "admin")
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, sessions: newSessions(opts.Now), cop: http.NewCrossOriginProtection()}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collector{s},
	)
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /", UIHandler()) // the pages; every other route is more specific
	mux.Handle("GET /network", s.login(http.HandlerFunc(s.network)))
	// A broken bridge record must not hide the other metrics: serve what
	// was gathered and log the error.
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: errLog, ErrorHandling: promhttp.ContinueOnError,
	}))
	// The REST API has a mux of its own, so that its answers (404 and
	// 405 too) are JSON, whatever else the console's mux serves.
	api := s.apiRoutes()
	s.http = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/v1/") {
				api.ServeHTTP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          errLog,
	}
	return s
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.opts.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// network serves {"bridges":[...]}: what Options.Network returns, as it is.
func (s *Server) network(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Bridges []network.Status `json:"bridges"`
	}{s.bridges()})
}

// bridges returns the bridges' status, empty (not nil) when there are none.
func (s *Server) bridges() []network.Status {
	var bs []network.Status
	if s.opts.Network != nil {
		bs = s.opts.Network()
	}
	if bs == nil {
		bs = []network.Status{}
	}
	return bs
}

// login lets a request through once the front door accepts its
// credentials or session cookie (identify); otherwise it answers 401.
func (s *Server) login(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.identify(r); err != nil {
			s.unauthorized(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// now returns the current time.
func (s *Server) now() time.Time { return s.opts.Now() }

// Handler returns the console's routes, for tests and for mounting
// elsewhere.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Serve serves HTTP on ln until Shutdown; it then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the server, waiting for requests in progress (or ctx).
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }
