package network

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// Connector is one network connector: the bridges from this broker to the
// members of its URI (docs/network.md), with ActiveMQ's options.
type Connector struct {
	// Name names the connector (and its outboxes).
	Name string
	// Members are the remote brokers, one bridge each: the addresses to
	// try in turn (several for a failover:(...) member), each host:port or
	// tcp://host:port (OpenWire over TCP) or ssl://host:port (over TLS,
	// with TLS).
	Members [][]string
	// TTL is how many brokers a message or a consumer's demand may cross
	// (network_ttl).
	TTL int
	// Conduit merges the remote consumers of a queue into one local
	// subscription; without it each remote consumer gets its own, so the
	// remote broker gets a share of the queue in proportion to its
	// consumers. Topic subscriptions are always merged: a topic message
	// crosses once per remote broker.
	Conduit bool
	// DynamicOnly forwards a topic only while the remote broker has
	// subscribers for it. Without it (the default) the bridge's
	// subscription to a topic is durable here: what is published while
	// the bridge is down waits for it, and it stays while the remote
	// broker has a durable subscriber for the topic, online or not, so
	// that subscriber gets everything.
	DynamicOnly bool
	// DecreasePriority lowers a bridge subscription's priority by one per
	// broker the demand came through, so nearer consumers are preferred.
	DecreasePriority bool
	// Excluded destinations are never forwarded; if DynamicallyIncluded is
	// not empty, only what it matches is forwarded on demand;
	// StaticallyIncluded destinations are forwarded with or without demand.
	Excluded, DynamicallyIncluded, StaticallyIncluded []message.Destination
	// Prefetch is the window of each bridge subscription.
	Prefetch int
	// Username and Password authenticate to the remote brokers (sent in
	// the bridge's ConnectionInfo).
	Username, Password string
	// TLS configures the connections to ssl:// members: the CAs trusted
	// (RootCAs; nil: the system's) and this broker's client certificate,
	// for remote brokers that authenticate bridges by certificate. Each
	// member's certificate must name its host. Nil: the system's roots,
	// no certificate.
	TLS *tls.Config
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts (doubling from the first). Defaults 100ms and 1s: a member
	// that is a slave refuses connections until it becomes master, and the
	// bridge should follow a failover at once.
	MinBackoff, MaxBackoff time.Duration
	// Sender tunes how outboxes are sent.
	Sender SenderConfig
	// Duplex asks each remote broker to bridge back to this one (it dials
	// Advertise's URLs, see Network.Duplex); Advertise returns this
	// broker's client URLs (every member's, for a group).
	Duplex    bool
	Advertise func() []string
}

// NetworkConsumerPriority is the priority of a bridge subscription (minus
// one per hop with DecreasePriority), below every local consumer's
// default 0: ActiveMQ 5.18's ConsumerInfo.NETWORK_CONSUMER_PRIORITY.
const NetworkConsumerPriority = -5

func (c *Connector) ensureDefaults() {
	if c.TTL == 0 {
		c.TTL = 1
	}
	if c.Prefetch == 0 {
		c.Prefetch = broker.DefaultQueuePrefetch
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = time.Second
	}
	c.Sender.EnsureDefaults()
}

func (c *Connector) validate() error {
	switch {
	case c.Name == "" || strings.ContainsAny(c.Name, "/\x00\n"):
		return fmt.Errorf("network: connector name %q: want a name without '/'", c.Name)
	case len(c.Members) == 0:
		return fmt.Errorf("network: connector %s: no remote broker", c.Name)
	case c.TTL < 1 || c.Prefetch < 1 || c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("network: connector %s: invalid settings", c.Name)
	case c.Duplex && c.Advertise == nil:
		return fmt.Errorf("network: connector %s: duplex without this broker's URLs", c.Name)
	}
	for _, m := range c.Members {
		if len(m) == 0 {
			return fmt.Errorf("network: connector %s: a member without an address", c.Name)
		}
		for _, a := range m {
			if _, err := normalizeAddr(a); err != nil {
				return fmt.Errorf("network: connector %s: %w", c.Name, err)
			}
		}
	}
	return c.Sender.Validate()
}

// Bridge states, as Status reports them.
const (
	StateConnecting = "connecting"
	StateConnected  = "connected"
	StateBackoff    = "backing off"
	// StateStandby: connected to a broker another bridge of the
	// connector already serves, or unable to connect to a member of a
	// group whose master another bridge of the connector is connected to
	// (a static: list of a group's members: the others stand by).
	StateStandby = "standby"
	StateStopped = "stopped"
)

