// Package openwire is the broker side of OpenWire, the protocol of the
// ActiveMQ JMS client: it negotiates the wire format, turns commands into
// calls on the broker core, and delivers messages back as MessageDispatch.
// The codec is in the wire subpackage.
package openwire

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/connbuf"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// maxProperties bounds the properties of one message.
const maxProperties = 10000

// Config holds the adapter's settings.
type Config struct {
	// MaxFrameSize is the largest frame accepted.
	MaxFrameSize int64
	// MaxConnections bounds concurrent connections; 0 means no limit.
	MaxConnections int
	// BrokerName is announced in BrokerInfo; empty: the broker's name.
	// BrokerInfo's broker id is the core's (broker.Broker.ID).
	BrokerName string
	// BrokerURL is announced in BrokerInfo (the client URL of this broker).
	BrokerURL string
	// MaxInactivity is the keep-alive interval offered to clients: a
	// connection that sends nothing for this long is dropped.
	MaxInactivity time.Duration
	// InactivityInitialDelay is how long a new connection may take before
	// inactivity checks start (and to send its WireFormatInfo).
	InactivityInitialDelay time.Duration
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// STOMPURL is where this broker speaks STOMP ("" if it does not): a
	// STOMP client that connects to the OpenWire port is told (sniff.go).
	STOMPURL string
	// ClusterURLs, when not nil, returns the client URLs of every member of
	// this broker's high-availability group, this broker's own included
	// (ActiveMQ's updateClusterClients): a failover client is told them in
	// a ConnectionControl once its ConnectionInfo is accepted, and again by
	// Server.UpdateCluster when they change (see cluster.go). It is called
	// from connection goroutines and must return quickly.
	ClusterURLs func() []string
	// Duplex, when not nil, is asked to bridge back to a broker whose
	// network bridge connected with a duplex BrokerInfo (Pier's duplex
	// connectors): it starts a bridge that runs until ctx ends (the
	// connection closes) and returns at once; an error is logged.
	Duplex func(ctx context.Context, req DuplexRequest) error
}

// DuplexRequest is a remote broker's request to be bridged back to.
type DuplexRequest struct {
	BrokerID, BrokerName string
	URL                  string // where to reach it
	Properties           string // its bridge's settings, as it wrote them
	// Username and Password are what the remote bridge logged in with:
	// the bridge back presents them to it.
	Username, Password string
}

// EnsureDefaults fills unset fields with ActiveMQ's defaults.
func (c *Config) EnsureDefaults() {
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = 100 << 20
	}
	if c.BrokerName == "" {
		c.BrokerName = "localhost"
	}
	if c.MaxInactivity == 0 {
		c.MaxInactivity = 30 * time.Second
	}
	if c.InactivityInitialDelay == 0 {
		c.InactivityInitialDelay = 10 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 30 * time.Second
	}
}

// Server accepts OpenWire connections for a broker.
type Server struct {
	*netserve.Server
	cfg      Config
	b        *broker.Broker
	log      *slog.Logger
	brokerID string // the core's: every listener and span of service announces the same one
	// local is the WireFormatInfo every connection is sent first and
	// negotiates against; read only, so one serves them all.
	local *wire.WireFormatInfo
	bufs  connbuf.Pool // the small write buffers of the connections (connbuf)

	mu struct {
		sync.Mutex
		byConnID map[string]*conn // live connections by the client's ConnectionId
	}

	// Cluster URLs (cluster.go). Lock order: cluster, then mu; the conn.cl
	// fields of every connection are guarded by cluster.
	clusterReads atomic.Uint64 // numbers the calls of cfg.ClusterURLs
	cluster      struct {
		sync.Mutex
		seq  uint64 // the call that returned list
		list string // the newest connectedBrokers
	}
}

// NewServer returns a server for b.
func NewServer(cfg Config, b *broker.Broker, log *slog.Logger) *Server {
	if cfg.BrokerName == "" {
		cfg.BrokerName = b.Config().Name
	}
	cfg.EnsureDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, b: b, log: log.With("component", "openwire"), brokerID: b.ID()}
	s.local = wire.NewBrokerWireFormat(wire.BrokerWireFormatConfig{
		MaxInactivityDuration:     cfg.MaxInactivity,
		MaxInactivityInitialDelay: cfg.InactivityInitialDelay,
		MaxFrameSize:              cfg.MaxFrameSize,
		ProviderName:              "Pier",
	})
	s.mu.byConnID = map[string]*conn{}
	s.Server = netserve.New("openwire", s, cfg.MaxConnections)
	return s
}

// NewSession implements netserve.Handler.
func (s *Server) NewSession(nc net.Conn) netserve.Session { return newConn(s, nc) }

// Refuse implements netserve.Handler.
func (s *Server) Refuse(nc net.Conn, reason string) {
	c := newConn(s, nc)
	c.sendWireFormat()
	c.writeNow(&wire.ConnectionError{Exception: &wire.Throwable{Class: "javax.jms.JMSException", Message: reason}})
	netserve.CloseAfterError(nc, netserve.DrainTime)
}

// claim registers c under the client's connection id. A connection that
// still holds the id (the client failed over and came back before the
// broker noticed) is closed first, as ActiveMQ does with stale connections.
func (s *Server) claim(id string, c *conn) {
	s.mu.Lock()
	old := s.mu.byConnID[id]
	s.mu.byConnID[id] = c
	s.mu.Unlock()
	if old != nil && old != c {
		s.log.Info("closing a stale connection replaced by its client", "conn", id)
		old.closeStale()
	}
}

// release forgets c's connection id.
func (s *Server) release(id string, c *conn) {
	s.mu.Lock()
	if s.mu.byConnID[id] == c {
		delete(s.mu.byConnID, id)
	}
	s.mu.Unlock()
}
