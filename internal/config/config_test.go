package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// withDefaults returns Default's tunables around the given sections.
func withDefaults(f func(c *Config)) *Config {
	c := Default()
	c.Store.Journal.Dir = ""
	f(c)
	return c.EnsureDefaults()
}

func TestExamplesParse(t *testing.T) {
	seedPeers := func(group string, port int) map[string]string {
		m := map[string]string{}
		for i, m2 := range []string{"a", "b", "c"} {
			m[group+"-"+m2] = "tcp://127.0.0.1:" + itoa(port+i)
		}
		return m
	}
	seed := func(group, member string, ow, stomp, console, repl int, other int) *Config {
		return withDefaults(func(c *Config) {
			id := group + "-" + member
			c.Broker = Broker{Name: group, DataDir: "./data/" + id}
			c.Transports = Transports{OpenWire: "tcp://127.0.0.1:" + itoa(ow), STOMP: "stomp://127.0.0.1:" + itoa(stomp)}
			c.Console.Listen = "127.0.0.1:" + itoa(console)
			c.Store.Kind = StoreReplicated
			c.Store.Replicated = Replicated{NodeID: id, Bind: "tcp://127.0.0.1:" + itoa(repl), Peers: seedPeers(group, repl-indexOf(member))}
			nc := NewNetworkConnector()
			nc.Name = "to-other-group"
			nc.URI = "static:(tcp://127.0.0.1:" + itoa(other) + ",tcp://127.0.0.1:" + itoa(other+1) + ",tcp://127.0.0.1:" + itoa(other+2) + ")"
			c.NetworkConnectors = []NetworkConnector{nc}
		})
	}
	sharedDir := func(m string, ow, stomp, console int) *Config {
		return withDefaults(func(c *Config) {
			c.Broker = Broker{Name: "shared-group", DataDir: "./data/" + m}
			c.Transports = Transports{OpenWire: "tcp://127.0.0.1:" + itoa(ow), STOMP: "stomp://127.0.0.1:" + itoa(stomp)}
			c.Console.Listen = "127.0.0.1:" + itoa(console)
			c.Store.Journal.Dir = "./data/shared-journal"
		})
	}
	sqlGroup := func(m string, ow, stomp, console int) *Config {
		return withDefaults(func(c *Config) {
			c.Broker = Broker{Name: "sql-group", DataDir: "./data/sql-" + m}
			c.Transports = Transports{OpenWire: "tcp://127.0.0.1:" + itoa(ow), STOMP: "stomp://127.0.0.1:" + itoa(stomp)}
			c.Console.Listen = "127.0.0.1:" + itoa(console)
			c.Store.Kind = StoreSQL
			c.Store.SQL = SQL{Driver: "postgres", DSN: "postgres://pier@127.0.0.1:5432/pier?sslmode=disable", LeaseDuration: 10 * time.Second}
		})
	}
	want := map[string]*Config{
		"single.yaml":           Default(),
		"shared-dir-a.yaml":     sharedDir("a", 61626, 61623, 8191),
		"shared-dir-b.yaml":     sharedDir("b", 61627, 61624, 8192),
		"sql-a.yaml":            sqlGroup("a", 61636, 61633, 8193),
		"sql-b.yaml":            sqlGroup("b", 61637, 61634, 8194),
		"seed/group-one-a.yaml": seed("group-one", "a", 53511, 53611, 8161, 62611, 53531),
		"seed/group-one-b.yaml": seed("group-one", "b", 53512, 53612, 8162, 62612, 53531),
		"seed/group-one-c.yaml": seed("group-one", "c", 53513, 53613, 8163, 62613, 53531),
		"seed/group-two-a.yaml": seed("group-two", "a", 53531, 53631, 8171, 62631, 53511),
		"seed/group-two-b.yaml": seed("group-two", "b", 53532, 53632, 8172, 62632, 53511),
		"seed/group-two-c.yaml": seed("group-two", "c", 53533, 53633, 8173, 62633, 53511),
		"secure.yaml":           secureExample(),
		"replicated-tls-a.yaml": replicatedTLSExample(),
	}
	files := exampleFiles(t)
	if len(files) != len(want) {
		t.Errorf("testdata has %d examples, the test knows %d", len(files), len(want))
	}
	for _, f := range files {
		name, _ := filepath.Rel(examplesDir, f)
		t.Run(name, func(t *testing.T) {
			got, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[filepath.ToSlash(name)]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
		})
	}
}

