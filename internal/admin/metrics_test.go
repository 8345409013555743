package admin

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/replication"
	"github.com/piermq/pier/internal/store"
)

// fakeMetricsCore is a MetricsBroker over fixed data. Destinations pages through
// dests (kept in name order) as the broker does; between pages it calls
// shift, if set, to play destinations coming and going.
type fakeMetricsCore struct {
	dests    []broker.DestInfo
	durables []broker.DurableInfo
	overview broker.Overview
	shift    func(f *fakeMetricsCore)
	pages    int
}

func (f *fakeMetricsCore) Destinations(q broker.DestQuery) broker.DestPage {
	if f.pages > 0 && f.shift != nil {
		f.shift(f)
	}
	f.pages++
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var match []broker.DestInfo
	for _, d := range f.dests {
		if (q.Kind == 0 || d.Dest.Kind == q.Kind) && strings.Contains(strings.ToLower(d.Dest.Name), strings.ToLower(q.Contains)) {
			match = append(match, d)
		}
	}
	lo := min(q.Offset, len(match))
	hi := min(lo+limit, len(match))
	return broker.DestPage{Total: len(match), Items: match[lo:hi]}
}

func (f *fakeMetricsCore) DurableSubscriptions() []broker.DurableInfo { return f.durables }
func (f *fakeMetricsCore) Overview() broker.Overview                  { return f.overview }

func tdest(name string) message.Destination {
	return message.Destination{Kind: message.Topic, Name: name}
}

func newFakeMetricsCore() *fakeMetricsCore {
	return &fakeMetricsCore{
		dests: []broker.DestInfo{
			{Dest: queue("ActiveMQ.DLQ"), Depth: 7, Enqueued: 7},
			{Dest: queue("billing"), Depth: 1, InFlight: 1, Enqueued: 5, Dequeued: 4, Consumers: 1, Memory: 10},
			{Dest: queue("orders.eu"), Depth: 3, Enqueued: 10, Dequeued: 7, Expired: 2, Consumers: 2, Producers: 1, Memory: 300},
			{Dest: queue("orders.us"), Depth: 0, Enqueued: 1, Dequeued: 1},
			{Dest: tdest("prices.eu"), Depth: 4, Enqueued: 20, Dequeued: 36, Consumers: 3, Producers: 2, Memory: 40},
			{Dest: tdest("prices.us"), Enqueued: 2},
			{Dest: message.Destination{Kind: message.TempQueue, Name: "ID:c1:1"}, Depth: 1},
		},
		durables: []broker.DurableInfo{
			{ClientID: "app", Name: "eu", Topic: "prices.eu", Backlog: 4, Online: true},
			{ClientID: "app", Name: "all", Topic: "prices.>", Backlog: 9},
			{ClientID: "audit", Name: "us", Topic: "prices.us"},
		},
		overview: broker.Overview{
			Started:     time.Unix(1700000000, 500e6),
			Connections: map[string]int{"openwire": 3, "stomp": 1},
			MemoryUsed:  350, MemoryLimit: 1 << 20, Queues: 4, Topics: 2, ScheduledJobs: 5,
			Enqueued: 45, Dequeued: 48,
		},
	}
}

// scrape serves /metrics on s and parses it with Prometheus's text parser.
func scrapeMetrics(t testing.TB, s *Server) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams, body
}

