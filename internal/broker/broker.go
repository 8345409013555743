// Package broker is the core of Pier: destinations (queues, topics,
// temporary destinations), subscriptions, dispatch within prefetch windows,
// acknowledgements, local transactions, redelivery and dead letters, memory
// limits and producer flow control. It does no network or file I/O of its own:
// protocol adapters call it through Conn, and it writes through store.Store.
package broker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// DefaultMaxRedeliveries is ActiveMQ's redelivery limit.
const DefaultMaxRedeliveries = 6

// Config holds the core's settings. The zero value is valid after
// EnsureDefaults.
type Config struct {
	// Name is the broker name (ActiveMQ's brokerName).
	Name string
	// MemoryLimit bounds the bytes of message bodies held in memory. Bodies
	// of stored messages beyond it stay on disk and are paged in when
	// needed; producers of messages that cannot be paged (non-persistent)
	// are blocked while the limit is exceeded.
	MemoryLimit int64
	// BlockTimeout is how long a producer is blocked by flow control before
	// its send fails with ErrMemoryLimit. Zero means wait as long as the
	// caller's context allows.
	BlockTimeout time.Duration
	// MaxRedeliveries is how many times a message is redelivered before it
	// is moved to the dead letter queue; 0 moves it at the first
	// redelivery, -1 never. A message recovered at Start has counted one
	// delivery, but is delivered at least once more. It has no implicit
	// default: ActiveMQ's is DefaultMaxRedeliveries.
	MaxRedeliveries int
	// DLQ is the name of the dead letter queue.
	DLQ string
	// PageSize is how many messages are read back from the store at once.
	PageSize int
	// Window is how many waiting messages a queue holds in memory; the
	// stored messages it is sent past it stay in the store only, and are
	// read back as consumers drain the window (cursor.go). Default
	// DefaultWindow.
	Window int
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// Guard authenticates connections and authorizes their access to
	// destinations (the front door); nil lets everyone do everything.
	Guard *auth.Guard
	// Default is the policy of destinations no entry of Destinations
	// matches (its MaxRedeliveries and DLQ are the fields above).
	Default Policy
	// Destinations are policies per destination pattern; the first match
	// applies.
	Destinations []DestinationPolicy
	// GroupHold is how long a new master keeps a message group for the
	// consumer that held it before (its client reconnects with the same
	// consumer id) before giving it to another. Default 15 s.
	GroupHold time.Duration
	// NoScheduler turns the scheduler off, as ActiveMQ's
	// schedulerSupport="false": AMQ_SCHEDULED_* properties are left in the
	// message, which is delivered at once, and
	// ActiveMQ.Scheduler.Management is an ordinary topic.
	NoScheduler bool
	// DurableLimit, if set, returns the most messages a durable
	// subscription keeps, waiting and in flight together (0: no limit);
	// a message published beyond it is not kept for that subscription.
	// MQTT's mqtt.max_queued uses it for persistent sessions.
	DurableLimit func(s store.Subscription) int
}

