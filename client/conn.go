package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// advisoryTopic is what the Java client watches to learn which temporary
// destinations exist.
const advisoryTopic = "ActiveMQ.Advisory.TempQueue,ActiveMQ.Advisory.TempTopic"

// Conn is a connection to a broker: one socket, one JMS connection. Its
// methods are safe for concurrent use.
type Conn struct {
	opts     Options
	log      *slog.Logger
	fo       *failover // nil for a tcp:// connection, which never reconnects
	track    tracker
	connID   *wire.ConnectionID
	clientID string
	lost     chan struct{} // closed when the transport failed or was closed
	// announced is closed at the first BrokerInfo (see waitBrokerInfo).
	announced     chan struct{}
	announcedOnce sync.Once

	cmdID   atomic.Int32 // commandIds, from 1 as Java's ResponseCorrelator
	loginID atomic.Int32 // the accepted ConnectionInfo's command id, 0 before
	ids     struct{ session, consumer, producer, tx, temp atomic.Int64 }

	advisory   *wire.ConsumerInfo
	advisoryN  int // deliveries since the advisory consumer's last ack (read loop only)
	closeOnce  sync.Once
	lastSeqMax atomic.Int64 // highest lastDeliveredSequenceId of closed sessions
	audit      audit        // messages consumed for good, to drop copies resent after a failover

	mu struct {
		sync.Mutex
		pending    map[int32]*pendingReq // requests awaiting a response
		t          *transport            // the socket; nil while failover reconnects
		up         chan struct{}         // closed once t is set (failover)
		snap       bool                  // failover took the replay snapshot, t not yet set
		err        error                 // why the connection ended
		closed     bool
		sessions   map[int64]*Session
		consumers  map[string]*Consumer
		temps      map[string]bool // live temporary destinations (String form)
		brokerInfo *wire.BrokerInfo
		cluster    string // the last ConnectionControl's connectedBrokers
	}
}

// Dial connects to the broker(s) that addr names and opens a JMS
// connection: WireFormatInfo exchange, ConnectionInfo, and the temporary
// destination advisory subscription. addr is any URL ParseURL accepts, or a
// bare "host:port". A tcp:// URL (or host:port) connects once and never
// reconnects; a failover:(...) URL reconnects and restores the connection
// when its socket is lost (see the package documentation, Failover).
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	if !strings.Contains(addr, ":/") && !strings.HasPrefix(strings.ToLower(addr), "failover:") {
		addr = "tcp://" + addr
	}
	u, err := ParseURL(addr)
	if err != nil {
		return nil, fmt.Errorf("client: dial: %w", err)
	}
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	for _, o := range u.Unsupported() {
		opts.Logger.Warn("connection URL option is not supported by Pier's client and is ignored", "option", o)
	}
	if u.Failover {
		return dialFailover(ctx, u, opts)
	}
	t, err := dialBroker(ctx, u.Brokers[0], &opts)
	if err != nil {
		return nil, err
	}
	c := newConn(opts)
	c.attach(t)
	if err := c.handshake(ctx); err != nil {
		c.shutdown(err)
		return nil, err
	}
	return c, nil
}

func newConn(opts Options) *Conn {
	base := generateID()
	c := &Conn{opts: opts, lost: make(chan struct{}), announced: make(chan struct{}),
		connID: &wire.ConnectionID{Value: base + ":1"}}
	c.clientID = opts.ClientID
	if c.clientID == "" {
		c.clientID = base + ":0" // as Java's clientIdGenerator, unique per process
	}
	c.log = opts.Logger.With("component", "client", "conn", c.connID.Value, "client_id", c.clientID)
	c.mu.pending = map[int32]*pendingReq{}
	c.mu.sessions = map[int64]*Session{}
	c.mu.consumers = map[string]*Consumer{}
	c.mu.temps = map[string]bool{}
	c.mu.up = make(chan struct{})
	return c
}

// attach makes t the connection's socket and starts it (tcp:// only; the
// failover layer installs sockets with restore).
func (c *Conn) attach(t *transport) {
	c.mu.Lock()
	c.mu.t = t
	close(c.mu.up)
	c.mu.Unlock()
	t.start(&socketSink{c: c, t: t})
}

