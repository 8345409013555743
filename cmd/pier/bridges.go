package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/keystore"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/network"
)

// newNetwork builds the network connectors of cfg. The network exists
// without connectors too: it bridges back to other brokers' duplex
// connectors. advertise returns this broker's client URLs (the group's,
// for a replicated store), which a duplex connector sends. Bridges dial
// ssl:// members (and duplex requests' ssl:// addresses) with bridgeTLS.
func newNetwork(cfg *config.Config, advertise func() []string, log *slog.Logger) (*network.Network, error) {
	btls, err := bridgeTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	var conns []network.Connector
	for i, n := range cfg.NetworkConnectors {
		path := fmt.Sprintf("network_connectors[%d]", i)
		if n.Duplex && cfg.Transports.OpenWire == "" {
			return nil, fmt.Errorf("%s.duplex: the remote broker bridges back over OpenWire: transports.openwire must be set", path)
		}
		members, err := n.MemberURLs()
		if err != nil {
			return nil, fmt.Errorf("%s.uri: %w", path, err)
		}
		c := network.Connector{Name: n.Name, Members: members, TTL: n.NetworkTTL, Conduit: n.ConduitSubscriptions,
			DynamicOnly:      n.DynamicOnly,
			DecreasePriority: n.DecreaseNetworkConsumerPriority, Prefetch: n.PrefetchSize,
			Username: n.Username, Password: n.Password, TLS: btls, Duplex: n.Duplex, Advertise: advertise}
		for _, f := range []struct {
			key  string
			in   []string
			into *[]message.Destination
		}{
			{"excluded_destinations", n.ExcludedDestinations, &c.Excluded},
			{"dynamically_included_destinations", n.DynamicallyIncludedDestinations, &c.DynamicallyIncluded},
			{"statically_included_destinations", n.StaticallyIncludedDestinations, &c.StaticallyIncluded},
		} {
			for j, s := range f.in {
				d, err := message.ParseDestination(s)
				if err != nil {
					return nil, fmt.Errorf("%s.%s[%d]: %w", path, f.key, j, err)
				}
				*f.into = append(*f.into, d)
			}
		}
		conns = append(conns, c)
	}
	return network.New(network.Config{Connectors: conns, DuplexTLS: btls}, log)
}

// bridgeTLS is what bridges trust and present when they dial ssl://
// brokers: the CAs of tls.ca_file (none: the system's roots), and the
// broker's own certificate (tls.cert_file, tls.key_file) when it has one,
// for remote brokers that take a certificate instead of a password (it
// must then allow client authentication). Nil when neither is set.
func bridgeTLS(t config.TLS) (*tls.Config, error) {
	if t.CAFile == "" && t.TruststoreFile == "" && !t.Enabled() {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case t.CAFile != "":
		pool, err := loadCAs(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		c.RootCAs = pool
	case t.TruststoreFile != "":
		pool, err := keystore.LoadCAs(t.TruststoreFile, t.TruststorePassword)
		if err != nil {
			return nil, fmt.Errorf("tls.truststore_file: %w", err)
		}
		c.RootCAs = pool
	}
	if t.Enabled() {
		cert, err := brokerCert(t)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
