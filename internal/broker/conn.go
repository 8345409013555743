package broker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker/selector"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// Sink receives a connection's deliveries. Deliver is called from the
// broker's dispatch goroutines and must not block: the adapter queues the
// delivery for its writer (prefetch windows bound how many can be queued).
type Sink interface {
	Deliver(d *Delivery)
}

// ConnOptions describe a new connection.
type ConnOptions struct {
	ClientID string // optional; unique among connected clients
	// Credentials are what the client presented; Connect authenticates
	// them (the front door: every protocol's connections come through
	// here).
	Credentials auth.Credentials
	// Subject, when set, is who Broker.Authenticate found the credentials
	// to be (for an adapter that must act between login and connection);
	// Credentials are then not checked again (their Remote and Protocol
	// are still what the management interface shows).
	Subject *auth.Subject
	// Internal marks the broker's own connections (the local side of a
	// network bridge): no credentials, everything allowed.
	Internal bool
	Sink     Sink
	// TakeOver lets the connection take its client id from a connection
	// that holds it, which is told why (Closer, TakeOverReason) and closed
	// first: MQTT's session takeover, ActiveMQ's link stealing. Without
	// it a client id in use is refused.
	TakeOver bool
}

// Conn is one client connection's handle on the broker.
type Conn struct {
	b        *Broker
	id       uint64
	name     string
	clientID string
	userID   string
	subject  *auth.Subject
	sink     Sink
	tags     atomic.Uint64
	msgSeq   atomic.Int64
	allowed  allowCache
	// What the management interface shows (ConnInfo).
	proto, remote string
	since         time.Time

	mu struct {
		sync.Mutex
		closed bool
		subs   map[string]*Subscription
		txs    map[string]*change
		temps  map[message.Destination]struct{}
		// producers are the open producers by destination
		// (manage_stats.go).
		producers map[message.Destination]*producer
	}
}

// Connect authenticates and registers a new connection. A refused login
// wraps auth.ErrAuthentication.
func (b *Broker) Connect(ctx context.Context, o ConnOptions) (*Conn, error) {
	subject := o.Subject
	switch {
	case o.Internal:
		subject = auth.System
	case subject == nil:
		var err error
		if subject, err = b.Authenticate(ctx, o.Credentials); err != nil {
			return nil, err
		}
	}
	c := &Conn{b: b, id: b.nextID(), clientID: o.ClientID, subject: subject, sink: o.Sink,
		proto: o.Credentials.Protocol, remote: o.Credentials.Remote, since: b.cfg.Now()}
	if o.Internal {
		c.proto = "bridge"
	}
	if !subject.IsSystem() && (b.guard.Enforced() || !subject.Anonymous) {
		c.userID = subject.User // JMSXUserID: who sent it
	}
	c.name = fmt.Sprintf("ID:%s-%s-%d", b.cfg.Name, b.run, c.id)
	c.mu.subs = map[string]*Subscription{}
	c.mu.txs = map[string]*change{}
	c.mu.temps = map[message.Destination]struct{}{}
	for {
		b.mu.Lock()
		if b.mu.closed {
			b.mu.Unlock()
			return nil, ErrClosed
		}
		if o.ClientID != "" {
			if old, dup := b.mu.clientIDs[o.ClientID]; dup {
				b.mu.Unlock()
				if !o.TakeOver {
					return nil, fmt.Errorf("%w: %q", ErrClientIDInUse, o.ClientID)
				}
				b.log.Info("client id taken over by a new connection", "client_id", o.ClientID, "old", old.name,
					"old_remote", old.remote, "remote", o.Credentials.Remote)
				if k, ok := old.sink.(Closer); ok {
					k.CloseFromBroker(TakeOverReason)
				}
				old.Close()
				continue
			}
			b.mu.clientIDs[o.ClientID] = c
		}
		b.mu.conns[c] = struct{}{}
		b.mu.Unlock()
		return c, nil
	}
}

// TakeOverReason is what a connection whose client id another takes over
// (ConnOptions.TakeOver) is told.
const TakeOverReason = "session taken over by a new connection with the same client id"

