package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/piermq/pier/internal/network"
	"github.com/piermq/pier/internal/replication"
	"github.com/piermq/pier/internal/store"
)

// MetricsSources are what /metrics reads at scrape time besides the
// process itself and the bridges. Every field may be left out: its
// series are then absent.
type MetricsSources struct {
	// Broker returns the broker of the current span of service, nil
	// while this broker is not master (a slave reports no destination,
	// connection or memory series, so that sums over a group count each
	// destination once). Return a nil interface then, not a nil
	// *broker.Broker inside one. Nil: Options.Core, the REST API's.
	Broker func() MetricsBroker
	// Destinations limits the per-destination series to the queues and
	// topics matching one of these patterns (queue://orders.>,
	// topic://prices.*; console.metrics_destinations); empty: all. The
	// durable subscriptions of a topic follow the topic's patterns.
	Destinations []string
	// Store returns the store's usage against its limit.
	Store func() store.Usage
	// Meter is the meter handed to the store (journal.Options.Meter,
	// sqlstore.Options.Meter or replication.Config.Meter).
	Meter *store.Meter
	// DataDirs hold the store's files (the journal, the Raft log); their
	// total size is pier_store_disk_bytes.
	DataDirs []string
	// Replica returns this member of a replicated group
	// (*replication.Node), nil before it is open or in other groups.
	Replica func() MetricsReplica
}

// MetricsReplica is a member of a replicated group as /metrics reads it.
type MetricsReplica interface {
	Metrics() replication.Metrics
}

// Metric descriptions (never changed after init). The bridge metrics are read from Options.Network at
// scrape time, one series per bridge.
var (
	descUp      = prometheus.NewDesc("pier_up", "1 while the broker process runs.", nil, nil)
	descServing = prometheus.NewDesc("pier_serving", "1 when this broker is master and serves clients.", nil, nil)
	descInfo    = prometheus.NewDesc("pier_info", "1, labelled with the broker's name and Pier's version.",
		[]string{"broker", "version"}, nil)

	descBridgeUp = bridgeDesc("pier_bridge_up",
		"1 when the network bridge is connected to its remote broker.")
	descBridgeDemand = bridgeDesc("pier_bridge_demand",
		"Remote consumers the network bridge forwards for.")
	descBridgeSubs = bridgeDesc("pier_bridge_subscriptions",
		"The network bridge's subscriptions on this broker.")
	descBridgeForwarded = bridgeDesc("pier_bridge_forwarded_total",
		"Messages the network bridge moved into its outbox.")
	descBridgeSent = bridgeDesc("pier_bridge_sent_total",
		"Outbox entries the remote broker acknowledged (resends included).")
	descBridgeConnects = bridgeDesc("pier_bridge_connects_total",
		"Connections the network bridge made to its remote broker.")
	descBridgeDead = bridgeDesc("pier_bridge_dead_lettered_total",
		"Outbox entries dead-lettered on this broker: no form on the remote broker, or refused by it.")
)

// bridgeDesc describes a metric with one series per bridge.
func bridgeDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"connector", "remote"}, nil)
}

// collector is the server's prometheus.Collector for the broker's own
// metrics.
type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descServing, descInfo, descBridgeUp, descBridgeDemand,
		descBridgeSubs, descBridgeForwarded, descBridgeSent, descBridgeConnects, descBridgeDead} {
		ch <- d
	}
	describeBroker(ch)
	describeStore(ch)
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descServing, prometheus.GaugeValue, boolValue(c.s.opts.Ready()))
	if o := c.s.opts; o.Name != "" || o.Version != "" {
		sendGauge(ch, descInfo, 1, o.Name, o.Version)
	}
	bs := c.s.bridges()
	for _, b := range bs {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, b.Connector, b.Remote)
		}
		counter := func(d *prometheus.Desc, v int64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), b.Connector, b.Remote)
		}
		gauge(descBridgeUp, boolValue(b.State == network.StateConnected))
		gauge(descBridgeDemand, float64(b.Demand))
		gauge(descBridgeSubs, float64(b.Subs))
		counter(descBridgeForwarded, b.Forwarded)
		counter(descBridgeSent, b.Sent)
		counter(descBridgeConnects, b.Connects)
		counter(descBridgeDead, b.DeadLettered)
	}
	src := c.s.opts.Metrics
	if c.s.opts.Ready() {
		if b := c.s.metricsBroker(); b != nil {
			collectBroker(ch, b, newDestFilter(src.Destinations))
		}
	}
	collectStore(ch, src)
}

// metricsBroker returns the broker of the current span of service, nil
// when there is none.
func (s *Server) metricsBroker() MetricsBroker {
	if f := s.opts.Metrics.Broker; f != nil {
		return f()
	}
	if s.opts.Core != nil {
		if c := s.opts.Core(); c != nil {
			return c
		}
	}
	return nil
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
