package main

import (
	"fmt"
	"log/slog"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/network"
)

// newNetwork builds the network connectors of cfg (nil if there are none).
func newNetwork(cfg *config.Config, log *slog.Logger) (*network.Network, error) {
	if len(cfg.NetworkConnectors) == 0 {
		return nil, nil
	}
	var conns []network.Connector
	for i, n := range cfg.NetworkConnectors {
		path := fmt.Sprintf("network_connectors[%d]", i)
		if n.Duplex {
			return nil, fmt.Errorf("%s.duplex: true is not supported yet; configure a connector on each side instead", path)
		}
		members, err := n.Members()
		if err != nil {
			return nil, fmt.Errorf("%s.uri: %w", path, err)
		}
		c := network.Connector{Name: n.Name, Members: members, TTL: n.NetworkTTL, Conduit: n.ConduitSubscriptions,
			DecreasePriority: n.DecreaseNetworkConsumerPriority, Prefetch: n.PrefetchSize,
			Username: n.Username, Password: n.Password}
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
	return network.New(conns, log)
}