// Authenticate checks credentials at the front door (Connect does it
// too): a refusal wraps auth.ErrAuthentication.
func (b *Broker) Authenticate(ctx context.Context, cred auth.Credentials) (*auth.Subject, error) {
	return b.guard.Authenticate(ctx, cred)
}

// ID returns the connection's broker-assigned name (ID:broker-start-n).
func (c *Conn) ID() string { return c.name }

// ClientID returns the client id given at Connect.
func (c *Conn) ClientID() string { return c.clientID }

// Subject returns who the connection authenticated as.
func (c *Conn) Subject() *auth.Subject { return c.subject }

// Close aborts open transactions, closes subscriptions (their unacknowledged
// deliveries are redelivered), deletes the connection's temporary
// destinations and releases its client id.
func (c *Conn) Close() { c.CloseAfter(AllSeen) }

// AllSeen says every delivery reached the application (see CloseAfter).
const AllSeen = ^uint64(0)

// CloseAfter closes the connection like Close, knowing that deliveries with
// tags above lastSeen never reached the application (they sat in a client's
// prefetch buffer): those are redelivered without counting a delivery, as
// ActiveMQ does with a JMS client's lastDeliveredSequenceId.
func (c *Conn) CloseAfter(lastSeen uint64) {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return
	}
	c.mu.closed = true
	txs := c.mu.txs
	subs := c.mu.subs
	temps := c.mu.temps
	c.mu.txs, c.mu.subs, c.mu.temps = nil, nil, nil
	producers := c.releaseProducersLocked()
	c.mu.Unlock()
	for d, ctr := range producers {
		c.b.forgetWaiting(d, ctr)
	}
	for _, tx := range txs {
		c.b.rollback(tx, true)
	}
	for _, s := range subs {
		c.b.closeSub(s, lastSeen)
	}
	for d := range temps {
		c.b.deleteTemp(d)
	}
	b := c.b
	b.mu.Lock()
	if c.clientID != "" && b.mu.clientIDs[c.clientID] == c {
		delete(b.mu.clientIDs, c.clientID)
	}
	delete(b.mu.conns, c)
	b.mu.Unlock()
}

func (c *Conn) checkOpen() error {
	if c.mu.closed {
		return ErrClosed
	}
	return nil
}

// Send publishes m, or adds it to transaction txID if not empty. Without a
// transaction it returns once a persistent message is durable.
func (c *Conn) Send(ctx context.Context, m *message.Message, txID string) error {
	return c.send(ctx, m, txID, store.Batch{}, nil)
}

// send is Send, with more store operations for the batch and the mark of
// the job a scheduled send makes (outside a transaction only).
func (c *Conn) send(ctx context.Context, m *message.Message, txID string, also store.Batch, jm *jobMark) error {
	dests, err := composite(m.Dest)
	if err != nil {
		return err
	}
	for _, d := range dests {
		if d.IsWildcard() {
			return fmt.Errorf("%w: %s", ErrWildcardSend, d)
		}
	}
	for _, d := range dests { // a composite with one forbidden member is refused whole
		if err := c.authorize(auth.Write, d); err != nil {
			return err
		}
	}
	if m.ID == "" {
		// Like a JMS producer's: every message has a unique (producer id,
		// sequence) pair, which OpenWire consumers rely on.
		seq := c.msgSeq.Add(1)
		m.ProducerID = c.name + ":1:1"
		m.ProducerSeq = seq
		m.ID = fmt.Sprintf("%s:%d", m.ProducerID, seq)
	}
	if !c.b.cfg.NoScheduler && isManagement(m) && m.Dest.Name == SchedulerManagement && len(dests) == 1 {
		return c.b.manage(ctx, m) // a request to the scheduler, not a message
	}
	if !c.b.cfg.NoScheduler && scheduled(m) { // refused on the send, not when it falls due
		if _, err := specOf(m); err != nil {
			return err
		}
	}
	if m.Timestamp == 0 {
		m.Timestamp = c.b.now()
	}
	if m.Priority > 9 {
		m.Priority = 9
	}
	if m.UserID == "" || c.b.guard.Enforced() {
		m.UserID = c.userID // with security on, no one can send as someone else
	}
	if !m.Persistent {
		if err := c.b.flowControl(ctx, dests); err != nil {
			return err
		}
	}
	c.mu.Lock()
	if err := c.checkOpen(); err != nil {
		c.mu.Unlock()
		return err
	}
	if txID != "" {
		defer c.mu.Unlock()
		tx := c.mu.txs[txID]
		if tx == nil {
			return fmt.Errorf("%w: %q", ErrNoSuchTx, txID)
		}
		tx.sends = append(tx.sends, copies(m, dests)...)
		return nil
	}
	c.mu.Unlock()
	return c.b.apply(ctx, &change{origin: c, sends: copies(m, dests), also: also, jobMark: jm})
}

