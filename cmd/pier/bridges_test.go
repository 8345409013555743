package main

import (
	"strings"
	"testing"

	"github.com/piermq/pier/client/clienttest"
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
	cfg.NetworkConnectors[0].ExcludedDestinations = []string{"queue://a.>.b"}
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
		{"static:(ssl://a:1,failover:(ssl://b:2,tcp://c:3))", "[[a:1] [b:2 c:3]]"},
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

// ssl:// members keep their scheme; bridges trust tls.ca_file and present
// the broker's certificate.
func TestNewNetworkTLS(t *testing.T) {
	ca := clienttest.NewCA(t, "test CA")
	caFile, certFile, keyFile := ca.Files(t, "broker", "127.0.0.1")
	cfg := config.Default()
	n := config.NewNetworkConnector()
	n.Name, n.URI = "secure", "static:(ssl://127.0.0.1:1,failover:(ssl://127.0.0.1:2,tcp://127.0.0.1:3))"
	cfg.NetworkConnectors = []config.NetworkConnector{n}
	if _, err := newNetwork(cfg, nil, nil); err != nil {
		t.Fatalf("ssl:// members with the system's roots: %v", err)
	}

	cfg.TLS = config.TLS{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}
	if _, err := newNetwork(cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	c, err := bridgeTLS(cfg.TLS)
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 {
		t.Fatalf("bridgeTLS: %+v %v", c, err)
	}
	if c, err := bridgeTLS(config.TLS{}); c != nil || err != nil {
		t.Errorf("bridgeTLS without tls: %+v %v", c, err)
	}
	cfg.TLS.CAFile = caFile + ".missing"
	if _, err := newNetwork(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "tls.ca_file") {
		t.Errorf("missing tls.ca_file: %v", err)
	}
	cfg.TLS = config.TLS{CertFile: certFile, KeyFile: caFile}
	if _, err := newNetwork(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "tls.cert_file") {
		t.Errorf("bad tls.key_file: %v", err)
	}
}
