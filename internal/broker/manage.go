package broker

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/piermq/pier/internal/message"
)

// The management interface: what the console, the REST API, the metrics
// and `pier queue ...` read and do, as methods of Broker. Its data types
// are in manage_types.go; the connections and durable subscriptions are
// in manage_clients.go, deletion of destinations in manage_delete.go, the
// operations on messages in manage_messages.go (taking them out of a queue
// in manage_take.go), the counters in manage_stats.go.

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
	u := b.st.Usage()
	o.StoreUsed, o.StoreLimit, o.StoreMessages = u.Bytes, u.Limit, u.Messages
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
	if q.Limit == AllDestinations {
		// In-process readers that take everything (a metrics scrape)
		// need no order and no second listing per page.
		return DestPage{Total: len(infos), Items: infos}
	}
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
	pending, inflight, consumers := q.waitingLocked(), q.mu.inflight, q.mu.consumers.len()
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
		durs = append(durs, dur{d.sub.Topic, d.q, d.attached()})
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
