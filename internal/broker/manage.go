package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// The management interface: what the console, the REST API, the metrics
// and `pier queue ...` read and do, as methods of Broker. Its data types
// are in manage_types.go, the operations on messages in
// manage_messages.go, the counters in manage_stats.go.

// Errors of the management interface (besides ErrNoSuchDurable and
// ErrDurableInUse).
var (
	ErrNoSuchDestination = errors.New("broker: no such destination")
	ErrNoSuchConnection  = errors.New("broker: no such connection")
	ErrNotDeadLetter     = errors.New("broker: message has no original destination to retry to")
)

// Closer is what a Sink may also implement so that the management
// interface can end the client's connection (CloseConnection): the adapter
// tells the client why, in its protocol, and closes the socket. It must
// not call back into the broker's management interface.
type Closer interface {
	CloseFromBroker(reason string)
}

// AdminCloseReason is the reason CloseConnection gives a Closer.
const AdminCloseReason = "closed by an administrator"

// Overview returns the broker as a whole. Queues counts queues and
// temporary queues, Topics topics and temporary topics; Enqueued and
// Dequeued are summed over them (DestInfo).
func (b *Broker) Overview() Overview {
	o := Overview{Name: b.cfg.Name, ID: b.id, Started: time.Unix(0, b.start), Connections: map[string]int{},
		MemoryUsed: b.mem.used.Load(), MemoryLimit: b.mem.limit, ScheduledJobs: b.sched.pending()}
	b.mu.RLock()
	for c := range b.mu.conns {
		o.Connections[c.protocol()]++
	}
	for _, q := range b.mu.queues {
		o.Enqueued += q.ctr.enqueued.Load()
		o.Dequeued += q.ctr.dequeued.Load()
	}
	for _, q := range b.mu.tempQs {
		o.Enqueued += q.ctr.enqueued.Load()
		o.Dequeued += q.ctr.dequeued.Load()
	}
	o.Queues = len(b.mu.queues) + len(b.mu.tempQs)
	o.Topics = len(b.mu.temps) - len(b.mu.tempQs)
	b.mu.RUnlock()
	topics := b.topicStats.snapshot()
	o.Topics += len(topics)
	for _, c := range topics {
		o.Enqueued += c.enqueued.Load()
		o.Dequeued += c.dequeued.Load()
	}
	return o
}

// Destinations returns a page of the destinations of q.Kind (0: all)
// whose names contain q.Contains, sorted as q asks.
func (b *Broker) Destinations(q DestQuery) DestPage {
	infos := b.destInfos(q.Kind, q.Contains)
	slices.SortFunc(infos, destOrder(q.Sort, q.Desc))
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	off := min(max(q.Offset, 0), len(infos))
	end := min(off+limit, len(infos))
	return DestPage{Total: len(infos), Items: slices.Clone(infos[off:end])}
}

// destOrder compares destinations by the named field, then by name (and
// kind).
func destOrder(field string, desc bool) func(x, y DestInfo) int {
	key := func(d DestInfo) int64 { return 0 }
	switch field {
	case "depth":
		key = func(d DestInfo) int64 { return d.Depth }
	case "enqueued":
		key = func(d DestInfo) int64 { return int64(d.Enqueued) }
	case "dequeued":
		key = func(d DestInfo) int64 { return int64(d.Dequeued) }
	case "consumers":
		key = func(d DestInfo) int64 { return int64(d.Consumers) }
	}
	return func(x, y DestInfo) int {
		c := cmp.Or(cmp.Compare(key(x), key(y)), strings.Compare(x.Dest.Name, y.Dest.Name),
			cmp.Compare(x.Dest.Kind, y.Dest.Kind))
		if desc {
			return -c
		}
		return c
	}
}

// Destination returns one destination.
func (b *Broker) Destination(d message.Destination) (DestInfo, bool) {
	for _, in := range b.destInfos(d.Kind, d.Name) {
		if in.Dest == d {
			return in, true
		}
	}
	return DestInfo{}, false
}

