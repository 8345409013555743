package admin

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// MetricsBroker is what /metrics reads of the broker of the current span
// of service: the core's management interface (*broker.Broker implements
// it). Everything is read at scrape time; no series is registered per
// destination.
type MetricsBroker interface {
	Destinations(q broker.DestQuery) broker.DestPage
	DurableSubscriptions() []broker.DurableInfo
	Overview() broker.Overview
}

// destDescs are the series of one destination kind, labelled with its
// name.
type destDescs struct {
	messages, enqueued, dequeued, expired, consumers, producers, memory *prometheus.Desc
}

func newDestDescs(kind string) destDescs {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("pier_"+kind+"_"+name, help, []string{kind}, nil)
	}
	held := "Messages the queue holds: waiting, and delivered but not yet acknowledged."
	if kind == "topic" {
		held = "Messages the topic's durable subscriptions hold (their backlog)."
	}
	return destDescs{
		messages:  d("messages", held),
		enqueued:  d("enqueued_total", "Messages accepted since this broker became master."),
		dequeued:  d("dequeued_total", "Messages acknowledged (consumed, purged or moved away) since this broker became master."),
		expired:   d("expired_total", "Messages dropped or dead-lettered for expiry since this broker became master."),
		consumers: d("consumers", "Consumers attached."),
		producers: d("producers", "Open producers that named the "+kind+"."),
		memory:    d("memory_bytes", "Bytes of message bodies held in memory."),
	}
}

func (d destDescs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.messages, d.enqueued, d.dequeued, d.expired, d.consumers, d.producers, d.memory}
}

var (
	queueDescs = newDestDescs("queue")
	topicDescs = newDestDescs("topic")

	descDurableMessages = prometheus.NewDesc("pier_durable_messages",
		"Messages the durable subscription holds for its subscriber (its backlog).", []string{"client_id", "subscription"}, nil)
	descDurableOnline = prometheus.NewDesc("pier_durable_online",
		"1 while a consumer is attached to the durable subscription.", []string{"client_id", "subscription"}, nil)

	descConnections = prometheus.NewDesc("pier_connections",
		"Open client connections, by protocol.", []string{"protocol"}, nil)
	descMemoryUsed = prometheus.NewDesc("pier_memory_used_bytes",
		"Bytes of message bodies held in memory, all destinations.", nil, nil)
	descMemoryLimit = prometheus.NewDesc("pier_memory_limit_bytes",
		"The broker's memory limit for message bodies (limits.memory); 0: none.", nil, nil)
	descScheduled = prometheus.NewDesc("pier_scheduled_jobs",
		"Jobs waiting in the scheduler: delayed, repeating and cron messages, redeliveries backing off.", nil, nil)
	descQueues = prometheus.NewDesc("pier_queues",
		"Queues, temporary ones included (the metrics_destinations limit does not apply).", nil, nil)
	descTopics = prometheus.NewDesc("pier_topics",
		"Topics, temporary ones included (the metrics_destinations limit does not apply).", nil, nil)
	descEnqueued = prometheus.NewDesc("pier_enqueued_total",
		"Messages accepted by every destination since this broker became master.", nil, nil)
	descDequeued = prometheus.NewDesc("pier_dequeued_total",
		"Messages acknowledged on every destination since this broker became master.", nil, nil)
	descMasterSince = prometheus.NewDesc("pier_master_since_seconds",
		"Unix time at which this broker's span of service as master began.", nil, nil)
)

func describeBroker(ch chan<- *prometheus.Desc) {
	for _, d := range append(queueDescs.all(), topicDescs.all()...) {
		ch <- d
	}
	for _, d := range []*prometheus.Desc{descDurableMessages, descDurableOnline, descConnections, descMemoryUsed,
		descMemoryLimit, descScheduled, descQueues, descTopics, descEnqueued, descDequeued, descMasterSince} {
		ch <- d
	}
}

// collectBroker sends the broker's series: the whole broker, then every
// destination and durable subscription f lets through.
func collectBroker(ch chan<- prometheus.Metric, b MetricsBroker, f destFilter) {
	o := b.Overview()
	for proto, n := range o.Connections {
		sendGauge(ch, descConnections, float64(n), proto)
	}
	sendGauge(ch, descMemoryUsed, float64(o.MemoryUsed))
	sendGauge(ch, descMemoryLimit, float64(o.MemoryLimit))
	sendGauge(ch, descScheduled, float64(o.ScheduledJobs))
	sendGauge(ch, descQueues, float64(o.Queues))
	sendGauge(ch, descTopics, float64(o.Topics))
	sendCounter(ch, descEnqueued, o.Enqueued)
	sendCounter(ch, descDequeued, o.Dequeued)
	if !o.Started.IsZero() {
		sendGauge(ch, descMasterSince, float64(o.Started.UnixMilli())/1e3)
	}
	collectDestinations(ch, b, f)
	for _, du := range b.DurableSubscriptions() {
		if !f.match(message.Destination{Kind: message.Topic, Name: du.Topic}) {
			continue
		}
		sendGauge(ch, descDurableMessages, float64(du.Backlog), du.ClientID, du.Name)
		sendGauge(ch, descDurableOnline, boolValue(du.Online), du.ClientID, du.Name)
	}
}

