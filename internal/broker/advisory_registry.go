package broker

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/piermq/pier/internal/message"
)

// advisories keeps the announced consumers (for the replay to new
// subscribers of consumer advisories) and the number of subscriptions that
// may hear consumer advisories. With none, adding or removing a consumer
// costs a lock and a few pointer writes, and allocates nothing.
//
// mu orders every consumer advisory and every replay, so that a subscriber
// hears of each consumer once (in the replay or live, never both) and never
// of its removal before its addition. It is taken before Broker.mu (see
// docs/broker.md) and is never held while a Sink is called: advisories are
// placed on their queues under mu and dispatched after it is released.
type advisories struct {
	mu         sync.Mutex
	seq        int64         // numbers the announced consumers (guarded by mu)
	head, tail *Subscription // announced consumers, oldest first (guarded by mu)
	// listeners counts topic subscriptions and durable subscriptions that
	// may hear consumer advisories (changed under Broker.mu).
	listeners atomic.Int64
}

// advisoryState is a subscription's part in advisories.
type advisoryState struct {
	// Guarded by Broker.adv.mu.
	announced  bool
	seq        int64
	prev, next *Subscription
	// listener: s is counted in Broker.adv.listeners (guarded by Broker.mu).
	listener bool
}

// isAdvisoryConsumer reports whether s consumes from an advisory topic:
// such consumers are not announced.
func (s *Subscription) isAdvisoryConsumer() bool {
	if !s.dest.Kind.IsTopic() {
		return false
	}
	for _, p := range s.patterns {
		if strings.HasPrefix(p, AdvisoryPrefix) {
			return true
		}
	}
	return false
}

// mayHear reports whether the topic subscription s may receive consumer
// advisories.
func (s *Subscription) mayHear() bool {
	if s.dest.Kind != message.Topic || s.opts.DurableName != "" {
		return false // a durable subscription counts through its durable
	}
	for _, p := range s.patterns {
		if patternMayHear(p) {
			return true
		}
	}
	return false
}

func (s *Subscription) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

func (s *Subscription) currentPrefetch() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prefetch
}

// listening is a topic subscription being attached. If it subscribes to
// consumer advisories it holds Broker.adv.mu from listen until done, so
// that no advisory is published between its registration and its replay.
type listening struct {
	b      *Broker
	s      *Subscription
	replay bool // adv.mu is held; the existing consumers are replayed
	kick   bool // replayed advisories wait for dispatch
}

// listen starts attaching the topic subscription s. Call count under
// Broker.mu when s is registered, then replayConsumers, then done (before
// anything that may dispatch).
func (b *Broker) listen(s *Subscription) listening {
	l := listening{b: b, s: s, replay: replaysConsumers(s)}
	if l.replay {
		b.adv.mu.Lock()
	}
	return l
}

// count adds s to the listeners if it may hear consumer advisories. Called
// with Broker.mu held.
func (l *listening) count() {
	if l.s.mayHear() {
		l.s.adv.listener = true
		l.b.adv.listeners.Add(1)
	}
}

// replayConsumers gives the new subscriber an "add" advisory for every
// announced consumer whose advisory topic it subscribes to, as ActiveMQ
// does (it sends them to the new consumer alone).
func (l *listening) replayConsumers() {
	s := l.s
	if !l.replay || s.own == nil {
		return
	}
	var es []*entry
	for c := l.b.adv.head; c != nil; c = c.adv.next {
		if !s.matches(ConsumerAdvisoryTopic(c.dest)) {
			continue
		}
		m := l.b.advisoryMessage(l.b.describe(c, AdvisoryAdd))
		if !s.accepts(m) {
			continue
		}
		if e, ok := s.own.enqueue(m, 0); ok {
			es = append(es, e)
		}
	}
	s.own.stabilize(es)
	l.kick = len(es) > 0
}

