package broker

import (
	"slices"
	"sort"
	"sync"

	"github.com/piermq/pier/internal/broker/selector"
	"github.com/piermq/pier/internal/message"
)

// AckMode says how a subscription's deliveries are acknowledged.
type AckMode uint8

// Acknowledgement modes, as STOMP and JMS know them.
const (
	// AckAuto: the adapter acknowledges each delivery once written.
	AckAuto AckMode = iota
	// AckClient: an acknowledgement covers the delivery and every earlier
	// one of the subscription (cumulative).
	AckClient
	// AckIndividual: an acknowledgement covers one delivery.
	AckIndividual
)

// SubOptions describe a new subscription.
type SubOptions struct {
	ID          string // unique within the connection
	Dest        message.Destination
	Ack         AckMode
	Prefetch    int    // deliveries outstanding before acknowledgement; 0 uses the default, PrefetchPull none
	Priority    int    // queues: higher-priority consumers with room are served first (JMS consumer priority, 0 by default; bridges use negatives)
	Selector    string // JMS message selector; empty: every message
	DurableName string // topic only: makes the subscription durable
	// Share (with a DurableName) makes the subscription a member of the
	// shared durable subscription DurableName of SharedOwner(Share): its
	// members take the topic's messages in turn (MQTT 5's
	// $share/Share/filter, JMS 2's shared durable consumers; shared.go).
	Share   string
	NoLocal bool // topic only: skip messages sent on this connection
	// Exclusive (queues): while an exclusive consumer is subscribed, the
	// first of them (highest priority, then earliest) gets every message;
	// the next takes over when it leaves (JMS consumer.exclusive=true).
	Exclusive bool
	// Network marks the subscription of a network bridge, made for the
	// consumers of another broker; BrokerPath lists the ids of the brokers
	// its demand came through, the nearest last (ActiveMQ's ConsumerInfo
	// networkSubscription and brokerPath). The core announces both in
	// consumer advisories, so that bridges do not send demand round a loop.
	Network    bool
	BrokerPath []string
	// Remote (network subscriptions) is the id of the broker the bridge
	// forwards to, and TTL how many brokers a message may have crossed to
	// be forwarded (network_ttl; 0: no limit). Such a subscription is not
	// given a message that passed through Remote already (it would go round
	// a loop) unless no other consumer of the queue here accepts it and the
	// subscription serves consumers on Remote itself (BrokerPath is just
	// Remote): then the message would be stranded, and going back is the
	// way to a consumer (docs/network.md). Nor a message that crossed TTL
	// brokers.
	Remote string
	TTL    int
}

// PrefetchPull makes a consumer with no window: it gets a message only
// when it asks (Pull), as a JMS consumer with prefetch 0 does.
const PrefetchPull = -1

// Default prefetch sizes, as ActiveMQ has them.
const (
	DefaultQueuePrefetch   = 1000
	DefaultTopicPrefetch   = 32767
	DefaultDurablePrefetch = 100
)

// Delivery is a message handed to a connection's Sink.
type Delivery struct {
	Sub *Subscription
	Tag uint64 // unique within the connection; acknowledge with it
	Msg *message.Message
	// Seq is the message's sequence number in its queue: the same each
	// time the message is delivered again, after a restart or a failover
	// too for a stored message (MQTT derives the packet id of a resent
	// PUBLISH from it).
	Seq uint64
}

// Subscription is one consumer.
type Subscription struct {
	conn     *Conn
	id       string
	opts     SubOptions
	dest     message.Destination
	prefetch int
	patterns []string           // destination names it covers (several for a composite)
	sel      *selector.Selector // nil: every message
	own      *queue             // private queue of a non-durable topic subscription
	durable  *durable           // set for durable subscriptions
	adv      advisoryState      // its part in consumer advisories (advisory_registry.go)

	mu struct {
		sync.Mutex
		credit    int // prefetch minus deliveries in flight
		extension int // extra window granted by "delivered" acknowledgements
		pulls     int // deliveries asked for by a prefetch-0 consumer
		inflight  map[uint64]held
		queues    []*queue
		closed    bool
	}
}

// held is one delivery not yet acknowledged.
type held struct {
	q      *queue
	e      *entry
	s      *Subscription
	tag    uint64
	pulled bool // delivered for a Pull, outside the window
}

// windowed counts the deliveries that took room in the window.
func windowed(hs []held) int {
	n := 0
	for _, h := range hs {
		if !h.pulled {
			n++
		}
	}
	return n
}