// Status is what one bridge shows (pier network status, metrics).
type Status struct {
	Connector    string    `json:"connector"`
	Remote       string    `json:"remote"`                  // the member's addresses, comma-separated
	RemoteBroker string    `json:"remote_broker,omitempty"` // the id of the broker it is connected to
	Address      string    `json:"address,omitempty"`       // the address it is connected to
	State        string    `json:"state"`
	Since        time.Time `json:"since"`
	LastError    string    `json:"last_error,omitempty"` // why it last failed, until it connects again
	Demand       int       `json:"demand"`               // remote consumers it forwards for
	Subs         int       `json:"subscriptions"`        // its subscriptions on this broker
	Forwarded    int64     `json:"forwarded"`            // messages moved into its outbox
	Sent         int64     `json:"sent"`                 // outbox entries the remote broker acknowledged (resends included)
	DeadLettered int64     `json:"dead_lettered"`        // outbox entries moved to the dead letter queue here (no form on the remote, or refused)
	Connects     int64     `json:"connects"`
	Outbox       string    `json:"outbox,omitempty"`
}

// Config is what a Network runs.
type Config struct {
	// Connectors are this broker's network connectors.
	Connectors []Connector
	// DuplexTLS configures the bridges back to other brokers' duplex
	// connectors (see Duplex) for their ssl:// addresses, as Connector.TLS.
	DuplexTLS *tls.Config
}

// Network runs the bridges of every connector over one broker: Run starts
// them, and they stop when its context ends. Only a master runs it.
type Network struct {
	conns     []Connector
	duplexTLS *tls.Config
	log       *slog.Logger

	mu struct {
		sync.Mutex
		bridges []*bridge
		claims  map[string]*bridge // outbox name → the bridge sending it
		// While Run runs: its broker and context, and its bridges'
		// goroutines (duplex bridges join them).
		b   *broker.Broker
		ctx context.Context
		wg  *sync.WaitGroup
		// running is closed when Run starts; a new one replaces it when
		// Run ends (a duplex request arriving first waits for it).
		running chan struct{}
	}
}

// New checks the connectors and returns a Network.
func New(cfg Config, log *slog.Logger) (*Network, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Network{log: log.With("component", "network"), duplexTLS: cfg.DuplexTLS}
	n.mu.running = make(chan struct{})
	for _, c := range cfg.Connectors {
		c.ensureDefaults()
		if err := c.validate(); err != nil {
			return nil, err
		}
		c.Members = normalizeMembers(c.Members)
		n.conns = append(n.conns, c)
	}
	n.mu.claims = map[string]*bridge{}
	return n, nil
}

// Run runs every bridge over b until ctx ends; it returns when all of them
// stopped.
func (n *Network) Run(ctx context.Context, b *broker.Broker) error {
	var wg sync.WaitGroup
	var bs []*bridge
	for i := range n.conns {
		for _, m := range n.conns[i].Members {
			bs = append(bs, n.newBridge(&n.conns[i], m, b))
		}
	}
	n.mu.Lock()
	n.mu.bridges = bs
	n.mu.b, n.mu.ctx, n.mu.wg = b, ctx, &wg
	for _, br := range bs {
		n.start(ctx, br)
	}
	close(n.mu.running)
	n.mu.Unlock()
	<-ctx.Done()
	n.mu.Lock()
	n.mu.b, n.mu.ctx, n.mu.wg = nil, nil, nil
	n.mu.running = make(chan struct{})
	n.mu.Unlock()
	wg.Wait()
	return ctx.Err()
}

func (n *Network) newBridge(c *Connector, addrs []string, b *broker.Broker) *bridge {
	br := &bridge{net: n, cfg: c, addrs: addrs, b: b,
		log: n.log.With("connector", c.Name, "remote", strings.Join(addrs, ","))}
	br.setState(StateConnecting, nil)
	return br
}

// start runs br until ctx ends. Called with n.mu held, while Run runs.
// The goroutine holds on to Run's WaitGroup: Run clears n.mu.wg when it
// stops, maybe before the goroutine ends.
func (n *Network) start(ctx context.Context, br *bridge) {
	wg := n.mu.wg
	wg.Add(1)
	go func() {
		defer wg.Done()
		br.run(ctx)
	}()
}