// destInfos returns every destination of kind (0: all) whose name
// contains sub (any case).
func (b *Broker) destInfos(kind message.DestKind, sub string) []DestInfo {
	want := func(d message.Destination) bool {
		return (kind == 0 || d.Kind == kind) && containsFold(d.Name, sub)
	}
	var qs []*queue
	var temps []message.Destination
	b.mu.RLock()
	for _, q := range b.mu.queues {
		if want(q.dest) {
			qs = append(qs, q)
		}
	}
	for d, q := range b.mu.tempQs {
		if want(d) {
			qs = append(qs, q)
		}
	}
	for d := range b.mu.temps {
		if d.Kind == message.TempTopic && want(d) {
			temps = append(temps, d)
		}
	}
	b.mu.RUnlock()
	out := make([]DestInfo, 0, len(qs))
	for _, q := range qs {
		out = append(out, q.info())
	}
	if kind != 0 && !kind.IsTopic() {
		return out
	}
	loads := b.topicLoads()
	for name, c := range b.topicStats.snapshot() {
		d := message.Destination{Kind: message.Topic, Name: name}
		if want(d) {
			out = append(out, loads.info(d, c))
		}
	}
	for _, d := range temps {
		out = append(out, loads.info(d, &counters{}))
	}
	return out
}

// containsFold reports whether s contains sub, in any case (ASCII).
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// info returns the queue as the management interface shows it.
func (q *queue) info() DestInfo {
	q.mu.Lock()
	pending, inflight, consumers := q.mu.pending.len(), q.mu.inflight, q.mu.consumers.len()
	q.mu.Unlock()
	return DestInfo{Dest: q.dest, Depth: int64(pending + inflight), InFlight: int64(inflight),
		Enqueued: q.ctr.enqueued.Load(), Dequeued: q.ctr.dequeued.Load(), Expired: q.ctr.expired.Load(),
		Consumers: consumers, Producers: int(q.ctr.producers.Load()), Memory: q.ctr.memory.Load()}
}

// load is what a topic's subscriptions hold: the subscriptions (active
// durable ones included) and the backlog of its durable subscriptions.
type load struct {
	consumers       int
	depth, inflight int64
}

// topicLoad is the load of the topic subscriptions, by subscribed name;
// those with wildcards are matched against each topic.
type topicLoad struct {
	exact map[message.Destination]*load
	wild  []wildLoad
}

type wildLoad struct {
	dest message.Destination // a wildcard pattern
	load
}

// topicLoads gathers the load of every topic subscription, in time
// proportional to the subscriptions.
func (b *Broker) topicLoads() topicLoad {
	l := topicLoad{exact: map[message.Destination]*load{}}
	type dur struct {
		topic  string
		q      *queue
		active bool
	}
	var durs []dur
	b.mu.RLock()
	for s := range b.mu.topicSubs {
		for _, p := range s.patterns {
			l.add(message.Destination{Kind: s.dest.Kind, Name: p}, load{consumers: 1})
		}
	}
	for _, d := range b.mu.durables {
		durs = append(durs, dur{d.sub.Topic, d.q, d.active != nil})
	}
	b.mu.RUnlock()
	for _, d := range durs {
		st := d.q.stats()
		ld := load{depth: int64(st.Pending + st.InFlight), inflight: int64(st.InFlight)}
		if d.active {
			ld.consumers = 1
		}
		l.add(message.Destination{Kind: message.Topic, Name: d.topic}, ld)
	}
	return l
}

func (l *topicLoad) add(d message.Destination, ld load) {
	if d.IsWildcard() {
		l.wild = append(l.wild, wildLoad{d, ld})
		return
	}
	x := l.exact[d]
	if x == nil {
		x = new(load)
		l.exact[d] = x
	}
	x.consumers += ld.consumers
	x.depth += ld.depth
	x.inflight += ld.inflight
}

// info returns topic d as the management interface shows it.
func (l *topicLoad) info(d message.Destination, c *counters) DestInfo {
	var ld load
	if x := l.exact[d]; x != nil {
		ld = *x
	}
	for _, w := range l.wild {
		if w.dest.Kind == d.Kind && message.Match(w.dest.Name, d.Name) {
			ld.consumers += w.consumers
			ld.depth += w.depth
			ld.inflight += w.inflight
		}
	}
	return DestInfo{Dest: d, Depth: ld.depth, InFlight: ld.inflight, Enqueued: c.enqueued.Load(),
		Dequeued: c.dequeued.Load(), Expired: c.expired.Load(), Consumers: ld.consumers,
		Producers: int(c.producers.Load()), Memory: c.memory.Load()}
}

