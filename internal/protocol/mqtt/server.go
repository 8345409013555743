// Package mqtt is the MQTT 3.1.1 and 5.0 adapter: it maps MQTT sessions,
// subscriptions and publishes onto the broker core, so that MQTT devices,
// JMS applications and STOMP clients share topics, and MQTT's state (QoS 1
// and 2 messages, persistent sessions, retained messages, exactly-once
// exchanges) is kept by the store and survives a failover. docs/mqtt.md
// has the model.
package mqtt

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/connbuf"
	"github.com/piermq/pier/internal/protocol/netserve"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = netserve.ErrServerClosed

// Config holds the adapter's settings.
type Config struct {
	// MaxPacketSize bounds a packet from a client (the broker's
	// max_frame_size); MQTT 5 clients are told it in CONNACK.
	MaxPacketSize uint32
	// MaxConnections bounds concurrent connections; 0 means no limit.
	MaxConnections int
	// MaxInflight bounds the QoS 1 and 2 messages sent to a client and not
	// yet acknowledged, per connection (a client's Receive Maximum lowers
	// it). Default 1000.
	MaxInflight int
	// ReceiveMaximum bounds the QoS 2 messages a client may have sent and
	// not yet released (PUBREL); MQTT 5 clients are told it. Default 1000.
	ReceiveMaximum uint16
	// MaxKeepAlive, if set, caps the keep-alive a client asks for (and a
	// client asking for none gets this one); MQTT 5 clients are told.
	MaxKeepAlive time.Duration
	// MaxSessionExpiry caps an MQTT 5 session's expiry interval; 0 means
	// no cap (a 3.1.1 persistent session never expires).
	MaxSessionExpiry time.Duration
	// TopicAliasMaximum is how many topic aliases an MQTT 5 client may
	// use (0: none).
	TopicAliasMaximum uint16
	// ConnectTimeout bounds how long a new connection may take to send
	// CONNECT.
	ConnectTimeout time.Duration
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// Protocol names the transport in credentials and logs ("mqtt", or
	// "mqtt+ws" over WebSocket).
	Protocol string
}

// EnsureDefaults fills unset fields.
func (c *Config) EnsureDefaults() {
	if c.MaxInflight <= 0 {
		c.MaxInflight = 1000
	}
	if c.ReceiveMaximum == 0 {
		c.ReceiveMaximum = 1000
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.Protocol == "" {
		c.Protocol = "mqtt"
	}
}

// Server accepts MQTT connections for a broker.
type Server struct {
	*netserve.Server
	cfg  Config
	b    *broker.Broker
	log  *slog.Logger
	bufs connbuf.Pool

	// gone holds what outlives a client's connection until it comes back:
	// a delayed will, an expiring session.
	gone struct {
		sync.Mutex
		m map[string]*absent
	}
}

// absent is a client whose connection ended.
type absent struct {
	will   *time.Timer // a will with a delay, not yet published
	expiry *time.Timer // the session's end
}

// NewServer returns a server for b.
func NewServer(cfg Config, b *broker.Broker, log *slog.Logger) *Server {
	cfg.EnsureDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, b: b, log: log.With("component", "mqtt")}
	s.gone.m = map[string]*absent{}
	s.Server = netserve.New(cfg.Protocol, s, cfg.MaxConnections)
	s.expireRecorded()
	return s
}

// A persistent session with an expiry is marked, when its connection ends,
// with the time it ends: "mqtt:exp:CLIENT:UNIX". The master that sees the
// connection end times it; a new master times what the marks say.

func expiryMark(clientID string, at time.Time) string {
	return "mqtt:exp:" + clientID + ":" + strconv.FormatInt((at.UnixMilli()+999)/1000, 10) // never early
}

// expiryMarks returns a client's expiry marks.
func (s *Server) expiryMarks(clientID string) []string {
	prefix := "mqtt:exp:" + clientID + ":"
	var out []string
	for _, k := range s.b.Marks(prefix) {
		if _, err := strconv.ParseInt(k[len(prefix):], 10, 64); err == nil {
			out = append(out, k)
		}
	}
	return out
}

// expireRecorded times the sessions the store says end.
func (s *Server) expireRecorded() {
	for _, k := range s.b.Marks("mqtt:exp:") {
		rest := strings.TrimPrefix(k, "mqtt:exp:")
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			continue
		}
		at, err := strconv.ParseInt(rest[i+1:], 10, 64)
		if err != nil {
			continue
		}
		s.expireAt(rest[:i], time.Unix(at, 0))
	}
}

// expireAt ends a client's session at a time, unless it comes back first.
func (s *Server) expireAt(clientID string, at time.Time) {
	s.away(clientID, func(a *absent) {
		if a.expiry != nil {
			a.expiry.Stop()
		}
		a.expiry = time.AfterFunc(time.Until(at), func() {
			s.log.Info("session expired", "client_id", clientID)
			s.endSession(context.Background(), clientID)
		})
	})
}

// NewSession implements netserve.Handler.
func (s *Server) NewSession(nc net.Conn) netserve.Session { return newSession(s, nc) }

// Refuse implements netserve.Handler: the connection is over the limit. A
// client that sent its CONNECT within a second is told (CONNACK Server
// busy / unavailable).
func (s *Server) Refuse(nc net.Conn, reason string) { newSession(s, nc).refuse(reason) }

// Shutdown stops the server and the timers of absent clients (their wills
// and session ends are the next master's business).
func (s *Server) Shutdown(ctx context.Context) error {
	s.gone.Lock()
	for id, a := range s.gone.m {
		a.stop()
		delete(s.gone.m, id)
	}
	s.gone.Unlock()
	return s.Server.Shutdown(ctx)
}

func (a *absent) stop() {
	if a.will != nil {
		a.will.Stop()
	}
	if a.expiry != nil {
		a.expiry.Stop()
	}
}

// back cancels what waited for a client that has connected again.
func (s *Server) back(clientID string) {
	s.gone.Lock()
	if a := s.gone.m[clientID]; a != nil {
		a.stop()
		delete(s.gone.m, clientID)
	}
	s.gone.Unlock()
}

// away records a timer for a client whose connection ended.
func (s *Server) away(clientID string, set func(a *absent)) {
	s.gone.Lock()
	a := s.gone.m[clientID]
	if a == nil {
		a = &absent{}
		s.gone.m[clientID] = a
	}
	set(a)
	s.gone.Unlock()
}