// series returns the value of name{labels} (pairs of name, value), and
// whether the family has that series.
func seriesValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			if !slices.ContainsFunc(m.Label, func(l *dto.LabelPair) bool {
				return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}) {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// labelValues lists the values of label in the family's series.
func seriesLabels(fams map[string]*dto.MetricFamily, name, label string) []string {
	var out []string
	if f := fams[name]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label {
					out = append(out, l.GetValue())
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

type wantSeries struct {
	name   string
	labels []string
	value  float64
}

func checkSeries(t *testing.T, fams map[string]*dto.MetricFamily, wants []wantSeries) {
	t.Helper()
	for _, w := range wants {
		v, ok := seriesValue(fams, w.name, w.labels...)
		if !ok {
			t.Errorf("%s%q: missing", w.name, w.labels)
		} else if v != w.value {
			t.Errorf("%s%q = %v, want %v", w.name, w.labels, v, w.value)
		}
	}
}

func alwaysReady() bool { return true }

func TestMetricsBroker(t *testing.T) {
	core := newFakeMetricsCore()
	s := New(Options{Ready: alwaysReady, Name: "east", Version: "1.2.3",
		Metrics: MetricsSources{Broker: func() MetricsBroker { return core }}}, nil)
	fams, _ := scrapeMetrics(t, s)
	checkSeries(t, fams, []wantSeries{
		{"pier_info", []string{"broker", "east", "version", "1.2.3"}, 1},
		{"pier_queue_messages", []string{"queue", "orders.eu"}, 3},
		{"pier_queue_enqueued_total", []string{"queue", "orders.eu"}, 10},
		{"pier_queue_dequeued_total", []string{"queue", "orders.eu"}, 7},
		{"pier_queue_expired_total", []string{"queue", "orders.eu"}, 2},
		{"pier_queue_consumers", []string{"queue", "orders.eu"}, 2},
		{"pier_queue_producers", []string{"queue", "orders.eu"}, 1},
		{"pier_queue_memory_bytes", []string{"queue", "orders.eu"}, 300},
		{"pier_queue_messages", []string{"queue", "ActiveMQ.DLQ"}, 7},
		{"pier_queue_messages", []string{"queue", "orders.us"}, 0},
		{"pier_topic_messages", []string{"topic", "prices.eu"}, 4},
		{"pier_topic_enqueued_total", []string{"topic", "prices.eu"}, 20},
		{"pier_topic_dequeued_total", []string{"topic", "prices.eu"}, 36},
		{"pier_topic_consumers", []string{"topic", "prices.eu"}, 3},
		{"pier_topic_producers", []string{"topic", "prices.eu"}, 2},
		{"pier_topic_memory_bytes", []string{"topic", "prices.eu"}, 40},
		{"pier_durable_messages", []string{"client_id", "app", "subscription", "eu"}, 4},
		{"pier_durable_online", []string{"client_id", "app", "subscription", "eu"}, 1},
		{"pier_durable_messages", []string{"client_id", "app", "subscription", "all"}, 9},
		{"pier_durable_online", []string{"client_id", "app", "subscription", "all"}, 0},
		{"pier_connections", []string{"protocol", "openwire"}, 3},
		{"pier_connections", []string{"protocol", "stomp"}, 1},
		{"pier_memory_used_bytes", nil, 350},
		{"pier_memory_limit_bytes", nil, 1 << 20},
		{"pier_scheduled_jobs", nil, 5},
		{"pier_queues", nil, 4},
		{"pier_topics", nil, 2},
		{"pier_enqueued_total", nil, 45},
		{"pier_dequeued_total", nil, 48},
		{"pier_master_since_seconds", nil, 1700000000.5},
		{"pier_serving", nil, 1},
	})
	if got := seriesLabels(fams, "pier_queue_messages", "queue"); !slices.Equal(got, []string{"ActiveMQ.DLQ", "billing", "orders.eu", "orders.us"}) {
		t.Errorf("queues %q (temporary ones have no series)", got)
	}
	for name, typ := range map[string]dto.MetricType{
		"pier_queue_enqueued_total": dto.MetricType_COUNTER, "pier_queue_messages": dto.MetricType_GAUGE,
		"pier_topic_expired_total": dto.MetricType_COUNTER, "pier_durable_messages": dto.MetricType_GAUGE,
	} {
		if f := fams[name]; f == nil || f.GetType() != typ || f.GetHelp() == "" {
			t.Errorf("%s: %v, want type %v with help", name, f, typ)
		}
	}
}

func TestMetricsDestinationLimit(t *testing.T) {
	tests := []struct {
		patterns       []string
		queues, topics []string
		durables       []string // subscription names
	}{
		{nil, []string{"ActiveMQ.DLQ", "billing", "orders.eu", "orders.us"}, []string{"prices.eu", "prices.us"}, []string{"all", "eu", "us"}},
		{[]string{"queue://orders.>"}, []string{"orders.eu", "orders.us"}, nil, nil},
		{[]string{"queue://orders.*", "queue://ActiveMQ.DLQ"}, []string{"ActiveMQ.DLQ", "orders.eu", "orders.us"}, nil, nil},
		{[]string{"queue://orders"}, nil, nil, nil},
		{[]string{"queue://*.eu", "topic://*.eu"}, []string{"orders.eu"}, []string{"prices.eu"}, []string{"eu"}},
		{[]string{"topic://prices.>"}, nil, []string{"prices.eu", "prices.us"}, []string{"all", "eu", "us"}},
		{[]string{"topic://>"}, nil, []string{"prices.eu", "prices.us"}, []string{"all", "eu", "us"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.patterns, ","), func(t *testing.T) {
			core := newFakeMetricsCore()
			s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{
				Broker: func() MetricsBroker { return core }, Destinations: tc.patterns}}, nil)
			fams, _ := scrapeMetrics(t, s)
			for _, c := range []struct {
				family, label string
				want          []string
			}{
				{"pier_queue_messages", "queue", tc.queues}, {"pier_queue_dequeued_total", "queue", tc.queues},
				{"pier_topic_messages", "topic", tc.topics}, {"pier_topic_consumers", "topic", tc.topics},
				{"pier_durable_messages", "subscription", tc.durables}, {"pier_durable_online", "subscription", tc.durables},
			} {
				if got := seriesLabels(fams, c.family, c.label); !slices.Equal(got, c.want) {
					t.Errorf("%s: %q, want %q", c.family, got, c.want)
				}
			}
			// The broker as a whole is not limited.
			checkSeries(t, fams, []wantSeries{{"pier_queues", nil, 4}, {"pier_enqueued_total", nil, 45}})
		})
	}
}

// A destination name Prometheus cannot carry costs its own series, not
// the scrape.
func TestMetricsBadName(t *testing.T) {
	core := newFakeMetricsCore()
	core.dests = append(core.dests, broker.DestInfo{Dest: queue("bad\xff"), Depth: 1})
	var logged bytes.Buffer
	s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{Broker: func() MetricsBroker { return core }}},
		slog.New(slog.NewTextHandler(&logged, nil)))
	fams, _ := scrapeMetrics(t, s)
	if got := seriesLabels(fams, "pier_queue_messages", "queue"); !slices.Equal(got, []string{"ActiveMQ.DLQ", "billing", "orders.eu", "orders.us"}) {
		t.Errorf("queues %q", got)
	}
	checkSeries(t, fams, []wantSeries{{"pier_topic_messages", []string{"topic", "prices.eu"}, 4}})
	if !strings.Contains(logged.String(), "UTF-8") {
		t.Errorf("the refused series is not logged: %q", logged.String())
	}
}