// done releases the advisory lock and dispatches the replay; it may be
// called again (deferred, for the paths that fail).
func (l *listening) done() {
	if !l.replay {
		return
	}
	l.replay = false
	l.b.adv.mu.Unlock()
	if l.kick {
		l.s.own.kick()
	}
}

// unlisten removes s from the listeners. Called with Broker.mu held.
func (b *Broker) unlisten(s *Subscription) {
	if s.adv.listener {
		s.adv.listener = false
		b.adv.listeners.Add(-1)
	}
}

// countDurable adds (delta 1) or removes (-1) a durable subscription to or
// from the listeners. Called with Broker.mu held, when the durable enters or
// leaves Broker.mu.durables.
func (b *Broker) countDurable(d *durable, delta int64) {
	if mayHearConsumerAdvisories(d.sub.Topic) {
		b.adv.listeners.Add(delta)
	}
}

// consumerAdded announces a new consumer. Call it once s is attached, with
// no lock held.
func (b *Broker) consumerAdded(s *Subscription) {
	if s.isAdvisoryConsumer() {
		return
	}
	b.adv.mu.Lock()
	if s.isClosed() { // closed while subscribing: never announced
		b.adv.mu.Unlock()
		return
	}
	a := &b.adv
	a.seq++
	s.adv.announced, s.adv.seq, s.adv.prev = true, a.seq, a.tail
	if a.tail != nil {
		a.tail.adv.next = s
	} else {
		a.head = s
	}
	a.tail = s
	var qs []*queue
	if a.listeners.Load() > 0 {
		qs = b.placeAdvisory(b.advisoryMessage(b.describe(s, AdvisoryAdd)))
	}
	a.mu.Unlock()
	kickAll(qs)
}

// consumerRemoved announces that s closed. Call it once s is detached from
// its queues, with no lock held.
func (b *Broker) consumerRemoved(s *Subscription) {
	b.adv.mu.Lock()
	if !s.adv.announced {
		b.adv.mu.Unlock()
		return
	}
	a := &b.adv
	if p := s.adv.prev; p != nil {
		p.adv.next = s.adv.next
	} else {
		a.head = s.adv.next
	}
	if n := s.adv.next; n != nil {
		n.adv.prev = s.adv.prev
	} else {
		a.tail = s.adv.prev
	}
	s.adv.announced, s.adv.prev, s.adv.next = false, nil, nil
	var qs []*queue
	// As ActiveMQ: the removal of a consumer of a temporary destination
	// that is gone already is not announced.
	if a.listeners.Load() > 0 && (!s.dest.Kind.IsTemp() || b.tempExists(s.dest)) {
		qs = b.placeAdvisory(b.advisoryMessage(b.describe(s, AdvisoryRemove)))
	}
	a.mu.Unlock()
	kickAll(qs)
}

// durableDeleted announces that connection connID (the broker's own name
// for it; "" for the management interface) deleted durable subscription d
// (ActiveMQ's RemoveSubscriptionInfo advisory).
func (b *Broker) durableDeleted(connID string, d *durable) {
	topic := message.Destination{Kind: message.Topic, Name: d.sub.Topic}
	if IsAdvisory(topic) || b.adv.listeners.Load() == 0 {
		return
	}
	b.adv.mu.Lock()
	a := &ConsumerAdvisory{Op: AdvisoryUnsubscribe, Dest: topic, ConnectionID: connID, ClientID: d.sub.ClientID,
		DurableName: d.sub.Name, Selector: d.sub.Selector, NoLocal: d.sub.NoLocal,
		ConsumerCount: b.consumerCount(message.Topic, []string{d.sub.Topic})}
	qs := b.placeAdvisory(b.advisoryMessage(a))
	b.adv.mu.Unlock()
	kickAll(qs)
}

func (b *Broker) tempExists(d message.Destination) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.mu.temps[d] != nil
}