// Status returns every bridge's status, in configuration order. A bridge
// that cannot connect to a member of a group whose master another bridge
// of its connector is connected to stands by: a group's slaves do not
// accept connections, and the bridge connects when its member becomes
// master.
func (n *Network) Status() []Status {
	n.mu.Lock()
	bs := slices.Clone(n.mu.bridges)
	n.mu.Unlock()
	groups := map[*Connector]map[string]bool{} // the members the connected bridges' brokers announce
	for _, br := range bs {
		for _, a := range br.groupMembers() {
			if groups[br.cfg] == nil {
				groups[br.cfg] = map[string]bool{}
			}
			groups[br.cfg][a] = true
		}
	}
	out := make([]Status, 0, len(bs))
	for _, br := range bs {
		st := br.status()
		if (st.State == StateBackoff || st.State == StateConnecting) && slices.ContainsFunc(br.addrs, func(a string) bool { return groups[br.cfg][a] }) {
			st.State, st.LastError = StateStandby, ""
		}
		out = append(out, st)
	}
	return out
}

// claim makes br the sender of outbox name unless another bridge is.
func (n *Network) claim(name string, br *bridge) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if o := n.mu.claims[name]; o != nil && o != br {
		return false
	}
	n.mu.claims[name] = br
	return true
}

func (n *Network) release(name string, br *bridge) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.claims[name] == br {
		delete(n.mu.claims, name)
	}
}

// bridge links this broker to one member of a connector.
type bridge struct {
	net   *Network
	cfg   *Connector
	addrs []string
	b     *broker.Broker
	log   *slog.Logger

	forwarded, sent, dead, connects atomic.Int64

	mu struct {
		sync.Mutex
		state   string
		since   time.Time
		lastErr string
		remote  string
		addr    string
		outbox  string
		sender  *Sender
		conn    *client.Conn // while connected
		demand  int
		subs    int
	}
}