// The broker is asked only for names that can match: a pattern's longest
// part without a wildcard narrows its query.
func TestMetricsFilterQueries(t *testing.T) {
	tests := []struct {
		patterns []string
		want     []broker.DestQuery
	}{
		{nil, []broker.DestQuery{{Kind: message.Queue}, {Kind: message.Topic}}},
		{[]string{"queue://orders.>"}, []broker.DestQuery{{Kind: message.Queue, Contains: "orders"}}},
		{[]string{"queue://*.billing.eu", "topic://prices"},
			[]broker.DestQuery{{Kind: message.Queue, Contains: "billing"}, {Kind: message.Topic, Contains: "prices"}}},
		{[]string{"queue://a.>", "queue://*.*", "topic://x.*"},
			[]broker.DestQuery{{Kind: message.Queue}, {Kind: message.Topic, Contains: "x"}}},
		{[]string{"topic://>"}, []broker.DestQuery{{Kind: message.Topic}}},
	}
	for _, tc := range tests {
		if got := newDestFilter(tc.patterns).queries(); !slices.Equal(got, tc.want) {
			t.Errorf("%q: queries %+v, want %+v", tc.patterns, got, tc.want)
		}
	}
}

// A slave, or a master whose span of service is over, reports no broker
// series: summed over a group, each destination counts once.
func TestMetricsSlave(t *testing.T) {
	core := newFakeMetricsCore()
	for _, tc := range []struct {
		name  string
		ready bool
		core  MetricsBroker
	}{
		{"no broker", false, nil},
		{"not serving", false, core},
		{"serving, broker gone", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meter := new(store.Meter)
			meter.Synced()
			s := New(Options{Ready: func() bool { return tc.ready }, Metrics: MetricsSources{
				Broker: func() MetricsBroker { return tc.core },
				Meter:  meter,
			}}, nil)
			fams, body := scrapeMetrics(t, s)
			for name := range fams {
				for _, p := range []string{"pier_queue", "pier_topic", "pier_durable", "pier_connections", "pier_memory", "pier_scheduled", "pier_enqueued"} {
					if strings.HasPrefix(name, p) {
						t.Errorf("%s on a broker that does not serve:\n%s", name, body)
					}
				}
			}
			checkSeries(t, fams, []wantSeries{{"pier_serving", nil, boolValue(tc.ready)}, {"pier_store_syncs_total", nil, 1}})
		})
	}
}

