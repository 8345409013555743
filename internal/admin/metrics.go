package admin

import (
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions (never changed after init). The bridge metrics are read from Options.Network at
// scrape time, one series per bridge.
var (
	descUp      = prometheus.NewDesc("pier_up", "1 while the broker process runs.", nil, nil)
	descServing = prometheus.NewDesc("pier_serving", "1 when this broker is master and serves clients.", nil, nil)

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
)

// bridgeDesc describes a metric with one series per bridge.
func bridgeDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"connector", "remote"}, nil)
}

// bridgeMetrics is the part of a bridge's status that metrics show, read
// through its JSON encoding so that this package needs no bridge type.
type bridgeMetrics struct {
	Connector string `json:"connector"`
	Remote    string `json:"remote"`
	State     string `json:"state"`
	Demand    int    `json:"demand"`
	Subs      int    `json:"subscriptions"`
	Forwarded int64  `json:"forwarded"`
	Sent      int64  `json:"sent"`
	Connects  int64  `json:"connects"`
}

// stateConnected is the state of a connected bridge (network.StateConnected).
const stateConnected = "connected"

// collector is the server's prometheus.Collector for the broker's own
// metrics.
type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descServing, descBridgeUp, descBridgeDemand,
		descBridgeSubs, descBridgeForwarded, descBridgeSent, descBridgeConnects} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descServing, prometheus.GaugeValue, boolValue(c.s.opts.Ready()))
	raw, err := c.s.bridges()
	var bs []bridgeMetrics
	if err == nil {
		err = json.Unmarshal(raw, &bs)
	}
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descBridgeUp, err)
		return
	}
	for _, b := range bs {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, b.Connector, b.Remote)
		}
		counter := func(d *prometheus.Desc, v int64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), b.Connector, b.Remote)
		}
		gauge(descBridgeUp, boolValue(b.State == stateConnected))
		gauge(descBridgeDemand, float64(b.Demand))
		gauge(descBridgeSubs, float64(b.Subs))
		counter(descBridgeForwarded, b.Forwarded)
		counter(descBridgeSent, b.Sent)
		counter(descBridgeConnects, b.Connects)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