// ID returns the subscription id given at Subscribe.
func (s *Subscription) ID() string { return s.id }

// Options returns the options the subscription was created with.
func (s *Subscription) Options() SubOptions { return s.opts }

// Dest returns the subscribed destination.
func (s *Subscription) Dest() message.Destination { return s.dest }

func newSubscription(c *Conn, o SubOptions) *Subscription {
	s := &Subscription{conn: c, id: o.ID, opts: o, dest: o.Dest, prefetch: o.Prefetch}
	if s.prefetch == PrefetchPull {
		s.prefetch = 0
	} else if s.prefetch <= 0 {
		switch {
		case o.DurableName != "":
			s.prefetch = DefaultDurablePrefetch
		case o.Dest.Kind.IsTopic():
			s.prefetch = DefaultTopicPrefetch
		default:
			s.prefetch = DefaultQueuePrefetch
		}
	}
	if c != nil { // tests make bare subscriptions
		s.prefetch = policyPrefetch(c.b.policyFor(o.Dest), o, s.prefetch)
	}
	s.mu.credit = s.prefetch
	s.mu.inflight = map[uint64]held{}
	return s
}

// policyPrefetch applies a policy's prefetch to a consumer that asked for
// the default window (none, or what a JMS client sends when the
// application set none).
func policyPrefetch(p *Policy, o SubOptions, prefetch int) int {
	want := p.QueuePrefetch
	defaults := []int{DefaultQueuePrefetch}
	if o.Dest.Kind.IsTopic() {
		want = p.TopicPrefetch
		defaults = []int{DefaultTopicPrefetch, DefaultTopicPrefetch - 1, DefaultDurablePrefetch}
	}
	if want <= 0 || o.Network || o.Prefetch == PrefetchPull {
		return prefetch
	}
	if o.Prefetch <= 0 || slices.Contains(defaults, o.Prefetch) {
		return want
	}
	return prefetch
}

// accepts reports whether the subscription's selector accepts m.
func (s *Subscription) accepts(m *message.Message) bool { return s.sel.Match(m) }

// forwards reports whether a network subscription may take m (see
// SubOptions.Remote); l is the queue's consumers (nil for a topic). Every
// other subscription takes everything.
func (s *Subscription) forwards(m *message.Message, l *consumerList) bool {
	r := s.opts.Remote
	if r == "" || onward(m, r, s.opts.TTL) {
		return true
	}
	// Back only to consumers on the remote broker itself (its path is
	// just the remote), and only if no consumer here wants it: bridges
	// among brokers without consumers must not pass a message round.
	return slices.Contains(m.BrokerPath, r) && l != nil && len(s.opts.BrokerPath) == 1 && !l.localWants(m)
}

// onward reports whether m may be forwarded toward broker remote: it did
// not come through remote, and crossed fewer than ttl brokers (0: no
// limit). Network subscriptions and network durables share this rule.
func onward(m *message.Message, remote string, ttl int) bool {
	return !slices.Contains(m.BrokerPath, remote) && (ttl <= 0 || len(m.BrokerPath) < ttl)
}

// matches reports whether the subscription covers destination name.
func (s *Subscription) matches(name string) bool {
	for _, p := range s.patterns {
		if message.Match(p, name) {
			return true
		}
	}
	return false
}

// matchesWild reports whether one of the subscription's wildcard patterns
// matches name.
func (s *Subscription) matchesWild(name string) bool {
	for _, p := range s.patterns {
		if (message.Destination{Name: p}).IsWildcard() && message.Match(p, name) {
			return true
		}
	}
	return false
}

func (s *Subscription) hasWildcard() bool {
	for _, p := range s.patterns {
		if (message.Destination{Name: p}).IsWildcard() {
			return true
		}
	}
	return false
}

func (s *Subscription) attach(q *queue) {
	s.mu.Lock()
	s.mu.queues = append(s.mu.queues, q)
	s.mu.Unlock()
}

func (s *Subscription) queues() []*queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*queue(nil), s.mu.queues...)
}

func (s *Subscription) hasCredit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.mu.closed && s.mu.credit+s.mu.extension+s.mu.pulls > 0
}

