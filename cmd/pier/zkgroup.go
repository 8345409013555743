package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/replication/zkgroup"
	"github.com/piermq/pier/internal/store"
)

// members are the replicated group this broker belongs to: its own id and
// every member's replication address (host:port), from the peers map or
// found through ZooKeeper.
type members struct {
	nodeID string
	peers  map[string]string
	// zk keeps this member registered in ZooKeeper; nil with a peers map.
	zk *zkgroup.Membership
}

// replicatedMembers returns the group of a replicated member: its peers
// map, or, with store.replicated.zookeeper, the group that formed in
// ZooKeeper or was saved in the data directory (waiting for it until ctx
// ends). Close releases the ZooKeeper registration.
func replicatedMembers(ctx context.Context, cfg *config.Config, log *slog.Logger) (members, error) {
	r := cfg.Store.Replicated
	m := members{nodeID: r.NodeID}
	urls, what := r.Peers, "store.replicated.peers"
	if r.ZooKeeper.Enabled() {
		zm, err := zkgroup.Discover(ctx, zkOptions(cfg), log)
		if err != nil {
			return m, err
		}
		m.nodeID, m.zk = zm.NodeID, zm
		urls, what = zm.Peers, fmt.Sprintf("zookeeper group %s: member", r.ZooKeeper.Path)
	}
	var err error
	if m.peers, err = peerAddrs(urls, what); err != nil {
		m.Close()
	}
	return m, err
}

// peerAddrs turns the members' replication URLs into host:port; what
// names them in an error.
func peerAddrs(urls map[string]string, what string) (map[string]string, error) {
	peers := make(map[string]string, len(urls))
	for id, u := range urls {
		_, addr, err := config.ListenAddr(u)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", what, id, err)
		}
		peers[id] = addr
	}
	return peers, nil
}

// configuredPeers returns the members' replication URLs that a member's
// configuration names: its peers map, or with ZooKeeper the group the
// member saved when it formed.
func configuredPeers(cfg *config.Config) (map[string]string, error) {
	if !cfg.Store.Replicated.ZooKeeper.Enabled() {
		return cfg.Store.Replicated.Peers, nil
	}
	g, err := zkgroup.ReadSaved(zkOptions(cfg).SaveFile)
	if err != nil {
		return nil, fmt.Errorf("%w (a member configured with store.replicated.zookeeper knows its group once it has formed; run this where a member runs, or give --peers)", err)
	}
	return g.Members, nil
}

// zkOptions is what this member registers in ZooKeeper and where.
func zkOptions(cfg *config.Config) zkgroup.Options {
	r := cfg.Store.Replicated
	repl := zkReplicationURL(cfg)
	id := r.NodeID
	if id == "" {
		id = repl[len("tcp://"):]
	}
	return zkgroup.Options{
		Servers:        r.ZooKeeper.Servers(),
		Path:           r.ZooKeeper.Path,
		SessionTimeout: r.ZooKeeper.SessionTimeout,
		Password:       r.ZooKeeper.Password,
		Replicas:       r.Replicas,
		Self: zkgroup.Member{ID: id, Replication: repl, Client: advertised(cfg, cfg.Transports.OpenWire),
			Console: consoleURL(cfg), Broker: cfg.Broker.Name},
		SaveFile: filepath.Join(cfg.Broker.DataDir, "replication", "zookeeper-group.json"),
	}
}

// zkReplicationURL is the replication URL the other members dial:
// store.replicated.hostname with the bind port, else the bind address with
// the advertised host in place of a wildcard.
func zkReplicationURL(cfg *config.Config) string {
	r := cfg.Store.Replicated
	_, hp, _ := config.ListenAddr(r.Bind) // validated
	if r.Hostname == "" {
		return advertised(cfg, "tcp://"+hp)
	}
	_, port, _ := net.SplitHostPort(hp)
	return "tcp://" + net.JoinHostPort(r.Hostname, port)
}

// Close ends the ZooKeeper registration, if any.
func (m members) Close() {
	if m.zk != nil {
		m.zk.Close()
	}
}

// store returns st, closing the ZooKeeper registration with it.
func (m members) store(st store.Store) store.Store {
	if m.zk == nil {
		return st
	}
	return zkStore{st, m}
}

// zkStore is a replicated store whose member stays registered in ZooKeeper
// while it is open.
type zkStore struct {
	store.Store
	m members
}

func (z zkStore) Close() error {
	err := z.Store.Close()
	z.m.Close()
	return err
}
