package openwire

import (
	"strings"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// The broker side of ActiveMQ's updateClusterClients: clients are told the
// client URLs of every member of the high-availability group in
// ConnectionControl.connectedBrokers, and a failover client adds them to
// the brokers it tries when its socket fails.
//
// As ActiveMQ (TransportConnection.processAddConnection and updateClient,
// TransportConnector.getConnectionControl):
//   - a connection whose ConnectionInfo said manageable (every JMS client)
//     gets a ConnectionControl once its ConnectionInfo is accepted;
//   - later lists go only to fault-tolerant connections (a failover client:
//     its ConnectionInfo, or a ConnectionControl it sent, said so);
//   - OpenWire version 1 has no connectedBrokers field: nothing is sent;
//   - the ConnectionControl carries connectedBrokers (the URLs joined by
//     commas) and nothing else: faultTolerant false (ActiveMQ's
//     isFaultTolerantConfiguration is false), rebalanceConnection false
//     (Pier does not rebalance clients), no reconnectTo, close, exit,
//     suspend, resume or token.
//
// Pier sends nothing when the list is empty (ActiveMQ sends "" when
// updateClusterClients is off, which clients ignore), and sends a
// connection a list only if it differs from the one it was sent last.
//
// Ordering. Every call of Config.ClusterURLs is numbered before it starts;
// Server.cluster keeps the list of the highest-numbered call that has
// returned, and only that list is ever sent. A list read before a change
// can therefore not overwrite one read after it, provided the owner calls
// UpdateCluster after every change. ClusterURLs is called with no lock
// held.

// clusterControl is the ConnectionControl that announces list.
func clusterControl(list string) *wire.ConnectionControl {
	return &wire.ConnectionControl{ConnectedBrokers: list}
}

// readCluster calls cfg.ClusterURLs and returns its list as
// connectedBrokers, with the number of the call.
func (s *Server) readCluster() (seq uint64, list string) {
	seq = s.clusterReads.Add(1)
	var urls []string
	for _, u := range s.cfg.ClusterURLs() {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return seq, strings.Join(urls, ",")
}

// newestLocked records list, read by call seq, unless a later call's list
// was recorded already, and returns the newest list. Under s.cluster.
func (s *Server) newestLocked(seq uint64, list string) string {
	if seq > s.cluster.seq {
		s.cluster.seq, s.cluster.list = seq, list
	}
	return s.cluster.list
}

// greetCluster is run by the read loop once c's ConnectionInfo is
// answered: from now on UpdateCluster considers c, and a manageable
// client is sent the list at once.
func (c *conn) greetCluster(manageable bool) {
	s := c.srv
	if s.cfg.ClusterURLs == nil || c.version == 1 {
		return
	}
	seq, list := s.readCluster()
	s.cluster.Lock()
	defer s.cluster.Unlock()
	list = s.newestLocked(seq, list)
	c.cl.accepted = true
	if manageable && list != "" {
		c.send(clusterControl(list))
		c.cl.sent = list
	}
}

// UpdateCluster reads Config.ClusterURLs again and sends the list to every
// fault-tolerant connection that was last sent another one (ActiveMQ's
// TransportConnector.updateClientClusterInfo). Call it after the group's
// membership or addresses change. It does not block on connections, is
// safe to call from any goroutine at any time, also during or after
// Shutdown, and does nothing when ClusterURLs is nil. It calls ClusterURLs
// itself, so it must not be called with a lock held that ClusterURLs
// takes.
func (s *Server) UpdateCluster() {
	if s.cfg.ClusterURLs == nil {
		return
	}
	seq, list := s.readCluster()
	s.cluster.Lock()
	defer s.cluster.Unlock()
	list = s.newestLocked(seq, list)
	if list == "" {
		return
	}
	for _, c := range s.conns() {
		if c.cl.accepted && c.faultTolerant.Load() && c.cl.sent != list {
			c.send(clusterControl(list))
			c.cl.sent = list
		}
	}
}

// conns returns the connections that hold a connection id.
func (s *Server) conns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.mu.byConnID))
	for _, c := range s.mu.byConnID {
		out = append(out, c)
	}
	return out
}
