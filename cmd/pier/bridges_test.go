package main

import (
	"strings"
	"testing"

	"github.com/piermq/pier/internal/config"
)

// What serve builds from network_connectors: defaults as ActiveMQ's, and a
// clear error for what cannot work.
func TestNewNetwork(t *testing.T) {
	cfg := config.Default()
	n := config.NewNetworkConnector()
	n.Name, n.URI = "to-two", "static:(tcp://127.0.0.1:1,failover:(tcp://127.0.0.1:2,tcp://127.0.0.1:3))"
	n.ExcludedDestinations = []string{"queue://private.>"}
	cfg.NetworkConnectors = []config.NetworkConnector{n}
	if _, err := newNetwork(cfg, func() []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}

	cfg.Transports.OpenWire = ""
	cfg.NetworkConnectors[0].Duplex = true
	if _, err := newNetwork(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "transports.openwire") {
		t.Errorf("duplex without OpenWire: %v", err)
	}
	cfg.NetworkConnectors[0].Duplex = false
	cfg.NetworkConnectors[0].ExcludedDestinations = []string{"queue://a..b"}
	if _, err := newNetwork(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "network_connectors[0].excluded_destinations[0]") {
		t.Errorf("bad destination: %v", err)
	}
}

func TestConnectorMembers(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want string
	}{
		{"tcp://h:1", "[[h:1]]"},
		{"static:(tcp://a:1,tcp://b:2?x=y)", "[[a:1] [b:2]]"},
		{"static:(tcp://a:1,failover:(tcp://b:2,tcp://c:3)?randomize=false)", "[[a:1] [b:2 c:3]]"},
	} {
		n := config.NetworkConnector{URI: tc.uri}
		got, err := n.Members()
		if err != nil || fmtMembers(got) != tc.want {
			t.Errorf("%s: %v %v, want %s", tc.uri, got, err, tc.want)
		}
	}
}

func fmtMembers(m [][]string) string {
	var parts []string
	for _, x := range m {
		parts = append(parts, "["+strings.Join(x, " ")+"]")
	}
	return "[" + strings.Join(parts, " ") + "]"
}
