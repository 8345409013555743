package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/admin"
	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/ha"
	"github.com/piermq/pier/internal/network"
	"github.com/piermq/pier/internal/protocol/mqtt"
	"github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/replication"
	"github.com/piermq/pier/internal/server"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/journal"
	"github.com/piermq/pier/internal/store/vfs"
)

const serveUsage = `Runs a broker. Without --config: one broker named localhost with the
embedded journal in ./data, OpenWire on 127.0.0.1:61616, STOMP on
127.0.0.1:61613 and the console on 127.0.0.1:8161. Stop it with SIGTERM or
Ctrl-C: it stops accepting, closes connections, flushes the store and
exits 0.

  pier serve
  pier serve --config examples/seed/group-one-a.yaml --log-format json`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pier serve [flags]\n\n%s\n\nFlags:\n", serveUsage)
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "", "configuration file: YAML, or an ActiveMQ activemq.xml")
	props := propertyFlag{}
	fs.Var(props, "property", "NAME=VALUE for ${NAME} in an activemq.xml (repeatable)")
	consoleAddr := fs.String("console", "", "host:port of the console, instead of console.listen (\"off\": none)")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	format := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pier serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		return err
	}
	// For performance work: a CPU profile and an execution trace of the
	// whole run (go tool pprof; go tool trace, whose -pprof=sched shows
	// where goroutines waited).
	stopProfile, err := profileTo("PIER_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	stopTrace, err := profileTo("PIER_TRACE", trace.Start, trace.Stop)
	if err != nil {
		return err
	}
	defer stopTrace()
	cfg := config.Default()
	switch {
	case *cfgPath != "":
		if cfg, err = loadConfig(*cfgPath, props, log); err != nil {
			return err
		}
	case len(props) > 0:
		return fmt.Errorf("--property applies to an activemq.xml given with --config")
	}
	if *consoleAddr != "" {
		cfg.Console.Listen = *consoleAddr
		if *consoleAddr == "off" {
			cfg.Console.Listen = ""
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("--console %s: %w", *consoleAddr, err)
		}
	}
	guard, err := newGuard(cfg, log)
	if err != nil {
		return err
	}
	tlsCfg, err := serverTLS(cfg.TLS)
	if err != nil {
		return err
	}
	var msrc admin.MetricsSources
	srv, nw, group, err := newServer(cfg, guard, tlsCfg, &msrc, log)
	if err != nil {
		return err
	}
	if cfg.Console.Listen == "" {
		return srv.Run(ctx)
	}
	// The console answers health checks from the start, ready or not.
	ln, err := net.Listen("tcp", cfg.Console.Listen)
	if err != nil {
		return fmt.Errorf("console listener: %w", err)
	}
	proto := "http"
	if tlsCfg != nil {
		ln, proto = tls.NewListener(ln, tlsCfg), "https"
	}
	opts := admin.Options{Ready: srv.Serving, Guard: guard,
		Name: cfg.Broker.Name, Version: version, AdminGroups: cfg.Console.AdminGroups,
		// The broker of the current span of service, asked per request;
		// nil (not a typed nil) while this broker is not master: the API
		// answers 503.
		Core: func() admin.Core {
			if b := srv.Broker(); b != nil {
				return b
			}
			return nil
		},
		Group:   group,
		Metrics: msrc,
	}
	if nw != nil {
		opts.Network = nw.Status
	}
	adm := admin.New(opts, log)
	served := make(chan error, 1)
	go func() { served <- adm.Serve(ln) }()
	log.Info("listening", "proto", proto, "addr", ln.Addr().String())
	runErr := srv.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	adm.Shutdown(sctx)
	if err := <-served; err != nil && runErr == nil {
		runErr = fmt.Errorf("console: %w", err)
	}
	return runErr
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// newServer wires the configuration's store and transports into a server;
// guard is the front door, tlsCfg the certificate of TLS listeners (nil
// without one).
// newServer also returns what the console says of the broker's group, and
// fills in msrc, what /metrics reads of the store.
func newServer(cfg *config.Config, guard *auth.Guard, tlsCfg *tls.Config, msrc *admin.MetricsSources, log *slog.Logger) (*server.Server, *network.Network, func(context.Context) admin.Group, error) {
	def, dests := brokerPolicies(cfg.Policies)
	bcfg := broker.Config{
		Guard:           guard,
		Default:         def,
		Destinations:    dests,
		Name:            cfg.Broker.Name,
		MemoryLimit:     int64(cfg.Limits.Memory),
		MaxRedeliveries: cfg.Policies.Redelivery.MaxRedeliveries,
		DLQ:             cfg.Policies.Redelivery.DLQ,
		NoScheduler:     cfg.Broker.NoScheduler,
		// A producer blocked by flow control gets a clear error rather
		// than waiting for ever (ActiveMQ's sendFailIfNoSpaceAfterTimeout).
		BlockTimeout: 30 * time.Second,
	}
	if n := cfg.MQTT.MaxQueued; n > 0 {
		bcfg.DurableLimit = mqtt.QueuedLimit(n)
	}
	deps := server.Deps{Log: log}
	jcfg := cfg.Store.Journal
	// /metrics: one meter counts the store's commits across every span
	// of service; the store and the replica as they open.
	meter := new(store.Meter)
	var opened atomic.Pointer[store.Store]
	var node atomic.Pointer[replication.Node]
	*msrc = admin.MetricsSources{
		Destinations: cfg.Console.MetricsDestinations,
		Meter:        meter,
		DataDirs:     []string{jcfg.Dir},
		Store: func() store.Usage {
			if st := opened.Load(); st != nil {
				return (*st).Usage()
			}
			return store.Usage{}
		},
	}
	switch cfg.Store.Kind {
	case config.StoreSQL:
		msrc.DataDirs = nil // the database's
	case config.StoreReplicated:
		msrc.DataDirs = append(msrc.DataDirs, filepath.Join(cfg.Broker.DataDir, "raft"))
		msrc.Replica = func() admin.MetricsReplica {
			if n := node.Load(); n != nil {
				return n
			}
			return nil
		}
	}
	// The OpenWire server of the current span of service, told when the
	// group's members change.
	var openwireSrv atomic.Pointer[openwire.Server]
	var clusterURLs func() []string
	// What a replicated member knows of its group, once its node is open.
	var replica atomic.Pointer[func(context.Context) admin.Group]
	deps.OpenStore = func(ctx context.Context) (store.Store, server.Gate, error) {
		if cfg.Store.Kind == config.StoreSQL {
			return openSQL(cfg, meter, log)
		}
		if cfg.Store.Kind == config.StoreReplicated {
			return openReplicated(ctx, cfg, log, func() {
				if s := openwireSrv.Load(); s != nil {
					s.UpdateCluster()
				}
			}, &clusterURLs, &replica, meter)
		}
		// The journal's directory decides who is master: the broker that
		// holds its lock. Alone, that is this one at once; members of a
		// shared-directory group name the same directory and wait their
		// turn (docs/shared-dir.md). The group is the store of the
		// current span of service and its gate.
		g := ha.NewSharedDir(jcfg.Dir, func(ctx context.Context, fence func() error) (store.Store, error) {
			return journal.Open(ctx, jcfg.Dir, vfs.OS{}, journal.Options{
				SegmentSize: int64(jcfg.SegmentSize),
				SizeLimit:   int64(jcfg.MaxSize),
				Preallocate: true,
				Fence:       fence,
				Meter:       meter,
			}, log)
		}, ha.GroupConfig{}, log)
		return g, g, nil
	}
	open := deps.OpenStore
	deps.OpenStore = func(ctx context.Context) (store.Store, server.Gate, error) {
		st, gate, err := open(ctx)
		if err == nil {
			opened.Store(&st)
			if n, ok := gate.(*replication.Node); ok {
				node.Store(n)
			}
		}
		return st, gate, err
	}
	scfg := stomp.Config{
		Limits: stomp.Limits{
			MaxFrameSize:    int(cfg.Limits.MaxFrameSize),
			MaxHeaders:      cfg.Limits.MaxHeaders,
			MaxHeaderLength: int(cfg.Limits.MaxHeaderLength),
		},
		MaxConnections: cfg.Limits.MaxConnections,
		OpenWireURL:    advertised(cfg, cfg.Transports.OpenWire), // told to OpenWire clients on the STOMP port
	}
	advertise := func() []string {
		if cfg.Store.Kind == config.StoreReplicated {
			return clusterURLs()
		}
		return []string{advertised(cfg, cfg.Transports.OpenWire)}
	}
	nw, err := newNetwork(cfg, advertise, log)
	if err != nil {
		return nil, nil, nil, err
	}
	deps.Services = append(deps.Services, server.Service{Name: "network", Run: nw.Run})
	for _, t := range []struct{ name, url string }{
		{"openwire", cfg.Transports.OpenWire}, {"stomp", cfg.Transports.STOMP}, {"mqtt", cfg.Transports.MQTT},
		{"ws", cfg.Transports.WS}, {"amqp", cfg.Transports.AMQP},
	} {
		if t.url == "" {
			continue
		}
		scheme, addr, err := config.ListenAddr(t.url)
		if err != nil {
			return nil, nil, nil, err
		}
		var ltls *tls.Config
		if config.IsTLSScheme(scheme) {
			if tlsCfg == nil {
				return nil, nil, nil, fmt.Errorf("transports.%s: %s needs tls.cert_file and tls.key_file", t.name, t.url)
			}
			ltls = tlsCfg
			if t.name == "stomp" {
				ltls = stompTLS(tlsCfg)
			}
		}
		var newProto func(b *broker.Broker) server.Protocol
		switch t.name {
		case "stomp":
			newProto = func(b *broker.Broker) server.Protocol { return stomp.NewServer(scfg, b, log) }
		case "openwire":
			ocfg := openwire.Config{MaxFrameSize: int64(cfg.Limits.MaxFrameSize), MaxConnections: cfg.Limits.MaxConnections,
				BrokerName: cfg.Broker.Name, BrokerURL: advertised(cfg, t.url), STOMPURL: advertised(cfg, cfg.Transports.STOMP)}
			if cfg.Store.Kind == config.StoreReplicated {
				ocfg.ClusterURLs = func() []string { return clusterURLs() }
			}
			ocfg.Duplex = func(ctx context.Context, req openwire.DuplexRequest) error {
				return nw.Duplex(ctx, network.DuplexRequest{RemoteID: req.BrokerID, RemoteName: req.BrokerName, URL: req.URL, Properties: req.Properties, Username: req.Username, Password: req.Password})
			}
			newProto = func(b *broker.Broker) server.Protocol {
				s := openwire.NewServer(ocfg, b, log)
				openwireSrv.Store(s)
				return s
			}
		case "ws":
			newProto = wsProtocol(scfg, newMQTTServer(cfg, log), log) // ws.go
		case "mqtt":
			newProto = mqttProtocol(cfg, log) // mqtt.go
		}
		if newProto == nil {
			log.Warn("transport not available yet; not listening", "proto", t.name, "url", t.url)
			continue
		}
		deps.Listeners = append(deps.Listeners, server.Listener{Name: t.name, Addr: addr, New: newProto, TLS: ltls})
	}
	srv, err := server.New(bcfg, deps)
	if err != nil {
		return nil, nil, nil, err
	}
	group := func(ctx context.Context) admin.Group {
		switch cfg.Store.Kind {
		case config.StoreReplicated:
			if f := replica.Load(); f != nil {
				return (*f)(ctx)
			}
			return admin.Group{Kind: "replicated", Role: "replica"}
		case config.StoreSQL:
			return claimGroup("sql", srv.Serving)(ctx)
		}
		return claimGroup("shared-directory", srv.Serving)(ctx)
	}
	return srv, nw, group, nil
}

// openReplicated starts this broker's replica of a replicated group: the
// store the master writes through, and the replica as the server's gate
// (it serves while it leads). The journal directory is locked, so that two
// processes cannot share it.
func openReplicated(ctx context.Context, cfg *config.Config, log *slog.Logger, onChange func(), urls *func() []string,
	group *atomic.Pointer[func(context.Context) admin.Group], meter *store.Meter) (store.Store, server.Gate, error) {
	r := cfg.Store.Replicated
	_, bind, err := config.ListenAddr(r.Bind)
	if err != nil {
		return nil, nil, fmt.Errorf("store.replicated.bind: %w", err)
	}
	groupTLS, err := replicationTLS(r.TLS)
	if err != nil {
		return nil, nil, err
	}
	lock, err := ha.LockDir(cfg.Store.Journal.Dir)
	if err != nil {
		return nil, nil, err
	}
	// The peers map, or the group found through ZooKeeper (zkgroup.go).
	members, err := replicatedMembers(ctx, cfg, log)
	if err != nil {
		lock.Unlock()
		return nil, nil, err
	}
	peers := members.peers
	node, err := replication.Open(ctx, replication.Config{
		NodeID:     members.nodeID,
		Bind:       bind,
		Peers:      peers,
		Dir:        cfg.Broker.DataDir,
		JournalDir: cfg.Store.Journal.Dir,
		ClientURL:  advertised(cfg, cfg.Transports.OpenWire),
		ConsoleURL: consoleURL(cfg),
		SizeLimit:  int64(cfg.Store.Journal.MaxSize),
		Journal:    journal.Options{SegmentSize: int64(cfg.Store.Journal.SegmentSize), Preallocate: true},
		TLS:        groupTLS,
		Log:        log,
		// One election timeout covers the heartbeat timeout too (raft
		// needs election >= heartbeat >= lease).
		HeartbeatTimeout:  r.ElectionTimeout,
		ElectionTimeout:   r.ElectionTimeout,
		SnapshotThreshold: uint64(r.SnapshotThreshold),
		Meter:             meter,
	})
	if err != nil {
		members.Close()
		lock.Unlock()
		return nil, nil, err
	}
	node.OnClusterChange(onChange)
	*urls = node.ClusterURLs
	g := replicatedGroup(node.Status, peers, groupTLS)
	group.Store(&g)
	return members.store(lockedStore{node.Store(), lock}), node, nil
}

// lockedStore releases the directory lock once the store is closed.
type lockedStore struct {
	store.Store
	lock *ha.DirLock
}

func (l lockedStore) Close() error {
	err := l.Store.Close()
	if uerr := l.lock.Unlock(); err == nil {
		err = uerr
	}
	return err
}

// consoleURL is where this broker's console answers, as other members link
// to it: https when the broker has a certificate (the console serves TLS
// with it), the advertised host for a wildcard bind; empty without a
// console.
func consoleURL(cfg *config.Config) string {
	if cfg.Console.Listen == "" {
		return ""
	}
	scheme := "http://"
	if cfg.TLS.Enabled() {
		scheme = "https://"
	}
	return advertised(cfg, scheme+cfg.Console.Listen)
}

// profileTo starts a profile (start, stop) into the file the environment
// variable env names, if it names one; the function returned stops it and
// closes the file.
func profileTo(env string, start func(io.Writer) error, stop func()) (func(), error) {
	path := os.Getenv(env)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	return func() {
		stop()
		f.Close()
	}, nil
}