// examplesDir holds the repository's example configurations (examples/).
const examplesDir = "../../examples"

// exampleFiles lists every example configuration of the repository.
func exampleFiles(t testing.TB) []string {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	more, _ := filepath.Glob(filepath.Join(examplesDir, "seed", "*.yaml"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatalf("no examples in %s", examplesDir)
	}
	return files
}

func secureExample() *Config {
	return withDefaults(func(c *Config) {
		no := false
		all := []string{"admins"}
		c.Broker = Broker{Name: "secure", DataDir: "./data/secure"}
		c.Transports = Transports{OpenWire: "ssl://0.0.0.0:61617", STOMP: "stomp+ssl://0.0.0.0:61612"}
		c.Console.Listen = "0.0.0.0:8162"
		c.TLS = TLS{CertFile: "./certs/broker.crt", KeyFile: "./certs/broker.key", ClientCAFile: "./certs/clients-ca.crt"}
		c.Security = Security{
			AllowAnonymous: &no,
			Users: []User{
				{Name: "app", PasswordHash: "$2a$10$bE8sossOa2GiwcJxKZZuVOXZMhUety/0s6gKlzhJ8ut7z3qLkYjqy", Groups: []string{"apps"}},
				{Name: "admin", PasswordHash: "$2a$10$XNTbYxGC9N1FfnOp1ppFAumVTAgCTEACKwiMPXkcwCJX/Sjamq6Cq", Groups: []string{"admins"}},
			},
			Authorization: []AuthzEntry{
				{Queue: ">", Grants: Grants{Read: all, Write: all, Admin: all}},
				{Topic: ">", Grants: Grants{Read: all, Write: all, Admin: all}},
				{Queue: "orders.>", Grants: Grants{Read: []string{"apps"}, Write: []string{"apps"}, Admin: []string{"apps"}}},
				{Topic: "ActiveMQ.Advisory.>", Grants: Grants{Read: []string{"*"}, Write: []string{"*"}, Admin: []string{"*"}}},
			},
			TempDestinations: &Grants{Read: []string{"apps", "admins"}, Write: []string{"apps", "admins"}, Admin: []string{"apps", "admins"}},
		}
	})
}

func replicatedTLSExample() *Config {
	return withDefaults(func(c *Config) {
		users := []string{"users"}
		c.Broker = Broker{Name: "group-secure", DataDir: "./data/group-secure-a", AdvertiseHost: "10.0.0.1"}
		c.Transports = Transports{OpenWire: "ssl://0.0.0.0:61617"}
		c.TLS = TLS{CertFile: "./certs/a.crt", KeyFile: "./certs/a.key"}
		c.Security = Security{
			UsersFile: "./conf/users.properties", GroupsFile: "./conf/groups.properties",
			Authorization: []AuthzEntry{
				{Queue: ">", Grants: Grants{Read: users, Write: users, Admin: users}},
				{Topic: ">", Grants: Grants{Read: users, Write: users, Admin: users}},
			},
		}
		c.Store.Kind = StoreReplicated
		c.Store.Replicated = Replicated{NodeID: "a", Bind: "tcp://0.0.0.0:62621",
			TLS:   ReplicationTLS{CertFile: "./certs/a-replication.crt", KeyFile: "./certs/a-replication.key", CAFile: "./certs/group-ca.crt"},
			Peers: map[string]string{"a": "tcp://10.0.0.1:62621", "b": "tcp://10.0.0.2:62621", "c": "tcp://10.0.0.3:62621"}}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func indexOf(member string) int { return int(member[0] - 'a') }

func TestDefault(t *testing.T) {
	c := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"broker name", c.Broker.Name, "localhost"},
		{"data dir", c.Broker.DataDir, "./data"},
		{"openwire", c.Transports.OpenWire, "tcp://127.0.0.1:61616"},
		{"stomp", c.Transports.STOMP, "stomp://127.0.0.1:61613"},
		{"mqtt", c.Transports.MQTT, "mqtt://127.0.0.1:1883"},
		{"ws", c.Transports.WS, "ws://127.0.0.1:61614"},
		{"amqp (not yet a protocol)", c.Transports.AMQP, ""},
		{"console", c.Console.Listen, "127.0.0.1:8161"},
		{"store kind", c.Store.Kind, StoreJournal},
		{"journal dir", c.Store.Journal.Dir, filepath.Join("data", "journal")},
		{"memory", c.Limits.Memory, 256 * MiB},
		{"max redeliveries", c.Policies.Redelivery.MaxRedeliveries, 6},
		{"dlq", c.Policies.Redelivery.DLQ, "ActiveMQ.DLQ"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default does not validate: %v", err)
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n", "store:\n"} {
		c, err := Parse("e.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("%q: got %+v, want Default()", src, c)
		}
	}
}

func TestAllKeys(t *testing.T) {
	src := `
broker: {name: b1, data_dir: /var/lib/pier}
security: {allow_anonymous: true}
transports:
  openwire: tcp://0.0.0.0:61616
console: {listen: ""}
store:
  kind: journal
  journal: {dir: j, segment_size: 64MiB, max_size: 10GiB}
network_connectors:
  - name: n1
    uri: static:(failover:(tcp://a:61616,tcp://b:61616)?randomize=false,tcp://c:61616)?x=1
    duplex: true
    network_ttl: 3
    conduit_subscriptions: false
    dynamic_only: true
    decrease_network_consumer_priority: true
    excluded_destinations: [queue://private.>]
    dynamically_included_destinations: ["topic://prices.*"]
    statically_included_destinations: [queue://orders]
    prefetch_size: 500
    username: u
    password: 12345
  - uri: tcp://d:61616
limits: {memory: 1GB, max_frame_size: 1048576, max_headers: 50, max_header_length: 1KiB, max_connections: 20}
policies:
  redelivery: {max_redeliveries: -1, dlq: DLQ.all}
`
	c, err := Parse("all.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	n := c.NetworkConnectors[0]
	want := NetworkConnector{
		Name: "n1", URI: "static:(failover:(tcp://a:61616,tcp://b:61616)?randomize=false,tcp://c:61616)?x=1",
		Duplex: true, NetworkTTL: 3, DynamicOnly: true, DecreaseNetworkConsumerPriority: true,
		ExcludedDestinations:            []string{"queue://private.>"},
		DynamicallyIncludedDestinations: []string{"topic://prices.*"},
		StaticallyIncludedDestinations:  []string{"queue://orders"},
		PrefetchSize:                    500, Username: "u", Password: "12345",
	}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("connector 0:\n got %+v\nwant %+v", n, want)
	}
	def := NewNetworkConnector()
	def.URI = "tcp://d:61616"
	if d := c.NetworkConnectors[1]; !reflect.DeepEqual(d, def) {
		t.Errorf("connector 1 = %+v, want defaults %+v", d, def)
	}
	wantLimits := Limits{Memory: GB, MaxFrameSize: MiB, MaxHeaders: 50, MaxHeaderLength: KiB, MaxConnections: 20}
	if c.Limits != wantLimits {
		t.Errorf("limits = %+v, want %+v", c.Limits, wantLimits)
	}
	if c.Transports != (Transports{OpenWire: "tcp://0.0.0.0:61616"}) {
		t.Errorf("transports not replaced: %+v", c.Transports)
	}
	if c.Console.Listen != "" || c.Store.Journal != (Journal{Dir: "j", SegmentSize: 64 * MiB, MaxSize: 10 * GiB}) {
		t.Errorf("console %q journal %+v", c.Console.Listen, c.Store.Journal)
	}
	if c.Policies.Redelivery != (Redelivery{MaxRedeliveries: -1, DLQ: "DLQ.all", BackOffMultiplier: 1}) {
		t.Errorf("redelivery %+v", c.Policies.Redelivery)
	}
}

func TestDestinationPolicies(t *testing.T) {
	src := `
policies:
  redelivery:
    max_redeliveries: 4
    initial_redelivery_delay: 1s
    back_off_multiplier: 2
    maximum_redelivery_delay: 30s
  dead_letter: {strategy: individual, drop_expired: true}
  destinations:
    - queue: "orders.>"
      redelivery: {max_redeliveries: 10, back_off_multiplier: 1.5}
      dead_letter: {strategy: shared}
    - topic: prices.*
      dead_letter: {topic_prefix: DLQ.Prices.}
      order: fifo
      topic_prefetch: 10
      memory_limit: 1MiB
      producer_flow_control: false
`
	c, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policies
	wantR := Redelivery{MaxRedeliveries: 4, DLQ: DefaultDLQ, InitialRedeliveryDelay: time.Second, BackOffMultiplier: 2,
		MaximumRedeliveryDelay: 30 * time.Second}
	if p.Redelivery != wantR {
		t.Errorf("defaults %+v", p.Redelivery)
	}
	r, d, _ := p.Destinations[0].Resolve(p)
	wantR.MaxRedeliveries, wantR.BackOffMultiplier = 10, 1.5
	if r != wantR || d.Strategy != DeadLetterShared || !d.DropExpired {
		t.Errorf("orders.>: %+v %+v", r, d)
	}
	r, d, x := p.Destinations[1].Resolve(p)
	if r != p.Redelivery || d.Strategy != DeadLetterIndividual || d.TopicPrefix != "DLQ.Prices." || d.QueuePrefix != "ActiveMQ.DLQ.Queue." {
		t.Errorf("prices.*: %+v %+v", r, d)
	}
	if x != (Dispatch{Order: OrderFIFO, TopicPrefetch: 10, MemoryLimit: MiB}) {
		t.Errorf("prices.* dispatch %+v", x)
	}
	for _, bad := range []struct{ src, want string }{
		{"policies:\n  redelivery: {back_off_multiplier: 0.5}\n", "policies.redelivery.back_off_multiplier: 0.5: want 1"},
		{"policies:\n  destinations:\n    - {queue: a, redelivery: {initial_redelivery_delay: -1s}}\n", "policies.destinations[0].redelivery.initial_redelivery_delay: must not be negative"},
		{"policies:\n  destinations:\n    - {redelivery: {max_redeliveries: 1}}\n", "policies.destinations[0]: needs a queue or a topic pattern"},
		{"policies:\n  dead_letter: {strategy: each}\n", `"each" is not one of shared, individual`},
		{"policies:\n  redelivery: {dlq: \"DLQ.>\"}\n", `"DLQ.>" is not a queue name`},
	} {
		_, err := Parse("p.yaml", []byte(bad.src))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want an error saying %q", bad.src, err, bad.want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want not-exist", err)
	}
}

func TestConsoleKeys(t *testing.T) {
	c, err := Parse("x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Console.AdminGroups, []string{"admins"}) || c.Console.MetricsDestinations != nil {
		t.Errorf("defaults: admin_groups %q, metrics_destinations %q", c.Console.AdminGroups, c.Console.MetricsDestinations)
	}
	c, err = Parse("x.yaml", []byte("console:\n  admin_groups: [ops, sre]\n  metrics_destinations: [\"queue://orders.>\", \"topic://>\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Console.AdminGroups, []string{"ops", "sre"}) ||
		!slices.Equal(c.Console.MetricsDestinations, []string{"queue://orders.>", "topic://>"}) {
		t.Errorf("admin_groups %q, metrics_destinations %q", c.Console.AdminGroups, c.Console.MetricsDestinations)
	}
}

// deploy/pier.yaml is what the container image and the systemd unit run.
func TestDeployConfig(t *testing.T) {
	c, err := Load("../../deploy/pier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Transports.OpenWire != "tcp://0.0.0.0:61616" || c.Console.Listen != "0.0.0.0:8161" ||
		c.Security.UsersFile == "" || c.Security.Anonymous() || c.Broker.DataDir != "/var/lib/pier" {
		t.Errorf("deploy/pier.yaml is not the networked broker the Dockerfile and pier.service expect: %+v", c)
	}
}