// protocol returns what the connection's adapter called its protocol.
func (c *Conn) protocol() string {
	if c.proto == "" {
		return "unknown"
	}
	return c.proto
}

// Connections returns the open connections, oldest first.
func (b *Broker) Connections() []ConnInfo {
	b.mu.RLock()
	conns := make([]*Conn, 0, len(b.mu.conns))
	for c := range b.mu.conns {
		conns = append(conns, c)
	}
	b.mu.RUnlock()
	out := make([]ConnInfo, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		subs := len(c.mu.subs)
		c.mu.Unlock()
		out = append(out, ConnInfo{ID: c.name, Protocol: c.protocol(), Remote: c.remote, User: c.subject.User,
			ClientID: c.clientID, Since: c.since, Consumers: subs, Producers: c.producerCount()})
	}
	slices.SortFunc(out, func(x, y ConnInfo) int {
		return cmp.Or(x.Since.Compare(y.Since), strings.Compare(x.ID, y.ID))
	})
	return out
}

// CloseConnection closes the connection with id (ConnInfo.ID): its sink,
// if a Closer, tells the client and closes the socket; the connection is
// then closed in the broker (its unacknowledged messages are redelivered).
func (b *Broker) CloseConnection(id string) error {
	var c *Conn
	b.mu.RLock()
	for x := range b.mu.conns {
		if x.name == id {
			c = x
			break
		}
	}
	b.mu.RUnlock()
	if c == nil {
		return fmt.Errorf("%w: %s", ErrNoSuchConnection, id)
	}
	if k, ok := c.sink.(Closer); ok {
		k.CloseFromBroker(AdminCloseReason)
	}
	c.Close()
	return nil
}

// DurableSubscriptions returns the durable subscriptions, by client id and
// name.
func (b *Broker) DurableSubscriptions() []DurableInfo {
	type dur struct {
		sub    store.Subscription
		q      *queue
		online bool
	}
	b.mu.RLock()
	durs := make([]dur, 0, len(b.mu.durables))
	for _, d := range b.mu.durables {
		durs = append(durs, dur{d.sub, d.q, d.active != nil})
	}
	b.mu.RUnlock()
	out := make([]DurableInfo, 0, len(durs))
	for _, d := range durs {
		st := d.q.stats()
		out = append(out, DurableInfo{ClientID: d.sub.ClientID, Name: d.sub.Name, Topic: d.sub.Topic,
			Selector: d.sub.Selector, Backlog: int64(st.Pending + st.InFlight), Online: d.online})
	}
	slices.SortFunc(out, func(x, y DurableInfo) int {
		return cmp.Or(strings.Compare(x.ClientID, y.ClientID), strings.Compare(x.Name, y.Name))
	})
	return out
}

// DeleteDurable deletes a durable subscription and its stored messages.
// One with a consumer attached is not deleted (ErrDurableInUse), as in
// ActiveMQ; an unknown one is ErrNoSuchDurable.
func (b *Broker) DeleteDurable(ctx context.Context, clientID, name string) error {
	return b.deleteDurable(ctx, clientID, name, "")
}

// DeleteDestination deletes a destination. A queue's messages go, from
// the store too; its consumers stay open but are detached, and attached
// again if the queue is made again (as ActiveMQ's removeQueue). A topic
// holds nothing: its counters go (it is listed again once used) and its
// subscriptions, durable ones included, stay. A temporary destination is
// deleted as its connection would.
func (b *Broker) DeleteDestination(ctx context.Context, d message.Destination) error {
	switch d.Kind {
	case message.Queue:
		return b.deleteQueue(ctx, d.Name)
	case message.Topic:
		if !b.topicStats.remove(d.Name) {
			return fmt.Errorf("%w: %s", ErrNoSuchDestination, d)
		}
		return nil
	case message.TempQueue, message.TempTopic:
		b.mu.RLock()
		owner := b.mu.temps[d]
		b.mu.RUnlock()
		if owner == nil {
			return fmt.Errorf("%w: %s", ErrNoSuchDestination, d)
		}
		if err := owner.DeleteTemp(d); err != nil {
			return fmt.Errorf("%w: %s", ErrNoSuchDestination, d)
		}
		return nil
	}
	return fmt.Errorf("%w: %v", message.ErrBadDestination, d)
}

