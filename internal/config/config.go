package config

import (
	"net"
	"path/filepath"
	"strings"
	"time"
)

// Config is the whole configuration of one broker process.
type Config struct {
	Broker            Broker
	Transports        Transports
	Console           Console
	Store             Store
	NetworkConnectors []NetworkConnector
	Limits            Limits
	// MQTT tunes the MQTT transport (mqtt://, and MQTT over ws://).
	// YAML: mqtt.
	MQTT     MQTT
	Policies Policies
	// TLS is the broker's certificate for ssl:// and stomp+ssl:// listeners
	// and the console. YAML: tls.
	TLS TLS
	// Security is users, groups and permissions. YAML: security.
	Security Security
}

// Broker identifies the broker and where it keeps its local files.
type Broker struct {
	// Name is the brokerName; every member of a master/slave group uses the
	// same one. YAML: broker.name.
	Name string
	// DataDir holds the broker's local files. Relative paths are resolved
	// against the process working directory. YAML: broker.data_dir.
	DataDir string
	// AdvertiseHost is the host clients and peers are told to reach this
	// broker at when a listener binds every interface (0.0.0.0): failover
	// clients' member lists, duplex bridges. Empty: the machine's host
	// name. YAML: broker.advertise_host.
	AdvertiseHost string
	// NoScheduler ignores AMQ_SCHEDULED_DELAY, _PERIOD, _REPEAT and _CRON
	// (ActiveMQ's schedulerSupport="false"); the zero value schedules.
	// YAML: broker.scheduler (true by default).
	NoScheduler bool
}

// Transports are the client listeners, as URLs (tcp://127.0.0.1:61616,
// stomp://host:port, mqtt://, ws://, amqp://). An empty URL disables that
// transport. They are open only while this broker is master. Use ListenAddr
// to turn one into a listen address.
type Transports struct {
	OpenWire string
	STOMP    string
	MQTT     string
	WS       string
	AMQP     string
}

// Console is the HTTP web console, REST API and metrics endpoint.
type Console struct {
	// Listen is host:port; empty disables the console. YAML: console.listen.
	Listen string
	// AdminGroups may change things through the console and the REST API
	// (purge, move, retry, delete, close connections); every other
	// authenticated user may look. YAML: console.admin_groups, default
	// [admins].
	AdminGroups []string
	// MetricsDestinations limits the per-destination series of /metrics
	// to the destinations matching one of these (queue://X, topic://X,
	// wildcards allowed); empty: every destination. YAML:
	// console.metrics_destinations.
	MetricsDestinations []string
}

// StoreKind selects the store implementation.
type StoreKind string

// Store kinds.
const (
	StoreJournal    StoreKind = "journal"
	StoreSQL        StoreKind = "sql"
	StoreReplicated StoreKind = "replicated"
)

// SQL drivers.
const (
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql"
)

// Store configures durable storage. Only the section matching Kind is used;
// the journal section also tunes the local journal under a replicated store.
type Store struct {
	Kind       StoreKind
	Journal    Journal
	SQL        SQL
	Replicated Replicated
}

// Journal configures the embedded append-only journal.
type Journal struct {
	// Dir is the journal directory; empty means <data_dir>/journal. Members
	// of a shared-directory group name the same directory. YAML:
	// store.journal.dir.
	Dir string
	// SegmentSize is the size at which a segment file is rolled over.
	// YAML: store.journal.segment_size.
	SegmentSize Size
	// MaxSize is the store limit: a send that would take the journal past it
	// fails with store.ErrFull. YAML: store.journal.max_size.
	MaxSize Size
}

// SQL configures the shared-database store.
type SQL struct {
	// Driver is "postgres" or "mysql". YAML: store.sql.driver.
	Driver string
	// DSN is the driver's data source name. YAML: store.sql.dsn.
	DSN string
	// LeaseDuration is how long the master's lease row is valid; a master
	// that cannot renew within it stops serving first.
	// YAML: store.sql.lease_duration.
	LeaseDuration time.Duration
}