// generateID returns "ID:host-pid-millis-random", the shape of Java's
// IdGenerator seeds.
func generateID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("ID:%s-%d-%d-%d", host, os.Getpid(), time.Now().UnixMilli(), rand.Uint32()%100000)
}

func (c *Conn) handshake(ctx context.Context) error {
	// faultTolerant as ActiveMQConnection sets it (transport.isFaultTolerant):
	// a broker sends its cluster updates to failover connections only.
	info := &wire.ConnectionInfo{ConnectionID: c.connID, ClientID: c.clientID, UserName: c.opts.Username,
		Password: c.opts.Password, Manageable: true, ClientMaster: true, FaultTolerant: c.fo != nil}
	if b := c.opts.Bridge; b != nil {
		if err := c.oneway(b.command()); err != nil {
			return fmt.Errorf("client: connect: announce the bridge: %w", err)
		}
	}
	if _, err := c.request(ctx, info); err != nil {
		return fmt.Errorf("client: connect: %w", err)
	}
	c.loginID.Store(info.CommandID()) // the id it is replayed with after a failover
	c.waitBrokerInfo(ctx)
	if c.opts.NoTopicAdvisories {
		return nil
	}
	c.advisory = &wire.ConsumerInfo{
		ConsumerID:   &wire.ConsumerID{ConnectionID: c.connID.Value, SessionID: -1, Value: c.ids.consumer.Add(1)},
		Destination:  &wire.Destination{Type: wire.TypeTopic, PhysicalName: advisoryTopic},
		PrefetchSize: 1000, NoLocal: true, DispatchAsync: true,
	}
	if _, err := c.request(ctx, c.advisory); err != nil {
		return fmt.Errorf("client: subscribe to temporary destination advisories: %w", err)
	}
	return nil
}

// brokerInfoWait bounds how long a new connection waits for the broker's
// BrokerInfo after its login was answered.
const brokerInfoWait = 2 * time.Second

// waitBrokerInfo waits a moment for the broker's first BrokerInfo, so that
// BrokerID and BrokerName are known when Dial returns: ActiveMQ sends it
// before it answers the login, but from another thread, so under load the
// answer can come first. A broker that sends none costs the wait once.
func (c *Conn) waitBrokerInfo(ctx context.Context) {
	t := time.NewTimer(brokerInfoWait)
	defer t.Stop()
	select {
	case <-c.announced:
	case <-t.C:
	case <-ctx.Done():
	case <-c.lost:
	}
}

// ClientID returns the connection's client id (given or generated).
func (c *Conn) ClientID() string { return c.clientID }

// Done is closed when the connection ends, by Close or by a failure; Err
// then says why.
func (c *Conn) Done() <-chan struct{} { return c.lost }

// Err returns why the connection ended (ErrClosed after Close), or nil.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.err
}

// BrokerName returns the name the broker announced in its BrokerInfo ("" if
// none arrived yet). Brokers send their BrokerInfo before they answer the
// connection, so it is known when Dial returns; after a failover it is the
// new broker's.
func (c *Conn) BrokerName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.brokerInfo == nil {
		return ""
	}
	return c.mu.brokerInfo.BrokerName
}

// BrokerID returns the broker id the broker announced in its BrokerInfo
// ("" if none arrived yet; see BrokerName): what a network bridge puts in
// broker paths. Pier's is "ID:" and its broker name, the same across
// restarts; ActiveMQ's changes with every start.
func (c *Conn) BrokerID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.brokerInfo == nil || c.mu.brokerInfo.BrokerID == nil {
		return ""
	}
	return c.mu.brokerInfo.BrokerID.Value
}