// copies returns m for each destination of a composite send (m itself when
// there is one).
func copies(m *message.Message, dests []message.Destination) []*message.Message {
	if len(dests) == 1 {
		m.Dest = dests[0]
		return []*message.Message{m}
	}
	out := make([]*message.Message, len(dests))
	for i, d := range dests {
		out[i] = m.Clone()
		out[i].Dest = d
	}
	return out
}

// composite splits a destination whose name lists several ("a,b", or with
// kinds "queue://a,topic://b", as ActiveMQ allows) and validates each.
func composite(d message.Destination) ([]message.Destination, error) {
	if d.Kind == 0 {
		return nil, fmt.Errorf("%w: no destination", message.ErrBadDestination)
	}
	if !strings.Contains(d.Name, ",") {
		return []message.Destination{d}, message.ValidateName(d.Name)
	}
	var out []message.Destination
	for _, part := range strings.Split(d.Name, ",") {
		part = strings.TrimSpace(part)
		pd := message.Destination{Kind: d.Kind, Name: part}
		if strings.Contains(part, "://") {
			var err error
			if pd, err = message.ParseDestination(part); err != nil {
				return nil, err
			}
		} else if err := message.ValidateName(part); err != nil {
			return nil, err
		}
		out = append(out, pd)
	}
	return out, nil
}

// Subscribe creates a consumer. Deliveries go to the connection's Sink.
func (c *Conn) Subscribe(ctx context.Context, o SubOptions) (*Subscription, error) {
	sel, err := selector.Parse(o.Selector)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSelector, err)
	}
	parts, err := composite(o.Dest)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if p.Kind.IsTopic() != o.Dest.Kind.IsTopic() {
			return nil, fmt.Errorf("%w: %s mixes queues and topics", message.ErrBadDestination, o.Dest)
		}
	}
	if o.DurableName != "" && o.Dest.Kind != message.Topic {
		return nil, fmt.Errorf("%w: durable subscriptions are for topics, not %s", message.ErrBadDestination, o.Dest)
	}
	if err := checkBrokerPath(o.BrokerPath); err != nil {
		return nil, err
	}
	for _, p := range parts {
		if err := c.authorize(auth.Read, p); err != nil {
			return nil, err
		}
	}
	s := newSubscription(c, o)
	s.sel = sel
	for _, p := range parts {
		s.patterns = append(s.patterns, p.Name)
	}
	c.mu.Lock()
	if err := c.checkOpen(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	if _, dup := c.mu.subs[o.ID]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrSubscriptionInUse, o.ID)
	}
	c.mu.subs[o.ID] = s
	c.mu.Unlock()
	if err := c.b.attach(ctx, c, s); err != nil {
		c.mu.Lock()
		if c.mu.subs != nil {
			delete(c.mu.subs, o.ID)
		}
		c.mu.Unlock()
		return nil, err
	}
	c.b.consumerAdded(s)
	return s, nil
}