// track records e as delivered to s and builds the delivery, or returns
// nil if s has closed. Called with q.mu held.
func (s *Subscription) track(q *queue, e *entry) *Delivery {
	s.mu.Lock()
	if s.mu.closed { // closed since pickConsumer saw it open
		s.mu.Unlock()
		return nil
	}
	tag := s.conn.tags.Add(1)
	m := *e.msg
	m.DeliveryCount = e.deliveries
	e.deliveries++
	pulled := s.mu.credit+s.mu.extension <= 0 && s.mu.pulls > 0
	if pulled {
		s.mu.pulls--
	} else {
		s.mu.credit--
	}
	s.mu.inflight[tag] = held{q: q, e: e, s: s, tag: tag, pulled: pulled}
	s.mu.Unlock()
	return &Delivery{Sub: s, Tag: tag, Msg: &m, Seq: e.seq}
}

// take removes the deliveries an acknowledgement of tag covers: tag alone
// (individual) or tag and every earlier one (cumulative).
func (s *Subscription) take(tag uint64, cumulative bool) ([]held, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.mu.inflight[tag]
	if !ok {
		return nil, ErrUnknownDelivery
	}
	if !cumulative {
		delete(s.mu.inflight, tag)
		s.settled(windowed([]held{h}))
		return []held{h}, nil
	}
	tags := make([]uint64, 0, len(s.mu.inflight))
	for t := range s.mu.inflight {
		if t <= tag {
			tags = append(tags, t)
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i] < tags[j] })
	out := make([]held, 0, len(tags))
	for _, t := range tags {
		out = append(out, s.mu.inflight[t])
		delete(s.mu.inflight, t)
	}
	s.settled(windowed(out))
	return out, nil
}

// takeTags removes exactly the given deliveries (an acknowledgement that
// names them); it fails, taking none, if any is unknown.
func (s *Subscription) takeTags(tags []uint64) ([]held, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tags {
		if _, ok := s.mu.inflight[t]; !ok {
			return nil, ErrUnknownDelivery
		}
	}
	out := make([]held, 0, len(tags))
	for _, t := range tags {
		if h, ok := s.mu.inflight[t]; ok { // tags may repeat
			out = append(out, h)
			delete(s.mu.inflight, t)
		}
	}
	s.settled(windowed(out))
	return out, nil
}

// settled returns n deliveries' room to the window. Called with s.mu held.
func (s *Subscription) settled(n int) {
	s.mu.credit += n
	s.mu.extension = max(0, s.mu.extension-n)
}

// Extend widens the prefetch window to n deliveries beyond the prefetch
// size until they are acknowledged (OpenWire's "delivered" acknowledgement,
// with which a transacted or client-ack consumer keeps messages coming).
func (s *Subscription) Extend(n int) {
	s.mu.Lock()
	s.mu.extension = max(s.mu.extension, n)
	s.mu.Unlock()
	s.kickAll()
}

// Pull asks for one delivery beyond the window (a prefetch-0 consumer's
// receive). Cancel it with CancelPull when the consumer stops waiting.
func (s *Subscription) Pull() {
	s.mu.Lock()
	s.mu.pulls++
	s.mu.Unlock()
	s.kickAll()
}

// CancelPull withdraws an unanswered Pull. It reports false if the pull was
// answered meanwhile (a delivery is on its way).
func (s *Subscription) CancelPull() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.pulls > 0 {
		s.mu.pulls--
		return true
	}
	return false
}

// giveBack returns held deliveries of an aborted transaction to s, if it is
// still open, reporting whether it took them.
func (s *Subscription) giveBack(hs []held) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return false
	}
	for _, h := range hs {
		s.mu.inflight[h.tag] = h
	}
	n := windowed(hs)
	s.mu.credit -= n
	s.mu.extension += n // their room was given back by the aborted ack
	return true
}

// close marks s closed and returns what it held, for redelivery.
func (s *Subscription) close() ([]held, []*queue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	tags := make([]uint64, 0, len(s.mu.inflight))
	for t := range s.mu.inflight {
		tags = append(tags, t)
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i] < tags[j] })
	hs := make([]held, 0, len(tags))
	for _, t := range tags {
		hs = append(hs, s.mu.inflight[t])
	}
	s.mu.inflight = map[uint64]held{}
	qs := s.mu.queues
	s.mu.queues = nil
	return hs, qs
}

// kickAll wakes the dispatchers of every queue s consumes from.
func (s *Subscription) kickAll() {
	for _, q := range s.queues() {
		q.kick()
	}
}

// groupByQueue splits held deliveries by their queue, keeping order.
func groupByQueue(hs []held) map[*queue][]*entry {
	m := map[*queue][]*entry{}
	for _, h := range hs {
		m[h.q] = append(m[h.q], h.e)
	}
	return m
}