// collectDestinations sends the series of every queue and topic f lets
// through, asking the broker for all the names f's queries cover at once
// (a broker may still answer in pages: they are followed).
func collectDestinations(ch chan<- prometheus.Metric, b MetricsBroker, f destFilter) {
	// Pages are read one after the other while destinations come and go,
	// and two queries can cover one destination: it can show up twice,
	// and a series may be sent only once.
	seen := map[message.Destination]bool{}
	for _, q := range f.queries() {
		q.Limit = broker.AllDestinations
		for {
			page := b.Destinations(q)
			for _, d := range page.Items {
				ds := queueDescs
				switch {
				case d.Dest.Kind == message.Topic:
					ds = topicDescs
				case d.Dest.Kind != message.Queue:
					continue // temporary: they come and go with connections
				}
				if seen[d.Dest] || !f.match(d.Dest) {
					continue
				}
				seen[d.Dest] = true
				name := d.Dest.Name
				sendGauge(ch, ds.messages, float64(d.Depth), name)
				sendCounter(ch, ds.enqueued, d.Enqueued, name)
				sendCounter(ch, ds.dequeued, d.Dequeued, name)
				sendCounter(ch, ds.expired, d.Expired, name)
				sendGauge(ch, ds.consumers, float64(d.Consumers), name)
				sendGauge(ch, ds.producers, float64(d.Producers), name)
				sendGauge(ch, ds.memory, float64(d.Memory), name)
			}
			q.Offset += len(page.Items)
			if len(page.Items) == 0 || q.Offset >= page.Total {
				break
			}
		}
	}
}

// sendGauge and sendCounter send one series. A label value Prometheus
// refuses (a destination name that is not UTF-8) makes that series an
// error the handler logs, and the scrape goes on without it.
func sendGauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	send(ch, d, prometheus.GaugeValue, v, labels)
}

func sendCounter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, labels ...string) {
	send(ch, d, prometheus.CounterValue, float64(v), labels)
}

func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

// destFilter is console.metrics_destinations: patterns of queue and topic
// names, with ActiveMQ's wildcards.
type destFilter struct {
	all            bool
	queues, topics []string
}

// newDestFilter reads queue://X and topic://X patterns (the configuration
// checked them); none at all lets everything through.
func newDestFilter(patterns []string) destFilter {
	f := destFilter{all: len(patterns) == 0}
	for _, p := range patterns {
		if name, ok := strings.CutPrefix(p, "queue://"); ok {
			f.queues = append(f.queues, name)
		} else if name, ok := strings.CutPrefix(p, "topic://"); ok {
			f.topics = append(f.topics, name)
		}
	}
	return f
}

// queries returns the broker queries that list every destination f lets
// through: without patterns, one per kind (temporary destinations are
// left to the broker, and queue pages skip the work topics need);
// otherwise one per pattern, of
// its kind and narrowed to the names that contain its longest part without
// a wildcard (the broker drops the others before it sorts), or one for a
// whole kind when a pattern has no such part.
func (f destFilter) queries() []broker.DestQuery {
	if f.all {
		return []broker.DestQuery{{Kind: message.Queue}, {Kind: message.Topic}}
	}
	var qs []broker.DestQuery
	for _, k := range []struct {
		kind     message.DestKind
		patterns []string
	}{{message.Queue, f.queues}, {message.Topic, f.topics}} {
		var kq []broker.DestQuery
		for _, p := range k.patterns {
			lit := ""
			for part := range strings.SplitSeq(p, ".") {
				if part != "*" && part != ">" && len(part) > len(lit) {
					lit = part
				}
			}
			if lit == "" {
				kq = []broker.DestQuery{{Kind: k.kind}}
				break
			}
			kq = append(kq, broker.DestQuery{Kind: k.kind, Contains: lit})
		}
		qs = append(qs, kq...)
	}
	return qs
}

// match reports whether d's series are wanted. A durable subscription's
// topic may itself be a wildcard: it matches a pattern it equals or one
// that covers it part by part.
func (f destFilter) match(d message.Destination) bool {
	if f.all {
		return true
	}
	patterns := f.queues
	if d.Kind == message.Topic {
		patterns = f.topics
	}
	for _, p := range patterns {
		if message.Match(p, d.Name) {
			return true
		}
	}
	return false
}
