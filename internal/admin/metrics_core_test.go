package admin

import (
	"context"
	"fmt"
	"testing"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store/storetest"
)

func startCore(t testing.TB) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{Name: "metrics", MemoryLimit: 64 << 20, MaxRedeliveries: broker.DefaultMaxRedeliveries},
		storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func connectCore(t testing.TB, b *broker.Broker, proto, clientID string) (*broker.Conn, sink) {
	t.Helper()
	d := make(sink, 1000)
	c, err := b.Connect(context.Background(), broker.ConnOptions{ClientID: clientID, Sink: d,
		Credentials: auth.Credentials{Protocol: proto, Remote: "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, d
}

func sendN(t *testing.T, c *broker.Conn, d message.Destination, n int) {
	t.Helper()
	for i := range n {
		m := &message.Message{Dest: d, Body: []byte(fmt.Sprintf("body %d", i)), BodyKind: message.Text, Persistent: true, Priority: 4}
		if err := c.Send(context.Background(), m, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// /metrics against a real broker: the series say what the broker's state
// is after sends, deliveries and acknowledgements.
func TestMetricsRealBroker(t *testing.T) {
	b := startCore(t)
	prod, _ := connectCore(t, b, "openwire", "")
	cons, got := connectCore(t, b, "stomp", "")
	durable, _ := connectCore(t, b, "openwire", "app")

	orders, other, prices := queue("orders.eu"), queue("other"), tdest("prices")
	prod.ProducerOpened(orders)
	if _, err := durable.Subscribe(context.Background(), broker.SubOptions{ID: "d", Dest: prices, DurableName: "feed"}); err != nil {
		t.Fatal(err)
	}
	if err := durable.Unsubscribe("d"); err != nil { // offline; the subscription stays
		t.Fatal(err)
	}
	sendN(t, prod, orders, 5)
	sendN(t, prod, other, 2)
	sendN(t, prod, prices, 4)
	if _, err := cons.Subscribe(context.Background(), broker.SubOptions{ID: "s", Dest: orders, Ack: broker.AckClient}); err != nil {
		t.Fatal(err)
	}
	var ds []*broker.Delivery
	for range 5 {
		ds = append(ds, got.next(t))
	}
	// Client acknowledgement: the second covers the first.
	if err := cons.Ack(context.Background(), "s", ds[1].Tag, "", true); err != nil {
		t.Fatal(err)
	}

	s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{Broker: func() MetricsBroker { return b }}}, nil)
	fams, body := scrapeMetrics(t, s)
	checkSeries(t, fams, []wantSeries{
		{"pier_queue_messages", []string{"queue", "orders.eu"}, 3},
		{"pier_queue_enqueued_total", []string{"queue", "orders.eu"}, 5},
		{"pier_queue_dequeued_total", []string{"queue", "orders.eu"}, 2},
		{"pier_queue_consumers", []string{"queue", "orders.eu"}, 1},
		{"pier_queue_producers", []string{"queue", "orders.eu"}, 1},
		{"pier_queue_messages", []string{"queue", "other"}, 2},
		{"pier_queue_consumers", []string{"queue", "other"}, 0},
		{"pier_topic_enqueued_total", []string{"topic", "prices"}, 4},
		{"pier_topic_messages", []string{"topic", "prices"}, 4},
		{"pier_durable_messages", []string{"client_id", "app", "subscription", "feed"}, 4},
		{"pier_durable_online", []string{"client_id", "app", "subscription", "feed"}, 0},
		{"pier_connections", []string{"protocol", "openwire"}, 2},
		{"pier_connections", []string{"protocol", "stomp"}, 1},
		{"pier_memory_limit_bytes", nil, 64 << 20},
	})
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	// Every queue and topic the broker lists has its series, with the
	// broker's figures.
	o := b.Overview()
	checkSeries(t, fams, []wantSeries{
		{"pier_enqueued_total", nil, float64(o.Enqueued)}, {"pier_dequeued_total", nil, float64(o.Dequeued)},
		{"pier_queues", nil, float64(o.Queues)}, {"pier_topics", nil, float64(o.Topics)},
		{"pier_memory_used_bytes", nil, float64(o.MemoryUsed)},
	})
	for _, d := range b.Destinations(broker.DestQuery{Limit: 1000}).Items {
		kind := "queue"
		if d.Dest.Kind == message.Topic {
			kind = "topic"
		}
		checkSeries(t, fams, []wantSeries{
			{"pier_" + kind + "_messages", []string{kind, d.Dest.Name}, float64(d.Depth)},
			{"pier_" + kind + "_enqueued_total", []string{kind, d.Dest.Name}, float64(d.Enqueued)},
			{"pier_" + kind + "_dequeued_total", []string{kind, d.Dest.Name}, float64(d.Dequeued)},
			{"pier_" + kind + "_memory_bytes", []string{kind, d.Dest.Name}, float64(d.Memory)},
		})
	}

	t.Run("limit", func(t *testing.T) {
		s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{Broker: func() MetricsBroker { return b },
			Destinations: []string{"queue://orders.>"}}}, nil)
		fams, _ := scrapeMetrics(t, s)
		if q := seriesLabels(fams, "pier_queue_messages", "queue"); len(q) != 1 || q[0] != "orders.eu" {
			t.Errorf("queues %q, want [orders.eu]", q)
		}
		for _, name := range []string{"pier_topic_messages", "pier_durable_messages"} {
			if _, ok := fams[name]; ok {
				t.Errorf("%s outside the limit", name)
			}
		}
	})
	t.Run("through Core", func(t *testing.T) {
		s := New(Options{Ready: alwaysReady, Core: func() Core { return b }}, nil)
		fams, _ := scrapeMetrics(t, s)
		checkSeries(t, fams, []wantSeries{
			{"pier_queue_messages", []string{"queue", "orders.eu"}, 3},
			{"pier_durable_messages", []string{"client_id", "app", "subscription", "feed"}, 4},
		})
		s = New(Options{Ready: alwaysReady, Core: func() Core { return nil }}, nil)
		if fams, _ := scrapeMetrics(t, s); fams["pier_queue_messages"] != nil {
			t.Error("queue series without a core")
		}
	})
	t.Run("slave", func(t *testing.T) {
		s := New(Options{Ready: func() bool { return false }, Metrics: MetricsSources{Broker: func() MetricsBroker { return nil }}}, nil)
		fams, _ := scrapeMetrics(t, s)
		for _, name := range []string{"pier_queue_messages", "pier_topic_messages", "pier_durable_messages", "pier_connections"} {
			if _, ok := fams[name]; ok {
				t.Errorf("%s on a slave", name)
			}
		}
	})
}

// BenchmarkMetricsRealBroker10kQueues scrapes /metrics of a broker with
// 10,000 queues holding a message each: every series, and 100 queues by
// pattern.
func BenchmarkMetricsRealBroker10kQueues(b *testing.B) {
	core := startCore(b)
	c, _ := connectCore(b, core, "openwire", "")
	for i := range 10000 {
		m := &message.Message{Dest: queue(fmt.Sprintf("app%02d.orders.q%05d", i%100, i)), Body: []byte("x"),
			BodyKind: message.Text, Persistent: true, Priority: 4}
		if err := c.Send(context.Background(), m, ""); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name     string
		patterns []string
	}{{"all", nil}, {"limit=app07", []string{"queue://app07.>"}}} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{
				Broker: func() MetricsBroker { return core }, Destinations: bc.patterns}}, nil)
			benchScrape(b, s)
		})
	}
}