// Replicated configures the Raft-replicated store.
type Replicated struct {
	// NodeID names this replica; it must be a key of Peers. With
	// ZooKeeper it may be empty: host:port of the advertised replication
	// address.
	NodeID string
	// Bind is the replication listener, tcp://host:port; empty means the
	// address of this node in Peers. Required with ZooKeeper.
	Bind string
	// Peers maps every replica of the group (this one included) to its
	// replication URL, tcp://host:port. Empty with ZooKeeper.
	Peers map[string]string
	// ZooKeeper, when its address is set, is where the members find each
	// other instead of Peers (ActiveMQ's replicatedLevelDB zkAddress,
	// zkPath). YAML: zookeeper.
	ZooKeeper ZooKeeper
	// Replicas is the size of the group that members found through
	// ZooKeeper form (ActiveMQ's replicas); default 3. YAML: replicas.
	Replicas int
	// Hostname is the host the other members reach Bind at when it binds
	// every interface (ActiveMQ's hostname); empty: broker.advertise_host,
	// else the machine's host name. YAML: hostname.
	Hostname string
	// ElectionTimeout is how long a follower waits without hearing from
	// the master before it stands for election (randomised up to twice
	// that); a master that hears from no quorum for most of it steps down.
	// 0: the default, 500ms. YAML: election_timeout.
	ElectionTimeout time.Duration
	// SnapshotThreshold is how many log entries trigger a snapshot of the
	// store (after which the log is compacted); 0: the default, 65536.
	// YAML: snapshot_threshold.
	SnapshotThreshold int
	// TLS makes the replication port mutually authenticated: only a peer
	// holding a certificate of the group's CA can connect. Required when
	// the port binds beyond loopback, unless Insecure. YAML: tls.
	TLS ReplicationTLS
	// Insecure allows a replication port beyond loopback without TLS:
	// anyone who can reach it can join the group. YAML: insecure.
	Insecure bool
}

// ZooKeeper is the ensemble through which the members of a replicated
// group find each other. It takes no part in elections: once the group has
// formed, Raft alone decides the master.
type ZooKeeper struct {
	// Address is the ensemble, host:port,host:port (ActiveMQ's zkAddress);
	// empty: no ZooKeeper. YAML: address.
	Address string
	// Path is the znode under which members register; default /default
	// (ActiveMQ's zkPath). YAML: path.
	Path string
	// SessionTimeout is the ZooKeeper session's timeout; default 2s
	// (ActiveMQ's zkSessionTimeout). YAML: session_timeout.
	SessionTimeout time.Duration
	// Password, when set, authenticates to ZooKeeper with digest
	// "fabric:<password>" as ActiveMQ's zkPassword does, and the znodes
	// Pier creates are readable and writable only with it. YAML: password.
	Password string
}

// Enabled reports whether the members find each other through ZooKeeper.
func (z ZooKeeper) Enabled() bool { return z.Address != "" }

// Servers returns the ensemble's host:port addresses (a host without a
// port gets ZooKeeper's 2181).
func (z ZooKeeper) Servers() []string {
	var out []string
	for s := range strings.SplitSeq(z.Address, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(s); err != nil && !strings.Contains(s, ":") {
			s = net.JoinHostPort(s, DefaultZooKeeperPort)
		}
		out = append(out, s)
	}
	return out
}

// ReplicationTLS is the mutual TLS of the replication port.
type ReplicationTLS struct {
	// CertFile and KeyFile are this member's certificate and key (PEM),
	// signed by the group's CA. YAML: cert_file, key_file.
	CertFile, KeyFile string
	// CAFile is the group's CA (PEM): peers must present a certificate it
	// signed. YAML: ca_file.
	CAFile string
}