// deleteQueue removes a queue from the broker, detaches its consumers and
// removes its stored messages (in flight ones too).
func (b *Broker) deleteQueue(ctx context.Context, name string) error {
	b.mu.Lock()
	q := b.mu.queues[name]
	if q == nil {
		b.mu.Unlock()
		return fmt.Errorf("%w: queue://%s", ErrNoSuchDestination, name)
	}
	delete(b.mu.queues, name)
	b.unregisterVirtualLocked(q)
	subs := q.consumerSlice()
	for _, s := range subs {
		if !s.matchesWild(name) { // a wildcard consumer comes back on its own
			if b.mu.detached == nil {
				b.mu.detached = map[string][]*Subscription{}
			}
			b.mu.detached[name] = append(b.mu.detached[name], s)
		}
	}
	b.mu.Unlock()
	q.delete()
	for _, s := range subs {
		s.detach(q)
		q.removeConsumer(s) // its groups' records go
	}
	q.releaseHeldGroups() // so are those of groups waiting for their consumers
	if q.key == "" {
		return nil
	}
	// After the queue is marked deleted: what is stored now is all it
	// will have (a write still in progress removes its own, see settle).
	if err := b.wipe(ctx, q.key); err != nil {
		return fmt.Errorf("broker: delete queue %s: %w (deleted here; the rest of its stored messages come back at the next start)", name, err)
	}
	return nil
}

// wipe removes every message stored under key, a page at a time.
func (b *Broker) wipe(ctx context.Context, key string) error {
	var after uint64
	for {
		recs, err := b.st.Scan(ctx, key, after, 1000, 4<<20)
		if err != nil || len(recs) == 0 {
			return err
		}
		var batch store.Batch
		for _, r := range recs {
			batch.Remove(key, r.Seq)
			after = r.Seq
		}
		if err := b.st.Apply(ctx, &batch); err != nil {
			return err
		}
	}
}

// unregisterVirtualLocked forgets a deleted consumer queue of a virtual
// topic, and its record. Called with b.mu held.
func (b *Broker) unregisterVirtualLocked(q *queue) {
	topic, ok := virtualTopicOf(q.dest.Name)
	if !ok {
		return
	}
	b.records.del(virtualRecord(q.dest.Name))
	qs := slices.DeleteFunc(slices.Clone(b.mu.virtual[topic]), func(x *queue) bool { return x == q })
	if len(qs) == 0 {
		delete(b.mu.virtual, topic)
	} else {
		b.mu.virtual[topic] = qs
	}
}

// consumerSlice returns the queue's consumers.
func (q *queue) consumerSlice() []*Subscription {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*Subscription
	for _, bd := range q.mu.consumers.bands {
		out = append(out, bd.subs...)
	}
	return out
}

// detach forgets that s consumes from q.
func (s *Subscription) detach(q *queue) {
	s.mu.Lock()
	s.mu.queues = slices.DeleteFunc(s.mu.queues, func(x *queue) bool { return x == q })
	s.mu.Unlock()
}

// reattachLocked attaches to a queue made again the consumers detached
// when it was deleted. Called with b.mu held.
func (b *Broker) reattachLocked(q *queue) {
	subs, ok := b.mu.detached[q.dest.Name]
	if !ok {
		return
	}
	delete(b.mu.detached, q.dest.Name)
	for _, s := range subs {
		s.attach(q)
		q.addConsumer(s)
	}
}

// forgetDetachedLocked drops a closing subscription from the detached
// consumers. Called with b.mu held.
func (b *Broker) forgetDetachedLocked(s *Subscription) {
	if len(b.mu.detached) == 0 {
		return
	}
	for _, p := range s.patterns {
		subs := slices.DeleteFunc(b.mu.detached[p], func(x *Subscription) bool { return x == s })
		if len(subs) == 0 {
			delete(b.mu.detached, p)
		} else {
			b.mu.detached[p] = subs
		}
	}
}

// forget removes from the store entries written to a queue as it was
// deleted.
func (q *queue) forget(es []*entry) {
	if len(es) == 0 {
		return
	}
	ops := make([]store.Op, 0, len(es))
	for _, e := range es {
		ops = append(ops, store.Op{Kind: store.OpRemove, Dest: q.key, Seq: e.seq})
	}
	q.b.acks.push(ops, nil)
}
