package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/config"
)

// TestZKOptions: what a member registers — its replication URL with
// hostname, or the advertised host for a wildcard bind, and node_id
// defaulting to host:port of it.
func TestZKOptions(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, id, repl string
	}{
		{"loopback bind", "", "127.0.0.1:62621", "tcp://127.0.0.1:62621"},
		{"hostname", "    hostname: mq1.example.com\n", "mq1.example.com:62621", "tcp://mq1.example.com:62621"},
		{"node id", "    node_id: a\n", "a", "tcp://127.0.0.1:62621"},
		{"wildcard bind", "    bind: tcp://0.0.0.0:62622\n    insecure: true\n", "mq2.example.com:62622", "tcp://mq2.example.com:62622"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bind := "    bind: tcp://127.0.0.1:62621\n"
			if tc.name == "wildcard bind" {
				bind = ""
			}
			src := "broker:\n  name: orders\n  data_dir: /var/lib/pier\n  advertise_host: mq2.example.com\nstore:\n  kind: replicated\n  replicated:\n" +
				bind + tc.yaml + "    zookeeper: {address: \"zk1:2181,zk2\", path: /activemq/orders}\n"
			cfg, err := config.Parse("x.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			o := zkOptions(cfg)
			if o.Self.ID != tc.id || o.Self.Replication != tc.repl || o.Self.Broker != "orders" || o.Replicas != 3 ||
				o.Path != "/activemq/orders" || len(o.Servers) != 2 || o.Servers[1] != "zk2:2181" ||
				o.SaveFile != filepath.Join("/var/lib/pier", "replication", "zookeeper-group.json") {
				t.Errorf("zkOptions = %+v", o)
			}
		})
	}
}

// TestConfiguredPeersFromSavedGroup: pier cluster status --config of a
// ZooKeeper member reads the group the member saved, and says what to do
// before there is one.
func TestConfiguredPeersFromSavedGroup(t *testing.T) {
	dir := t.TempDir()
	src := "broker:\n  name: orders\n  data_dir: " + dir + "\nstore:\n  kind: replicated\n  replicated:\n    bind: tcp://127.0.0.1:62621\n" +
		"    zookeeper: {address: \"127.0.0.1:2181\"}\n"
	cfg, err := config.Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := configuredPeers(cfg); err == nil || !strings.Contains(err.Error(), "--peers") {
		t.Fatalf("before the group formed: %v, want an error that suggests --peers", err)
	}
	saved := `{"path":"/default","node_id":"127.0.0.1:62621","broker":"orders","members":{"127.0.0.1:62621":"tcp://127.0.0.1:62621","b:62621":"tcp://b:62621"}}`
	if err := os.MkdirAll(filepath.Join(dir, "replication"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "replication", "zookeeper-group.json"), []byte(saved), 0o644); err != nil {
		t.Fatal(err)
	}
	peers, err := configuredPeers(cfg)
	if err != nil || len(peers) != 2 || peers["b:62621"] != "tcp://b:62621" {
		t.Fatalf("configuredPeers = %v, %v", peers, err)
	}
}