// Destinations created between two pages shift the later pages: a series
// must still be sent once (a second copy fails the whole scrape).
func TestMetricsPagesShift(t *testing.T) {
	core := &fakeMetricsCore{overview: broker.Overview{Connections: map[string]int{}}}
	for i := range 2500 {
		core.dests = append(core.dests, broker.DestInfo{Dest: queue(fmt.Sprintf("q%05d", i)), Depth: int64(i)})
	}
	core.shift = func(f *fakeMetricsCore) {
		// Two new queues sort before every other one.
		n := f.pages
		f.dests = append([]broker.DestInfo{{Dest: queue(fmt.Sprintf("a%d", 2*n))}, {Dest: queue(fmt.Sprintf("a%d", 2*n+1))}}, f.dests...)
	}
	s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{Broker: func() MetricsBroker { return core }}}, nil)
	fams, _ := scrapeMetrics(t, s)
	got := seriesLabels(fams, "pier_queue_messages", "queue")
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("duplicate series")
	}
	if len(got) < 2500 {
		t.Errorf("%d queue series, want every one of the 2500 that existed throughout", len(got))
	}
	if v, ok := seriesValue(fams, "pier_queue_messages", "queue", "q02499"); !ok || v != 2499 {
		t.Errorf("q02499: %v %v", v, ok)
	}
}

func TestMetricsStore(t *testing.T) {
	meter := new(store.Meter)
	for _, d := range []time.Duration{200 * time.Microsecond, 2 * time.Millisecond, 30 * time.Millisecond} {
		meter.Committed(d)
	}
	meter.Grouped(1)
	meter.Grouped(5)
	meter.Synced()
	meter.Synced()
	dir := t.TempDir()
	for name, size := range map[string]int{"0000000001.seg": 1000, "checkpoint": 24, "raft/log/0001.seg": 500} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{
		Store:    func() store.Usage { return store.Usage{Bytes: 900, Limit: 1 << 30, Messages: 12} },
		Meter:    meter,
		DataDirs: []string{filepath.Join(dir, "raft"), dir, filepath.Join(dir, "absent"), dir + "/", ""},
	}}, nil)
	fams, _ := scrapeMetrics(t, s)
	checkSeries(t, fams, []wantSeries{
		{"pier_store_bytes", nil, 900},
		{"pier_store_limit_bytes", nil, 1 << 30},
		{"pier_store_messages", nil, 12},
		{"pier_store_disk_bytes", nil, 1524},
		{"pier_store_syncs_total", nil, 2},
	})
	h := fams["pier_store_commit_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() < 0.0322-1e-6 || h.GetSampleSum() > 0.0322+1e-6 {
		t.Errorf("commit histogram: count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	buckets := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		buckets[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	if buckets[0.0001] != 0 || buckets[0.00025] != 1 || buckets[0.0025] != 2 || buckets[0.025] != 2 || buckets[0.05] != 3 {
		t.Errorf("commit buckets %v", buckets)
	}
	g := fams["pier_store_group_batches"].GetMetric()[0].GetHistogram()
	if g.GetSampleCount() != 2 || g.GetSampleSum() != 6 {
		t.Errorf("group histogram: count %d sum %v", g.GetSampleCount(), g.GetSampleSum())
	}
	if fams["pier_store_commit_seconds"].GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("commit seconds: type %v", fams["pier_store_commit_seconds"].GetType())
	}
}

type fakeReplica struct{ m replication.Metrics }

func (f fakeReplica) Metrics() replication.Metrics { return f.m }

