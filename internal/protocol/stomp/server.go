package stomp

import (
	"log/slog"
	"net"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/connbuf"
	"github.com/piermq/pier/internal/protocol/netserve"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = netserve.ErrServerClosed

// Config holds the adapter's settings.
type Config struct {
	Limits Limits
	// MaxConnections bounds concurrent connections; 0 means no limit.
	MaxConnections int
	// ServerName is sent in CONNECTED's server header.
	ServerName string
	// HeartBeatGrace multiplies the client's heart-beat interval before a
	// silent client is dropped.
	HeartBeatGrace float64
	// ConnectTimeout bounds how long a new connection may take to send CONNECT.
	ConnectTimeout time.Duration
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// OpenWireURL is where this broker speaks OpenWire ("" if it does
	// not): an OpenWire client that connects to the STOMP port is told
	// (sniff.go).
	OpenWireURL string
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	c.Limits = c.Limits.EnsureDefaults()
	if c.ServerName == "" {
		c.ServerName = "Pier/0.1"
	}
	if c.HeartBeatGrace < 1 {
		c.HeartBeatGrace = 1.5
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 30 * time.Second
	}
}

// Server accepts STOMP connections for a broker.
type Server struct {
	*netserve.Server
	cfg  Config
	b    *broker.Broker
	log  *slog.Logger
	bufs connbuf.Pool // the small write buffers of the sessions (connbuf)
}

// NewServer returns a server for b.
func NewServer(cfg Config, b *broker.Broker, log *slog.Logger) *Server {
	cfg.EnsureDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, b: b, log: log.With("component", "stomp")}
	s.Server = netserve.New("stomp", s, cfg.MaxConnections)
	return s
}

// NewSession implements netserve.Handler.
func (s *Server) NewSession(nc net.Conn) netserve.Session { return newSession(s, nc) }

// Refuse implements netserve.Handler.
func (s *Server) Refuse(nc net.Conn, reason string) { newSession(s, nc).refuse(reason) }