// ClusterURLs returns the client URLs of the members of the broker's
// high-availability group, as the broker last announced them
// (ConnectionControl.connectedBrokers: Pier's replicated groups, ActiveMQ
// with updateClusterClients), nil if it announced none. The broker
// announces them once it has answered the connection, so they may come a
// moment after Dial returns.
func (c *Conn) ClusterURLs() []string {
	c.mu.Lock()
	s := c.mu.cluster
	c.mu.Unlock()
	var urls []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// oneway sends cmd without asking for a response (see send).
func (c *Conn) oneway(cmd wire.BaseCommand) error { return c.send(context.Background(), cmd) }

// request sends cmd and waits for its Response; an ExceptionResponse
// becomes a *BrokerError. With failover the request survives a change of
// socket: it is sent again (or replayed as state) on the next one, with
// the same command id, and its Response completes this call.
func (c *Conn) request(ctx context.Context, cmd wire.BaseCommand) (wire.Command, error) {
	id := c.cmdID.Add(1)
	cmd.SetCommandID(id)
	cmd.SetResponseRequired(true)
	p := &pendingReq{cmd: cmd, ch: make(chan wire.Command, 1)}
	c.mu.Lock()
	if c.mu.err != nil {
		err := c.mu.err
		c.mu.Unlock()
		return nil, err
	}
	c.track.track(cmd)
	t := c.mu.t
	if t == nil && dropWhileDown(cmd) {
		c.mu.Unlock()
		return &wire.Response{CorrelationID: id}, nil // as Java's failover: answered locally
	}
	p.sentOn = t // nil: the failover restore sends it on the next socket
	c.mu.pending[id] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.mu.pending, id)
		c.mu.Unlock()
	}()
	if t != nil {
		if err := t.send(cmd); err != nil && (c.fo == nil || !errors.Is(err, ErrConnectionLost)) {
			return nil, err
		}
	}
	timeout := c.fo.timeoutC() // nil without failover or its timeout
	select {
	case resp := <-p.ch:
		return answer(resp)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.lost:
		return c.answerOrErr(p)
	case <-timeout:
		if c.connected() {
			return c.awaitResponse(ctx, p)
		}
		return nil, c.fo.timeoutErr()
	}
}

// awaitResponse waits for p's response once the failover timeout no longer
// applies (a socket is up again).
func (c *Conn) awaitResponse(ctx context.Context, p *pendingReq) (wire.Command, error) {
	select {
	case resp := <-p.ch:
		return answer(resp)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.lost:
		return c.answerOrErr(p)
	}
}

// answer turns a Response into request's result: an ExceptionResponse
// becomes a *BrokerError.
func answer(resp wire.Command) (wire.Command, error) {
	if er, ok := resp.(*wire.ExceptionResponse); ok {
		return nil, brokerError(er.Exception)
	}
	return resp, nil
}

// answerOrErr is request's result once the connection ended: p's answer if
// it arrived first (a broker that refuses a login may close the socket
// right after its ExceptionResponse, which the read loop delivered before
// it reported the end), else why the connection ended.
func (c *Conn) answerOrErr(p *pendingReq) (wire.Command, error) {
	select {
	case resp := <-p.ch:
		return answer(resp)
	default:
		return nil, c.Err()
	}
}

// onCommand implements transportSink (read loop).
func (c *Conn) onCommand(cmd wire.Command) {
	switch x := cmd.(type) {
	case *wire.MessageDispatch:
		c.dispatch(x)
	case *wire.Response:
		c.respond(x.CorrelationID, x)
	case *wire.ExceptionResponse:
		c.respond(x.CorrelationID, x)
	case *wire.DataResponse:
		c.respond(x.CorrelationID, x)
	case *wire.IntegerResponse:
		c.respond(x.CorrelationID, x)
	case *wire.DataArrayResponse:
		c.respond(x.CorrelationID, x)
	case *wire.BrokerInfo:
		c.mu.Lock()
		c.mu.brokerInfo = x
		c.mu.Unlock()
		c.announcedOnce.Do(func() { close(c.announced) })
	case *wire.ConnectionError:
		err := brokerError(x.Exception)
		c.log.Warn("broker reported a connection error", "err", err)
		if h := c.opts.OnAsyncError; h != nil {
			h(err)
		}
	case *wire.ConsumerControl:
		if x.Close && x.ConsumerID != nil {
			if k := c.consumer(x.ConsumerID.String()); k != nil {
				k.markClosed(ErrClosed)
			}
		}
	case *wire.ConnectionControl:
		if s := strings.TrimSpace(x.ConnectedBrokers); s != "" {
			c.mu.Lock()
			c.mu.cluster = s
			c.mu.Unlock()
		}
		if c.fo != nil {
			c.fo.control(x)
		}
	case *wire.ProducerAck, *wire.ControlCommand, *wire.ShutdownInfo, *wire.WireFormatInfo, *wire.FlushCommand:
		// Nothing to do without producer windows.
	default:
		c.log.Debug("ignoring an unexpected command", "type", cmd.DataType())
	}
}