// groupMembers returns the addresses (as normalizeAddr writes them) of
// the members of the high-availability group of the broker br is
// connected to, as that broker announces them; nil when br is not
// connected or the broker announces none.
func (br *bridge) groupMembers() []string {
	br.mu.Lock()
	conn := br.mu.conn
	br.mu.Unlock()
	if conn == nil {
		return nil
	}
	var out []string
	for _, u := range conn.ClusterURLs() {
		if a, err := normalizeAddr(u); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func (br *bridge) setState(s string, err error) {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.mu.state != s {
		br.mu.state, br.mu.since = s, time.Now()
	}
	switch {
	case err != nil:
		br.mu.lastErr = err.Error()
	case s == StateConnected:
		br.mu.lastErr = ""
	}
}

func (br *bridge) status() Status {
	br.mu.Lock()
	defer br.mu.Unlock()
	st := Status{Connector: br.cfg.Name, Remote: strings.Join(br.addrs, ","), RemoteBroker: br.mu.remote,
		Address: br.mu.addr, State: br.mu.state, Since: br.mu.since, LastError: br.mu.lastErr,
		Demand: br.mu.demand, Subs: br.mu.subs, Forwarded: br.forwarded.Load(),
		Connects: br.connects.Load(), Outbox: br.mu.outbox, Sent: br.sent.Load(), DeadLettered: br.dead.Load()}
	if br.mu.sender != nil {
		ss := br.mu.sender.Stats()
		st.Sent += ss.Sent
		st.DeadLettered += ss.DeadLettered
	}
	return st
}

// run connects, bridges until the connection fails, and connects again
// with back-off, until ctx ends.
func (br *bridge) run(ctx context.Context) {
	wait := br.cfg.MinBackoff
	said := "" // the refusal last logged as a warning
	for {
		connected, err := br.session(ctx)
		if ctx.Err() != nil {
			br.setState(StateStopped, nil)
			return
		}
		switch {
		case connected:
			wait, said = br.cfg.MinBackoff, ""
			br.log.Warn("bridge down; connecting again", "err", err)
		case refused(err) && err.Error() != said:
			// It will not go away by itself: tell the operator, once.
			said = err.Error()
			br.log.Warn("bridge refused by the remote broker; trying again", "err", err)
		default:
			br.log.Debug("bridge cannot connect", "err", err)
		}
		br.setState(StateBackoff, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			br.setState(StateStopped, nil)
			return
		case <-t.C:
		}
		wait = min(2*wait, br.cfg.MaxBackoff)
		br.setState(StateConnecting, nil)
	}
}

// refused reports whether a bridge could not connect because of its
// credentials or certificates (or the remote broker's): a configuration to
// fix, unlike a broker that is down or a standby member.
func refused(err error) bool {
	var verr *tls.CertificateVerificationError
	var oe *net.OpError // crypto/tls reports the peer's alerts so (a certificate required or refused)
	return errors.Is(err, client.ErrSecurity) || errors.As(err, &verr) || errors.As(err, &oe) && oe.Op == "remote error"
}

// dial connects to the first member address that answers.
func (br *bridge) dial(ctx context.Context) (*client.Conn, string, error) {
	var errs []error
	for _, a := range br.addrs {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		opts := client.Options{Username: br.cfg.Username, Password: br.cfg.Password, TLS: br.cfg.TLS,
			NoTopicAdvisories: true, AlwaysSyncSend: true, Logger: br.log, MaxInactivity: 10 * time.Second}
		if br.cfg.Duplex {
			// Before the login, as ActiveMQ's bridges: the remote broker
			// bridges back once it knows the user may open bridges.
			opts.Bridge = &client.BridgeInfo{BrokerID: br.b.ID(), BrokerName: br.b.Config().Name,
				URL: "failover:(" + strings.Join(br.cfg.Advertise(), ",") + ")", Duplex: true,
				Properties: duplexProperties(br.cfg)}
		}
		c, err := client.Dial(dctx, dialURL(a), opts)
		cancel()
		if err == nil {
			return c, a, nil
		}
		errs = append(errs, err)
	}
	return nil, "", errors.Join(errs...)
}

// session runs one connection: demand from the remote broker's consumer
// advisories becomes bridge subscriptions here, whose deliveries are moved
// into the outbox, which the sender sends. connected says whether the
// remote broker was reached.
func (br *bridge) session(ctx context.Context) (connected bool, err error) {
	conn, addr, err := br.dial(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		conn.Close(cctx)
		cancel()
	}()
	remote := conn.BrokerID()
	switch {
	case remote == "":
		return false, fmt.Errorf("network: %s announced no broker id", addr)
	case remote == br.b.ID():
		return false, fmt.Errorf("network: %s is this broker (%s)", addr, remote)
	}
	// The outbox is per remote broker name: Pier's id is "ID:" and its
	// name, the same on every member of a group and across restarts;
	// ActiveMQ's id changes with every start, its name does not.
	remoteName := conn.BrokerName()
	if remoteName == "" || strings.ContainsAny(remoteName, "\x00\n") {
		remoteName = strings.TrimPrefix(remote, "ID:")
	}
	obName := br.cfg.Name + "/" + remoteName
	if !br.net.claim(obName, br) {
		br.setState(StateStandby, nil)
		return false, fmt.Errorf("network: %s (%s) is already bridged by another member of %s", addr, remote, br.cfg.Name)
	}
	defer br.net.release(obName, br)
	ob, err := br.b.Outbox(obName)
	if err != nil {
		return true, err
	}
	snd, err := NewSender(br.cfg.Sender, ob, br.log)
	if err != nil {
		return true, err
	}
	br.connects.Add(1)
	br.mu.Lock()
	br.mu.remote, br.mu.addr, br.mu.outbox, br.mu.sender, br.mu.conn = remote, addr, obName, snd, conn
	br.mu.Unlock()
	defer func() {
		br.mu.Lock()
		ss := snd.Stats()
		br.sent.Add(ss.Sent)
		br.dead.Add(ss.DeadLettered)
		br.mu.sender, br.mu.demand, br.mu.subs, br.mu.conn = nil, 0, 0, nil
		br.mu.Unlock()
	}()

	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fw := newForwarder(br, ob, snd)
	// The client id names the bridge's durable subscriptions here.
	local, err := br.b.Connect(ctx, broker.ConnOptions{Sink: fw, ClientID: "pier-bridge:" + obName, Internal: true})
	if err != nil {
		return true, err
	}
	defer local.CloseAfter(0) // what the bridge holds was never forwarded: not a redelivery
	fw.conn = local
	d := &demand{br: br, local: local, remote: remote, keys: map[string]*need{}, consumers: map[string]string{}}
	if err := d.static(sctx); err != nil {
		return true, err
	}
	if err := d.recover(sctx); err != nil {
		return true, err
	}
	br.setState(StateConnected, nil)
	br.log.Info("bridge connected", "remote_broker", remote, "address", addr)

	var wg sync.WaitGroup
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(sctx); err != nil {
				cancel(err)
			}
		}()
	}
	run(func(ctx context.Context) error { return snd.Pump(ctx, conn) })
	run(fw.run)
	run(func(ctx context.Context) error { return d.watch(ctx, conn) })
	select {
	case <-sctx.Done():
	case <-conn.Done():
		cancel(fmt.Errorf("network: connection to %s lost: %w", addr, conn.Err()))
	}
	wg.Wait()
	return true, context.Cause(sctx)
}