// attach connects a new subscription to the queues it consumes from.
func (b *Broker) attach(ctx context.Context, c *Conn, s *Subscription) error {
	d := s.dest
	switch {
	case s.opts.Share != "" && (!d.Kind.IsTopic() || s.opts.DurableName == "" || s.opts.Selector != "" || s.opts.NoLocal):
		return ErrBadShare
	case s.opts.DurableName != "":
		return b.subscribeDurable(ctx, c, s)
	case d.Kind.IsTopic():
		l := b.listen(s) // a subscriber of consumer advisories hears of existing consumers
		defer l.done()
		b.mu.Lock()
		if d.Kind == message.TempTopic && b.mu.temps[d] == nil {
			b.mu.Unlock()
			return fmt.Errorf("%w: %s", ErrNoSuchTemp, d)
		}
		s.own = b.newQueue(d, "")
		s.attach(s.own)
		s.own.addConsumer(s)
		b.mu.topicSubs[s] = struct{}{}
		l.count()
		b.mu.Unlock()
		l.replayConsumers()
		l.done()
		b.replayTemps(s)
		return nil
	case d.Kind == message.TempQueue:
		b.mu.RLock()
		q, owner := b.mu.tempQs[d], b.mu.temps[d]
		b.mu.RUnlock()
		if q == nil {
			return fmt.Errorf("%w: %s", ErrNoSuchTemp, d)
		}
		if owner != c {
			return ErrTempNotOwner
		}
		s.attach(q)
		q.addConsumer(s)
		q.kick()
		return nil
	default:
		return b.attachQueues(s)
	}
}

// attachQueues attaches a queue consumer to every queue it names: each
// concrete one, and every existing and future queue its wildcards match.
func (b *Broker) attachQueues(s *Subscription) error {
	var qs []*queue
	if s.hasWildcard() {
		b.mu.Lock()
		b.mu.wildQs[s] = struct{}{}
		for name, q := range b.mu.queues {
			if s.matchesWild(name) {
				qs = append(qs, q)
			}
		}
		b.mu.Unlock()
	}
	for _, p := range s.patterns {
		if (message.Destination{Name: p}).IsWildcard() {
			continue
		}
		q := b.queue(p)
		if q == nil {
			return ErrClosed
		}
		if !s.matchesWild(p) { // not already attached through a wildcard
			qs = append(qs, q)
		}
	}
	for _, q := range qs {
		s.attach(q)
		q.addConsumer(s)
		q.kick()
	}
	return nil
}

// Unsubscribe closes the subscription id; its unacknowledged deliveries are
// redelivered to other consumers. A durable subscription keeps its backlog.
func (c *Conn) Unsubscribe(id string) error { return c.UnsubscribeAfter(id, AllSeen) }

// UnsubscribeAfter closes subscription id like Unsubscribe; deliveries with
// tags above lastSeen never reached the application (see CloseAfter).
func (c *Conn) UnsubscribeAfter(id string, lastSeen uint64) error {
	c.mu.Lock()
	s := c.mu.subs[id]
	if s != nil {
		delete(c.mu.subs, id)
	}
	c.mu.Unlock()
	if s == nil {
		return fmt.Errorf("%w: %q", ErrNoSuchSub, id)
	}
	c.b.closeSub(s, lastSeen)
	return nil
}

// Subscription returns the open subscription with the given id.
func (c *Conn) Subscription(id string) (*Subscription, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.mu.subs[id]
	return s, ok
}

func (b *Broker) closeSub(s *Subscription, lastSeen uint64) {
	b.mu.Lock()
	delete(b.mu.topicSubs, s)
	b.unlisten(s)
	delete(b.mu.wildQs, s)
	b.forgetDetachedLocked(s)
	if s.durable != nil {
		s.durable.leave(s)
	}
	b.mu.Unlock()
	hs, qs := s.close()
	for _, h := range hs {
		if h.tag > lastSeen {
			h.e.deliveries-- // prefetched, never seen: not a redelivery
		}
	}
	held := groupByQueue(hs)
	for _, q := range qs {
		b.deadOnReturn(q, q.leave(s, held[q]))
		delete(held, q)
	}
	for q, es := range held { // a queue s had left already
		b.deadOnReturn(q, q.requeue(es))
	}
	if s.own != nil {
		s.own.delete()
	}
	b.consumerRemoved(s)
}

// redeliver returns deliveries to their queues, dead-lettering those past
// the redelivery limit.
func (b *Broker) redeliver(hs []held) {
	for q, es := range groupByQueue(hs) {
		b.deadOnReturn(q, q.requeue(es))
	}
}

// deadOnReturn dead-letters the entries that came back past their
// redelivery limit.
func (b *Broker) deadOnReturn(q *queue, dead []*entry) {
	if len(dead) > 0 {
		b.moveToDLQ(q, dead, fmt.Sprintf("delivered %d times without acknowledgement (max redeliveries %d)",
			dead[0].deliveries, q.pol.MaxRedeliveries))
	}
}
