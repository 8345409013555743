// Package admin serves the broker's HTTP side on the console port: health
// (/healthz: the process is up), readiness (/readyz: this broker is master
// and serving clients), the network bridges (/network, JSON) and Prometheus
// metrics (/metrics), the last two behind the front door's login when
// security is on. The web console and REST API will live here too.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
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
	// Guard is the front door: with security on, everything but /healthz
	// and /readyz needs a login (HTTP basic authentication, or a verified
	// client certificate). Nil: open.
	Guard *auth.Guard
	// Metrics are the broker, store and replication sources of /metrics
	// (metrics.go).
	Metrics MetricsSources
}

// Server is the HTTP server of the console port.
type Server struct {
	http *http.Server
	opts Options
}

// New returns a server with its own metrics registry.
func New(opts Options, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "admin")
	s := &Server{opts: opts}
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
	mux.Handle("GET /network", s.login(http.HandlerFunc(s.network)))
	// A broken bridge record must not hide the other metrics: serve what
	// was gathered and log the error.
	mux.Handle("GET /metrics", s.login(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: errLog, ErrorHandling: promhttp.ContinueOnError,
	})))
	s.http = &http.Server{
		Handler:           mux,
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
// credentials; otherwise it answers 401 with a basic-authentication
// challenge.
func (s *Server) login(h http.Handler) http.Handler {
	g := s.opts.Guard
	if g == nil || !g.Enforced() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, _ := r.BasicAuth()
		cred := auth.Credentials{Username: user, Password: pw, Remote: r.RemoteAddr, Protocol: "http", Request: true}
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
			cred.Certificates = r.TLS.VerifiedChains[0]
		}
		if user == "" && cred.Certificates == nil && !g.AllowsAnonymous() {
			// A browser's first request: ask for credentials (not a
			// failed login).
			w.Header().Set("WWW-Authenticate", `Basic realm="Pier", charset="UTF-8"`)
			http.Error(w, "login required", http.StatusUnauthorized)
			return
		}
		if _, err := g.Authenticate(r.Context(), cred); err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="Pier", charset="UTF-8"`)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

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