func TestMetricsReplica(t *testing.T) {
	leader := replication.Metrics{
		Status:  replication.Status{State: "Leader", Term: 4, LastIndex: 120, CommitIndex: 118, AppliedIndex: 117},
		Members: 3,
		Followers: []replication.Follower{
			{ID: "b", Up: true, LastIndex: 100, Lag: 20},
			{ID: "c"},
		},
	}
	follower := replication.Metrics{
		Status:       replication.Status{State: "Follower", Term: 4, LastIndex: 100, CommitIndex: 99, AppliedIndex: 98},
		Members:      3,
		SinceContact: 1500 * time.Millisecond,
	}
	t.Run("leader", func(t *testing.T) {
		s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{Replica: func() MetricsReplica { return fakeReplica{leader} }}}, nil)
		fams, _ := scrapeMetrics(t, s)
		checkSeries(t, fams, []wantSeries{
			{"pier_replication_state", []string{"state", "Leader"}, 1},
			{"pier_replication_state", []string{"state", "Follower"}, 0},
			{"pier_replication_leader", nil, 1},
			{"pier_replication_members", nil, 3},
			{"pier_replication_term", nil, 4},
			{"pier_replication_last_index", nil, 120},
			{"pier_replication_commit_index", nil, 118},
			{"pier_replication_applied_index", nil, 117},
			{"pier_replication_follower_up", []string{"peer", "b"}, 1},
			{"pier_replication_follower_lag_entries", []string{"peer", "b"}, 20},
			{"pier_replication_follower_up", []string{"peer", "c"}, 0},
		})
		if _, ok := seriesValue(fams, "pier_replication_follower_lag_entries", "peer", "c"); ok {
			t.Error("a lag for a follower that did not answer")
		}
		if _, ok := fams["pier_replication_last_contact_seconds"]; ok {
			t.Error("last contact on the leader")
		}
	})
	t.Run("not open yet", func(t *testing.T) {
		s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{Replica: func() MetricsReplica { return nil }}}, nil)
		fams, _ := scrapeMetrics(t, s)
		for name := range fams {
			if strings.HasPrefix(name, "pier_replication_") {
				t.Errorf("%s before the replica is open", name)
			}
		}
	})
	t.Run("follower", func(t *testing.T) {
		s := New(Options{Ready: func() bool { return false }, Metrics: MetricsSources{Replica: func() MetricsReplica { return fakeReplica{follower} }}}, nil)
		fams, _ := scrapeMetrics(t, s)
		checkSeries(t, fams, []wantSeries{
			{"pier_replication_state", []string{"state", "Follower"}, 1},
			{"pier_replication_state", []string{"state", "Leader"}, 0},
			{"pier_replication_leader", nil, 0},
			{"pier_replication_applied_index", nil, 98},
			{"pier_replication_last_contact_seconds", nil, 1.5},
		})
		if _, ok := fams["pier_replication_follower_up"]; ok {
			t.Error("followers reported by a follower")
		}
	})
}

// BenchmarkMetrics10kQueues scrapes /metrics with 10,000 queues (and 100
// topics), every series, and limited to 100 queues by pattern.
func BenchmarkMetrics10kQueues(b *testing.B) {
	core := &fakeMetricsCore{overview: broker.Overview{Connections: map[string]int{"openwire": 100}}}
	for i := range 10000 {
		core.dests = append(core.dests, broker.DestInfo{Dest: queue(fmt.Sprintf("app%02d.orders.q%05d", i%100, i)),
			Depth: int64(i), Enqueued: uint64(i * 10), Dequeued: uint64(i * 9), Consumers: 1, Producers: 1, Memory: int64(i * 100)})
	}
	for i := range 100 {
		core.dests = append(core.dests, broker.DestInfo{Dest: tdest(fmt.Sprintf("events.t%03d", i)), Enqueued: 5})
	}
	slices.SortFunc(core.dests, func(a, b broker.DestInfo) int { return strings.Compare(a.Dest.Name, b.Dest.Name) })
	for _, bc := range []struct {
		name     string
		patterns []string
	}{{"all", nil}, {"limit=app07", []string{"queue://app07.>"}}} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(Options{Ready: alwaysReady, Metrics: MetricsSources{
				Broker: func() MetricsBroker { return core }, Destinations: bc.patterns, Meter: new(store.Meter)}}, nil)
			benchScrape(b, s)
		})
	}
}

// benchScrape times scrapes of /metrics and reports their size, as sent
// and gzipped (as Prometheus asks for it).
func benchScrape(b *testing.B, s *Server) {
	h := s.Handler()
	var body []byte
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("/metrics: %d", rec.Code)
		}
		body = rec.Body.Bytes()
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(body)
	w.Close()
	b.ReportMetric(float64(len(body)), "bytes/scrape")
	b.ReportMetric(float64(gz.Len()), "gzip-bytes/scrape")
}
