package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// zkYAML is a replicated member that finds its group through ZooKeeper,
// with the keys of the case appended to its store.replicated section.
func zkYAML(keys string) string {
	return "store:\n  kind: replicated\n  replicated:\n    bind: tcp://127.0.0.1:62621\n" + indentKeys(keys)
}

func indentKeys(keys string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(strings.TrimSpace(keys), "\n") {
		if l != "" {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}

func TestZooKeeperKeys(t *testing.T) {
	c, err := Parse("x.yaml", []byte(zkYAML(`
zookeeper:
  address: "zk1:2181, zk2:2182,zk3"
  path: /activemq/leveldb-stores
  session_timeout: 5s
  password: secret
replicas: 5
hostname: mq1.example.com
`)))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Store.Replicated
	z := r.ZooKeeper
	if !z.Enabled() || z.Path != "/activemq/leveldb-stores" || z.SessionTimeout != 5*time.Second || z.Password != "secret" ||
		r.Replicas != 5 || r.Hostname != "mq1.example.com" || r.NodeID != "" {
		t.Fatalf("decoded %+v", r)
	}
	if got, want := strings.Join(z.Servers(), ","), "zk1:2181,zk2:2182,zk3:2181"; got != want {
		t.Errorf("Servers() = %s, want %s", got, want)
	}

	// ActiveMQ's defaults.
	c, err = Parse("x.yaml", []byte(zkYAML("zookeeper: {address: \"127.0.0.1:2181\"}")))
	if err != nil {
		t.Fatal(err)
	}
	z = c.Store.Replicated.ZooKeeper
	if z.Path != "/default" || z.SessionTimeout != 2*time.Second || c.Store.Replicated.Replicas != 3 {
		t.Errorf("defaults: %+v, replicas %d", z, c.Store.Replicated.Replicas)
	}
}

func TestZooKeeperErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"with peers", zkYAML("zookeeper: {address: \"h:2181\"}\npeers: {a: \"tcp://127.0.0.1:62621\"}"),
			"store.replicated.peers: not allowed with store.replicated.zookeeper"},
		{"without bind", "store:\n  kind: replicated\n  replicated:\n    zookeeper: {address: \"h:2181\"}\n",
			"store.replicated.bind: required with store.replicated.zookeeper"},
		{"bind port 0", "store:\n  kind: replicated\n  replicated:\n    bind: tcp://127.0.0.1:0\n    zookeeper: {address: \"h:2181\"}\n",
			"store.replicated.bind: \"tcp://127.0.0.1:0\": a fixed port is required"},
		{"address empty item", zkYAML("zookeeper: {address: \",\"}"),
			"store.replicated.zookeeper.address: \",\" names no server"},
		{"address bad port", zkYAML("zookeeper: {address: \"h:2181,h:t3533\"}"),
			"store.replicated.zookeeper.address: \"h:t3533\": port \"t3533\" is not a number"},
		{"address port 0", zkYAML("zookeeper: {address: \"h:0\"}"),
			"store.replicated.zookeeper.address: \"h:0\": port 0: a server's port is required"},
		{"address port too large", zkYAML("zookeeper: {address: \"h:70000\"}"),
			"store.replicated.zookeeper.address: \"h:70000\": port 70000 out of range (0-65535)"},
		{"address chroot", zkYAML("zookeeper: {address: \"h:2181/pier\"}"),
			"store.replicated.zookeeper.address: \"h:2181/pier\": a chroot suffix"},
		{"address no host", zkYAML("zookeeper: {address: \":2181\"}"),
			"store.replicated.zookeeper.address: \":2181\": a host is required"},
		{"path relative", zkYAML("zookeeper: {address: \"h:2181\", path: pier}"),
			"store.replicated.zookeeper.path: \"pier\": want an absolute znode path"},
		{"path root", zkYAML("zookeeper: {address: \"h:2181\", path: /}"),
			"store.replicated.zookeeper.path: \"/\": want an absolute znode path"},
		{"path trailing slash", zkYAML("zookeeper: {address: \"h:2181\", path: /pier/}"),
			"store.replicated.zookeeper.path: \"/pier/\": empty component"},
		{"path dots", zkYAML("zookeeper: {address: \"h:2181\", path: /pier/../x}"),
			"store.replicated.zookeeper.path: \"/pier/../x\": \"..\" components are not allowed"},
		{"path reserved", zkYAML("zookeeper: {address: \"h:2181\", path: /zookeeper/pier}"),
			"store.replicated.zookeeper.path: \"/zookeeper/pier\": /zookeeper is reserved"},
		{"session timeout", zkYAML("zookeeper: {address: \"h:2181\", session_timeout: 10ms}"),
			"store.replicated.zookeeper.session_timeout: 10ms: want 100ms to 10m"},
		{"replicas zero", zkYAML("zookeeper: {address: \"h:2181\"}\nreplicas: 0"),
			"store.replicated.replicas: 0: the group needs at least 1 member"},
		{"hostname", zkYAML("zookeeper: {address: \"h:2181\"}\nhostname: \"a b\""),
			"store.replicated.hostname: \"a b\" is not a host name or IP address"},
		{"node id", zkYAML("zookeeper: {address: \"h:2181\"}\nnode_id: \"a/b\""),
			"store.replicated.node_id: \"a/b\": no spaces or slashes"},
		{"unknown key", zkYAML("zookeeper: {zkAddress: \"h:2181\"}"),
			"unknown key \"zkAddress\" in store.replicated.zookeeper (known: address, path, session_timeout, password)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse: %v, want errors", err)
			}
			for _, e := range errs {
				if strings.Contains(e.Error(), tc.want) {
					return
				}
			}
			t.Errorf("errors:\n%v\nwant one containing %q", err, tc.want)
		})
	}
}