// EnsureDefaults fills unset fields with ActiveMQ's defaults.
func (c *Config) EnsureDefaults() {
	if c.Name == "" {
		c.Name = "localhost"
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = 256 << 20
	}
	if c.DLQ == "" {
		c.DLQ = "ActiveMQ.DLQ"
	}
	if c.PageSize == 0 {
		c.PageSize = 200
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.GroupHold == 0 {
		c.GroupHold = 15 * time.Second
	}
	if c.Guard == nil {
		c.Guard = auth.Open()
	}
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	if c.MemoryLimit < 1<<20 {
		return fmt.Errorf("broker: memory limit %d is below 1 MiB", c.MemoryLimit)
	}
	if c.MaxRedeliveries < -1 {
		return fmt.Errorf("broker: max redeliveries %d: want -1 (never) or more", c.MaxRedeliveries)
	}
	if err := message.ValidateName(c.DLQ); err != nil {
		return fmt.Errorf("broker: dead letter queue: %w", err)
	}
	if c.PageSize < 1 {
		return fmt.Errorf("broker: page size %d must be positive", c.PageSize)
	}
	if c.Window < 2 {
		return fmt.Errorf("broker: window %d: want at least 2 messages", c.Window)
	}
	return nil
}

// Errors returned by the core. Protocol adapters map them to wire errors.
var (
	ErrClosed            = errors.New("broker: closed")
	ErrClientIDInUse     = errors.New("broker: client id already connected")
	ErrNoClientID        = errors.New("broker: a durable subscription needs a client id")
	ErrDurableInUse      = errors.New("broker: durable subscription is in use")
	ErrNoSuchDurable     = errors.New("broker: no such durable subscription")
	ErrSubscriptionInUse = errors.New("broker: subscription id already in use")
	ErrNoSuchSub         = errors.New("broker: no such subscription")
	ErrUnknownDelivery   = errors.New("broker: unknown or already acknowledged message")
	ErrNoSuchTx          = errors.New("broker: no such transaction")
	ErrTxExists          = errors.New("broker: transaction already begun")
	ErrNoSuchTemp        = errors.New("broker: temporary destination does not exist")
	ErrTempNotOwner      = errors.New("broker: only the connection that created a temporary destination may consume from it")
	ErrWildcardSend      = errors.New("broker: cannot send to a wildcard destination")
	ErrMemoryLimit       = errors.New("broker: memory limit reached")
	ErrStoreFull         = errors.New("broker: store size limit reached")
	ErrSelector          = errors.New("broker: invalid selector")
)

// Broker is the core. Create it with New, then Start it.
type Broker struct {
	// topicStats counts per topic, for the management interface
	// (manage_stats.go).
	topicStats topicRegistry

	cfg   Config
	guard *auth.Guard
	pol   *Policy // the default policy
	st    store.Store
	log   *slog.Logger
	seq   atomic.Uint64
	mem   memory
	acks  *ackFlusher
	audit *producerAudit
	wg    sync.WaitGroup
	idGen atomic.Uint64
	stop  chan struct{}
	start int64
	run   string // this run's part of the ids it makes: start time and random bits
	id    string // the broker id (ID())
	adv   advisories
	// records writes the broker's own records: group owners, virtual
	// topic queues (records.go).
	records *recordWriter
	marks   markSet     // marks.go
	retain  retainedSet // retain.go
	sched   *scheduler

	mu struct {
		sync.RWMutex
		closed    bool
		queues    map[string]*queue              // by queue name
		temps     map[message.Destination]*Conn  // temp destination -> owner
		tempQs    map[message.Destination]*queue // temp queues
		topicSubs map[*Subscription]struct{}     // every topic consumer (non-durable)
		durables  map[string]*durable            // by store.Subscription.Key()
		wildQs    map[*Subscription]struct{}     // wildcard queue consumers
		clientIDs map[string]*Conn
		conns     map[*Conn]struct{}
		outboxes  map[string]*sync.Mutex // by outbox name (outbox.go)
		topics    map[string]struct{}    // topics created, when security is on (authorize.go)
		virtual   map[string][]*queue    // virtual topic -> its consumer queues (virtual.go)
		// waitingCtrs count the producers of queues that do not exist
		// yet; the queue takes them when it is made (manage_stats.go).
		waitingCtrs map[string]*counters
		// detached holds the consumers of deleted queues by queue name:
		// they are attached again if the queue is made again, as in
		// ActiveMQ (manage.go).
		detached map[string][]*Subscription
	}
}

// New creates a broker over st. Call Start before use.
func New(cfg Config, st store.Store, log *slog.Logger) (*Broker, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Broker{cfg: cfg, guard: cfg.Guard, st: st, log: log.With("component", "broker"), stop: make(chan struct{}),
		id: "ID:" + cfg.Name}
	b.mem.init(cfg.MemoryLimit)
	b.start = cfg.Now().UnixNano()
	// Ids made by this broker (connections, hence STOMP producers, and
	// advisories) carry the start time and random bits: a producer id of
	// an earlier run is remembered by the store, and a restart within the
	// same millisecond (or after the clock stepped back) must not reuse it,
	// or its first sends would be taken for resends and dropped.
	var rnd [4]byte
	rand.Read(rnd[:])
	b.run = fmt.Sprintf("%d-%x", b.start/1e6, rnd)
	b.mu.queues = map[string]*queue{}
	b.mu.temps = map[message.Destination]*Conn{}
	b.mu.tempQs = map[message.Destination]*queue{}
	b.mu.topicSubs = map[*Subscription]struct{}{}
	b.mu.durables = map[string]*durable{}
	b.mu.wildQs = map[*Subscription]struct{}{}
	b.mu.clientIDs = map[string]*Conn{}
	b.mu.conns = map[*Conn]struct{}{}
	b.mu.outboxes = map[string]*sync.Mutex{}
	b.mu.topics = map[string]struct{}{}
	b.acks = newAckFlusher(b)
	b.sched = newScheduler(b)
	b.records = newRecordWriter(b)
	b.pol = b.defaultPolicy()
	return b, nil
}

// Secured reports whether security is on: connections are authenticated
// and their access to destinations authorized.
func (b *Broker) Secured() bool { return b.guard.Enforced() }

// Guard returns the front door, for what authenticates outside a broker
// connection (the console).
func (b *Broker) Guard() *auth.Guard { return b.guard }

// Config returns the effective configuration.
func (b *Broker) Config() Config { return b.cfg }

// ID returns the broker id, "ID:" and the broker name: what protocol
// adapters announce (OpenWire's BrokerInfo) and what network bridges put in
// broker paths. It is the same for every listener and across restarts and
// failovers (the members of a replicated group are one broker), so broker
// names must be unique among the brokers of a network, as in ActiveMQ.
func (b *Broker) ID() string { return b.id }

// Start recovers the store's content and starts background work.
func (b *Broker) Start(ctx context.Context) error {
	state, err := b.st.Recover(ctx)
	if err != nil {
		return fmt.Errorf("broker: recover: %w", err)
	}
	b.seq.Store(state.LastSeq)
	b.audit = newProducerAudit(state.ProducerSeqs)
	state.Subscriptions = b.takeRecords(state.Subscriptions)
	b.goRun(b.records.run)
	b.mu.Lock()
	for _, s := range state.Subscriptions {
		d := b.newDurable(s)
		b.mu.durables[s.Key()] = d
		b.countDurable(d, 1)
		b.mu.topics[s.Topic] = struct{}{}
	}
	b.mu.Unlock()
	for _, d := range state.Dests {
		if err := b.recoverKey(ctx, d, state.LastSeq); err != nil {
			return err
		}
	}
	b.guard.UseLoginStore(b) // verified logins outlive this master (auth/remember.go)
	b.goRun(b.acks.run)
	b.goRun(b.expiryLoop)
	b.goRun(b.sched.run)
	b.log.Info("broker started", "name", b.cfg.Name, "last_seq", state.LastSeq, "destinations", len(state.Dests),
		"durable_subscriptions", len(state.Subscriptions))
	return nil
}

// recoverKey takes up what the store holds under one key, by the kind of
// state its prefix names.
func (b *Broker) recoverKey(ctx context.Context, d store.DestState, lastSeq uint64) error {
	var rerr error
	kinds := []struct {
		prefix  string
		recover func() bool
	}{
		{OutboxPrefix, func() bool { // a bridge's outbox: read by its sender, never dispatched
			b.mu.Lock()
			b.mu.outboxes[strings.TrimPrefix(d.Dest, OutboxPrefix)] = new(sync.Mutex)
			b.mu.Unlock()
			return true
		}},
		{SchedulerPrefix, func() bool { return b.sched.recovered(d.Dest, d.Count) }},
		{retainedKey, func() bool { rerr = b.recoverRetained(ctx); return true }},
	}
	for _, k := range kinds {
		if strings.HasPrefix(d.Dest, k.prefix) {
			if !k.recover() {
				b.log.Warn("store holds a key it cannot read; ignored", "dest", d.Dest, "count", d.Count)
			}
			return rerr
		}
	}
	q := b.queueForKey(d.Dest)
	if q == nil {
		b.log.Warn("store holds an unknown destination; ignored", "dest", d.Dest, "count", d.Count)
		return nil
	}
	if err := q.recover(ctx, d.Count, lastSeq); err != nil {
		return fmt.Errorf("broker: recover %s: %w", d.Dest, err)
	}
	return nil
}

// zone is the time zone of cron schedules: the broker clock's.
func (b *Broker) zone() *time.Location { return b.cfg.Now().Location() }

// ScheduledJobs reports how many scheduled jobs are stored.
func (b *Broker) ScheduledJobs() int { return b.sched.pending() }

// queueForKey finds or creates the queue that a store key names.
func (b *Broker) queueForKey(key string) *queue {
	switch {
	case strings.HasPrefix(key, "queue://"):
		return b.queue(strings.TrimPrefix(key, "queue://"))
	case strings.HasPrefix(key, "durable://"):
		b.mu.RLock()
		defer b.mu.RUnlock()
		for _, d := range b.mu.durables {
			if d.sub.Dest == key {
				return d.q
			}
		}
	}
	return nil
}

// goRun starts f in a goroutine that Close waits for.
func (b *Broker) goRun(f func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		f()
	}()
}