func (c *Conn) respond(id int32, resp wire.Command) {
	c.mu.Lock()
	p := c.mu.pending[id]
	c.mu.Unlock()
	if p != nil {
		select {
		case p.ch <- resp:
		default:
		}
	}
}

// onTransportError ends a tcp:// connection whose socket failed (read
// loop).
func (c *Conn) onTransportError(err error) {
	c.mu.Lock()
	first := c.mu.err == nil
	if first {
		c.mu.err = err
	}
	c.mu.Unlock()
	if first {
		if !errors.Is(err, ErrClosed) {
			c.log.Warn("connection lost", "err", err)
		}
		close(c.lost)
	}
}

func (c *Conn) consumer(key string) *Consumer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.consumers[key]
}

// dispatch hands a delivery to its consumer (read loop).
func (c *Conn) dispatch(md *wire.MessageDispatch) {
	if md.ConsumerID == nil {
		return
	}
	if c.advisory != nil && *md.ConsumerID == *c.advisory.ConsumerID {
		c.onAdvisory(md)
		return
	}
	if k := c.consumer(md.ConsumerID.String()); k != nil {
		k.enqueue(md)
	}
}

// onAdvisory keeps the set of live temporary destinations, and acks the
// advisories as Java's AdvisoryConsumer does: STANDARD, past 75% of the
// prefetch.
func (c *Conn) onAdvisory(md *wire.MessageDispatch) {
	if md.Message == nil {
		return
	}
	if info, ok := md.Message.DataStructure.(*wire.DestinationInfo); ok && info.Destination != nil {
		key := info.Destination.String()
		c.mu.Lock()
		if info.OperationType == wire.DestinationAdd {
			c.mu.temps[key] = true
		} else {
			delete(c.mu.temps, key)
		}
		c.mu.Unlock()
	}
	c.advisoryN++
	if float64(c.advisoryN) > 0.75*float64(c.advisory.PrefetchSize) {
		ack := &wire.MessageAck{ConsumerID: c.advisory.ConsumerID, Destination: md.Destination,
			AckType: wire.AckStandard, LastMessageID: md.Message.MessageID, MessageCount: int32(c.advisoryN)}
		c.advisoryN = 0
		c.oneway(ack) // bounded by the write timeout
	}
}

// tempDeleted reports whether d is a temporary destination this connection
// has not seen announced (Java's ActiveMQConnection.isDeleted).
func (c *Conn) tempDeleted(d *Destination) bool {
	if c.advisory == nil || !d.IsTemporary() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.mu.temps[d.String()]
}

// Unsubscribe deletes the durable subscription name of this connection's
// client id. It fails if a consumer of it is active.
func (c *Conn) Unsubscribe(ctx context.Context, name string) error {
	_, err := c.request(ctx, &wire.RemoveSubscriptionInfo{ConnectionID: c.connID, SubscriptionName: name,
		ClientID: c.clientID})
	if err != nil {
		return fmt.Errorf("client: unsubscribe %q: %w", name, err)
	}
	return nil
}

// checkOwnTemp refuses, as the Java client does, to consume from a
// temporary destination of another connection (its name starts with the
// creating connection's id) or one that was deleted. ActiveMQ's broker does
// not check this itself.
func (c *Conn) checkOwnTemp(d *Destination) error {
	if !d.IsTemporary() {
		return nil
	}
	if !strings.Contains(d.name, c.connID.Value) {
		return fmt.Errorf("%w: cannot use a temporary destination from another connection", ErrInvalidDestination)
	}
	c.mu.Lock()
	live := c.mu.temps[d.String()]
	c.mu.Unlock()
	if !live {
		return fmt.Errorf("%w: cannot use a temporary destination that has been deleted", ErrInvalidDestination)
	}
	return nil
}