// describe returns what an advisory says about the announced consumer s.
// Called with Broker.adv.mu held.
func (b *Broker) describe(s *Subscription, op AdvisoryOp) *ConsumerAdvisory {
	o := &s.opts
	return &ConsumerAdvisory{
		Op: op, Dest: s.dest, ConsumerID: s.id, ConsumerSeq: s.adv.seq,
		ConnectionID: s.conn.name, ClientID: s.conn.clientID, Selector: o.Selector, DurableName: o.DurableName,
		NoLocal: o.NoLocal, Prefetch: s.currentPrefetch(), Priority: o.Priority, Network: o.Network,
		BrokerPath: o.BrokerPath, ConsumerCount: b.consumerCount(s.dest.Kind, s.patterns),
	}
}

// consumerCount is ActiveMQ's consumerCount: the consumers of every
// destination the names cover, summed. A queue counts its consumers; a
// topic, the subscriptions (and active durable subscriptions) that cover
// the name — for a wildcard name, those that cover the wildcard itself, as
// Pier keeps no list of the topics that exist.
func (b *Broker) consumerCount(kind message.DestKind, names []string) int {
	n := 0
	var qs []*queue
	b.mu.RLock()
	for _, name := range names {
		switch kind {
		case message.Queue:
			if !(message.Destination{Name: name}).IsWildcard() {
				if q := b.mu.queues[name]; q != nil {
					qs = append(qs, q)
				}
				continue
			}
			for qn, q := range b.mu.queues {
				if message.Match(name, qn) {
					qs = append(qs, q)
				}
			}
		case message.TempQueue:
			if q := b.mu.tempQs[message.Destination{Kind: kind, Name: name}]; q != nil {
				qs = append(qs, q)
			}
		default:
			for s := range b.mu.topicSubs {
				if s.dest.Kind == kind && s.matches(name) {
					n++
				}
			}
			for _, d := range b.mu.durables {
				if kind == message.Topic && d.attached() && message.Match(d.sub.Topic, name) {
					n++
				}
			}
		}
	}
	b.mu.RUnlock()
	for _, q := range qs {
		n += q.stats().Consumers
	}
	return n
}

// advisoryMessage builds the advisory message announcing a.
func (b *Broker) advisoryMessage(a *ConsumerAdvisory) *message.Message {
	p := a.properties()
	p[PropOriginBrokerName] = b.cfg.Name
	p[PropOriginBrokerID] = b.id
	return &message.Message{
		ID:   fmt.Sprintf("ID:%s-%s-0:0:0:%d", b.cfg.Name, b.run, b.nextID()),
		Dest: message.Destination{Kind: message.Topic, Name: ConsumerAdvisoryTopic(a.Dest)}, Type: AdvisoryType,
		Priority: message.DefaultPriority, Timestamp: b.now(), BodyKind: message.Plain, Properties: p,
	}
}

// placeAdvisory puts the non-persistent advisory m on the queues of its
// subscribers and makes it visible to dispatch, in the order advisories
// are placed; it returns the queues to kick once no lock is held. Called
// with Broker.adv.mu held. (An advisory is never stored, so it needs none
// of apply's store batch or producer audit.)
func (b *Broker) placeAdvisory(m *message.Message) []*queue {
	qs, err := b.route(nil, m)
	if err != nil {
		b.log.Warn("advisory not published", "dest", m.Dest.String(), "err", err)
		return nil
	}
	placed := qs[:0]
	for _, q := range qs {
		if e, ok := q.enqueue(m, 0); ok {
			q.stabilize([]*entry{e})
			placed = append(placed, q)
		}
	}
	return placed
}

// stabilize makes new entries of messages that are not stored visible to
// dispatch, without dispatching them (the caller kicks q once it holds no
// lock). It is settle for advisories, which are placed under
// Broker.adv.mu.
func (q *queue) stabilize(es []*entry) {
	if len(es) == 0 {
		return
	}
	q.mu.Lock()
	for _, e := range es {
		e.stable = true
	}
	q.mu.Unlock()
}

func kickAll(qs []*queue) {
	for _, q := range qs {
		q.kick()
	}
}