// Close closes every connection, stops background work and waits for it.
// It does not close the store.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.mu.closed {
		b.mu.Unlock()
		return nil
	}
	b.mu.closed = true
	b.records.closing.Store(true)
	b.guard.DropLoginStore(b)
	conns := make([]*Conn, 0, len(b.mu.conns))
	for c := range b.mu.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	close(b.stop)
	b.wg.Wait()
	return nil
}

func (b *Broker) nextID() uint64 { return b.idGen.Add(1) }

// now returns the current time in unix milliseconds.
func (b *Broker) now() int64 { return b.cfg.Now().UnixMilli() }

// expiryLoop periodically drops or dead-letters expired messages that no
// consumer is taking.
func (b *Broker) expiryLoop() {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			for _, q := range b.allQueues() {
				q.kick()
			}
		}
	}
}

func (b *Broker) allQueues() []*queue {
	b.mu.RLock()
	defer b.mu.RUnlock()
	qs := make([]*queue, 0, len(b.mu.queues)+len(b.mu.durables))
	for _, q := range b.mu.queues {
		qs = append(qs, q)
	}
	for _, d := range b.mu.durables {
		qs = append(qs, d.q)
	}
	return qs
}

// Stats is a snapshot of one destination, for metrics and tests.
type Stats struct {
	Dest      message.Destination
	Pending   int // waiting for a consumer
	InFlight  int // delivered, not yet acknowledged
	Consumers int
}

// QueueStats returns the state of a queue, and false if it does not exist.
func (b *Broker) QueueStats(name string) (Stats, bool) {
	b.mu.RLock()
	q := b.mu.queues[name]
	b.mu.RUnlock()
	if q == nil {
		return Stats{}, false
	}
	return q.stats(), true
}

// DurableStats returns the state of a durable subscription's backlog.
func (b *Broker) DurableStats(clientID, name string) (Stats, bool) {
	b.mu.RLock()
	d := b.mu.durables[store.Subscription{ClientID: clientID, Name: name}.Key()]
	b.mu.RUnlock()
	if d == nil {
		return Stats{}, false
	}
	return d.q.stats(), true
}

// MemoryUsed reports the bytes of message bodies held in memory.
func (b *Broker) MemoryUsed() int64 { return b.mem.used.Load() }