// Enabled reports whether the section is set.
func (t ReplicationTLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" }

// NetworkConnector is a bridge from this broker to other brokers (a network
// of brokers), with ActiveMQ's options and defaults.
type NetworkConnector struct {
	// Name identifies the bridge; default "bridge". Names are unique.
	Name string
	// URI is static:(tcp://a:61616,tcp://b:61616) or a single tcp:// URL;
	// each member may itself be a failover:(...) group.
	URI string
	// Duplex makes each remote broker bridge back to this one: it dials
	// this broker's OpenWire URL (every member's, for a group), which
	// must be reachable from it (ActiveMQ reuses the one connection).
	Duplex bool
	// NetworkTTL is how many brokers a message may cross; default 1.
	NetworkTTL int
	// ConduitSubscriptions merges remote topic subscriptions so a message
	// crosses once. Default true (when decoded from YAML or built with
	// NewNetworkConnector).
	ConduitSubscriptions bool
	// DynamicOnly forwards only on demand (remote consumers).
	DynamicOnly bool
	// DecreaseNetworkConsumerPriority lowers the priority of consumers
	// reached through more hops.
	DecreaseNetworkConsumerPriority bool
	// ExcludedDestinations are never forwarded (queue://X, topic://X,
	// wildcards allowed).
	ExcludedDestinations []string
	// DynamicallyIncludedDestinations are forwarded on demand; empty means
	// all destinations not excluded.
	DynamicallyIncludedDestinations []string
	// StaticallyIncludedDestinations are forwarded whether or not there is
	// demand.
	StaticallyIncludedDestinations []string
	// PrefetchSize is the bridge consumer's prefetch; default 1000.
	PrefetchSize int
	// Username and Password authenticate to the remote brokers.
	Username string
	Password string
}

// Limits bound what clients may make the broker hold.
type Limits struct {
	// Memory is the memory limit for messages held in memory, beyond which
	// producer flow control applies. Default 256MiB. YAML: limits.memory.
	Memory Size
	// MaxFrameSize is the largest frame accepted from a client, in any
	// protocol. Default 100MiB. YAML: limits.max_frame_size.
	MaxFrameSize Size
	// MaxHeaders is the most headers (properties) a frame may carry.
	// Default 1000. YAML: limits.max_headers.
	MaxHeaders int
	// MaxHeaderLength is the longest header (name plus value) accepted.
	// Default 10KiB. YAML: limits.max_header_length.
	MaxHeaderLength Size
	// MaxConnections is the most client connections, over all transports.
	// Default 1000. YAML: limits.max_connections.
	MaxConnections int
}

// MQTT tunes MQTT sessions. The largest packet a client may send is
// limits.max_frame_size.
type MQTT struct {
	// MaxInflight bounds the QoS 1 and 2 messages sent to one client and
	// not yet acknowledged (a client's Receive Maximum may lower it); the
	// broker holds at most this many more per subscription for a client
	// that is slow, the rest wait in the store. Default 1000. YAML:
	// mqtt.max_inflight.
	MaxInflight int
	// MaxQueued bounds the messages one subscription of a persistent
	// session keeps for its client (waiting and in flight); beyond it new
	// messages are not kept for it. 0: no limit (they wait in the store).
	// YAML: mqtt.max_queued.
	MaxQueued int
	// ReceiveMaximum bounds the QoS 2 messages one client may have sent
	// and not yet released (PUBREL); MQTT 5 clients are told it. Default
	// 1000. YAML: mqtt.receive_maximum.
	ReceiveMaximum int
	// MaxKeepAlive caps the keep-alive a client asks for; a client asking
	// for none gets it. 0: no cap. YAML: mqtt.max_keep_alive.
	MaxKeepAlive time.Duration
	// MaxSessionExpiry caps how long a persistent session outlives its
	// connection. 0: no cap (an MQTT 3.1.1 persistent session, or an MQTT
	// 5 one asking for 0xFFFFFFFF, never expires). YAML:
	// mqtt.max_session_expiry.
	MaxSessionExpiry time.Duration
	// TopicAliasMaximum is how many topic aliases an MQTT 5 client may
	// set. Default 100. YAML: mqtt.topic_alias_maximum.
	TopicAliasMaximum int
}

// Policies are destination policies: broker-wide defaults, and overrides
// per destination pattern (policies.go).
type Policies struct {
	Redelivery Redelivery
	DeadLetter DeadLetter
	Dispatch   Dispatch
	// Destinations override the defaults for the queues or topics a
	// pattern matches; the first matching entry applies. YAML:
	// policies.destinations.
	Destinations []DestinationPolicy
}

// Redelivery is ActiveMQ's redelivery policy, with the back-off of its
// redelivery plugin: a message a consumer rejected (a JMS poison
// acknowledgement, a STOMP NACK) waits before it is delivered again.
type Redelivery struct {
	// MaxRedeliveries is how many times a message is redelivered after the
	// first delivery before it goes to the dead letter queue: 6 by default,
	// 0 sends it there at the first rollback, -1 redelivers for ever.
	// YAML: policies.redelivery.max_redeliveries.
	MaxRedeliveries int
	// DLQ is the shared dead letter queue. Default "ActiveMQ.DLQ".
	// YAML: policies.redelivery.dlq.
	DLQ string
	// InitialRedeliveryDelay is how long a rejected message waits before
	// its first redelivery; 0 (the default) sends it to the dead letter
	// queue at once, as ActiveMQ does without its redelivery plugin. YAML:
	// policies.redelivery.initial_redelivery_delay.
	InitialRedeliveryDelay time.Duration
	// BackOffMultiplier multiplies the delay for each further redelivery;
	// 1 (the default) keeps it constant. YAML: back_off_multiplier.
	BackOffMultiplier float64
	// MaximumRedeliveryDelay caps the delay; 0: no cap. YAML:
	// maximum_redelivery_delay.
	MaximumRedeliveryDelay time.Duration
}

// Default values.
const (
	DefaultBrokerName      = "localhost"
	DefaultDataDir         = "./data"
	DefaultSegmentSize     = 32 * MiB
	DefaultJournalMaxSize  = 100 * GiB
	DefaultLeaseDuration   = 10 * time.Second
	DefaultNetworkTTL      = 1
	DefaultPrefetchSize    = 1000
	DefaultBridgeName      = "bridge"
	DefaultMemory          = 256 * MiB
	DefaultMaxFrameSize    = 100 * MiB
	DefaultMaxHeaders      = 1000
	DefaultMaxHeaderLength = 10 * KiB
	DefaultMaxConnections  = 1000
	DefaultMaxRedeliveries = 6
	DefaultDLQ             = "ActiveMQ.DLQ"
	// ActiveMQ's replicatedLevelDB defaults.
	DefaultReplicas         = 3
	DefaultZooKeeperPath    = "/default"
	DefaultZooKeeperSession = 2 * time.Second
	DefaultZooKeeperPort    = "2181"
)

// Default returns the configuration `pier serve` runs without a file: the
// values of the example single.yaml, with every default filled in.
func Default() *Config {
	c := base()
	c.derive()
	return c
}

// base is Default before derived values (the journal directory) are filled
// in; decoding starts from it.
func base() *Config {
	return &Config{
		Broker:     Broker{Name: DefaultBrokerName, DataDir: DefaultDataDir},
		Transports: defaultTransports(),
		Console:    Console{Listen: "127.0.0.1:8161", AdminGroups: []string{"admins"}},
		Store: Store{
			Kind:    StoreJournal,
			Journal: Journal{SegmentSize: DefaultSegmentSize, MaxSize: DefaultJournalMaxSize},
			SQL:     SQL{LeaseDuration: DefaultLeaseDuration},
			Replicated: Replicated{Replicas: DefaultReplicas,
				ZooKeeper: ZooKeeper{Path: DefaultZooKeeperPath, SessionTimeout: DefaultZooKeeperSession}},
		},
		Limits: Limits{
			Memory:          DefaultMemory,
			MaxFrameSize:    DefaultMaxFrameSize,
			MaxHeaders:      DefaultMaxHeaders,
			MaxHeaderLength: DefaultMaxHeaderLength,
			MaxConnections:  DefaultMaxConnections,
		},
		MQTT: MQTT{MaxInflight: 1000, ReceiveMaximum: 1000, TopicAliasMaximum: 100},
		Policies: Policies{
			Redelivery: Redelivery{MaxRedeliveries: DefaultMaxRedeliveries, DLQ: DefaultDLQ, BackOffMultiplier: 1},
			DeadLetter: DefaultDeadLetter(),
			Dispatch:   Dispatch{Order: OrderPriority, ProducerFlowControl: true},
		},
	}
}

// derive fills the values computed from others: the journal directory
// (<data_dir>/journal) and the replication bind address (this node's peer
// address).
func (c *Config) derive() {
	setDefault(&c.Store.Journal.Dir, filepath.Join(c.Broker.DataDir, "journal"))
	if r := &c.Store.Replicated; r.Bind == "" && r.NodeID != "" {
		r.Bind = r.Peers[r.NodeID]
	}
}

func defaultTransports() Transports {
	return Transports{
		OpenWire: "tcp://127.0.0.1:61616",
		STOMP:    "stomp://127.0.0.1:61613",
		MQTT:     "mqtt://127.0.0.1:1883",
		WS:       "ws://127.0.0.1:61614",
		// AMQP (amqp://127.0.0.1:5672) joins the default set once it
		// exists.
	}
}

// NewNetworkConnector returns a connector with ActiveMQ's defaults.
func NewNetworkConnector() NetworkConnector {
	return NetworkConnector{
		Name:                 DefaultBridgeName,
		NetworkTTL:           DefaultNetworkTTL,
		ConduitSubscriptions: true,
		PrefetchSize:         DefaultPrefetchSize,
	}
}

// EnsureDefaults fills every zero value that has a default, for a Config
// built in Go. Booleans and MaxRedeliveries (where zero is meaningful) are
// left alone; build network connectors with NewNetworkConnector to get
// ConduitSubscriptions' default of true. It returns c. (Parse does not call
// it: a zero written in the file is kept, and rejected by validation where
// it is not allowed.)
func (c *Config) EnsureDefaults() *Config {
	setDefault(&c.Broker.Name, DefaultBrokerName)
	setDefault(&c.Broker.DataDir, DefaultDataDir)
	setDefault(&c.Store.Kind, StoreJournal)
	setDefault(&c.Store.Journal.SegmentSize, DefaultSegmentSize)
	setDefault(&c.Store.Journal.MaxSize, DefaultJournalMaxSize)
	setDefault(&c.Store.SQL.LeaseDuration, DefaultLeaseDuration)
	r := &c.Store.Replicated
	setDefault(&r.Replicas, DefaultReplicas)
	setDefault(&r.ZooKeeper.Path, DefaultZooKeeperPath)
	setDefault(&r.ZooKeeper.SessionTimeout, DefaultZooKeeperSession)
	c.derive()
	for i := range c.NetworkConnectors {
		n := &c.NetworkConnectors[i]
		setDefault(&n.Name, DefaultBridgeName)
		setDefault(&n.NetworkTTL, DefaultNetworkTTL)
		setDefault(&n.PrefetchSize, DefaultPrefetchSize)
	}
	l := &c.Limits
	setDefault(&l.Memory, DefaultMemory)
	setDefault(&l.MaxFrameSize, DefaultMaxFrameSize)
	setDefault(&l.MaxHeaders, DefaultMaxHeaders)
	setDefault(&l.MaxHeaderLength, DefaultMaxHeaderLength)
	setDefault(&l.MaxConnections, DefaultMaxConnections)
	setDefault(&c.Policies.Redelivery.DLQ, DefaultDLQ)
	setDefault(&c.Policies.Redelivery.BackOffMultiplier, 1)
	d := DefaultDeadLetter()
	setDefault(&c.Policies.DeadLetter.Strategy, d.Strategy)
	setDefault(&c.Policies.DeadLetter.QueuePrefix, d.QueuePrefix)
	setDefault(&c.Policies.DeadLetter.TopicPrefix, d.TopicPrefix)
	setDefault(&c.Policies.Dispatch.Order, OrderPriority)
	return c
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
