package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/stompclient/stomptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runBench(t *testing.T, cfg Config) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func dest(t *testing.T, s string) Destination {
	t.Helper()
	d, err := ParseDestination(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// transports returns, for each Transport implementation, a function that
// starts an in-process Pier and returns a Transport connected to it.
func transports() map[string]func(t *testing.T) Transport {
	return map[string]func(t *testing.T) Transport{
		"stomp":    func(t *testing.T) Transport { return &STOMP{Addr: startPier(t).stomp} },
		"openwire": func(t *testing.T) Transport { return openWireTransport(startPier(t).openwire) },
	}
}

// TestTransports is the conformance suite every Transport runs, against a
// real (in-process) Pier broker.
func TestTransports(t *testing.T) {
	for name, start := range transports() {
		t.Run(name, func(t *testing.T) {
			t.Run("QueueCount", func(t *testing.T) { testQueueCount(t, start(t)) })
			t.Run("TopicFanOut", func(t *testing.T) { testTopicFanOut(t, start(t)) })
			t.Run("IgnoresOtherRuns", func(t *testing.T) { testIgnoresOtherRuns(t, start(t)) })
			t.Run("DurationWithRate", func(t *testing.T) { testDurationWithRate(t, start(t)) })
			t.Run("Interrupted", func(t *testing.T) { testInterrupted(t, start(t)) })
		})
	}
}

func testQueueCount(t *testing.T, tr Transport) {
	var progress bytes.Buffer
	res := runBench(t, Config{Transport: tr, Destination: dest(t, "queue://b"), Producers: 3, Consumers: 2, Size: 100,
		Persistent: true, Count: 301, Progress: &progress})
	if res.Sent != 301 || res.Received != 301 || res.Latency.Count != 301 {
		t.Fatalf("sent %d received %d latency samples %d, want 301 each", res.Sent, res.Received, res.Latency.Count)
	}
	if res.Transport != tr.Name() || res.Destination != "queue://b" || res.Server == "" {
		t.Errorf("result names transport %q destination %q server %q", res.Transport, res.Destination, res.Server)
	}
	if l := res.Latency; !(l.MinUs <= l.P50Us && l.P50Us <= l.P99Us && l.P99Us <= l.MaxUs) {
		t.Errorf("latency not ordered: %+v", l)
	}
	out := progress.String()
	if !strings.Contains(out, "100%") || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "sent 301") {
		t.Errorf("progress output %q", out)
	}
}

func testTopicFanOut(t *testing.T, tr Transport) {
	res := runBench(t, Config{Transport: tr, Destination: dest(t, "topic://b"), Producers: 1, Consumers: 3, Count: 50})
	if res.Sent != 50 || res.Received != 150 {
		t.Fatalf("sent %d received %d, want 50 and 150", res.Sent, res.Received)
	}
}

func testIgnoresOtherRuns(t *testing.T, tr Transport) {
	// A leftover message from an earlier run sits on the queue.
	res := runBench(t, Config{Transport: tr, Destination: dest(t, "/queue/left"), Consumers: 0, Count: 1})
	if res.Received != 0 || res.Sent != 1 {
		t.Fatalf("send-only run: %+v", res)
	}
	res = runBench(t, Config{Transport: tr, Destination: dest(t, "/queue/left"), Consumers: 1, Count: 5})
	if res.Received != 5 {
		t.Fatalf("received %d, want 5 (leftover must not count)", res.Received)
	}
}

func testDurationWithRate(t *testing.T, tr Transport) {
	res := runBench(t, Config{Transport: tr, Destination: dest(t, "queue://d"), Producers: 2, Consumers: 1,
		Duration: 300 * time.Millisecond, Rate: 100})
	// The schedule allows at most rate × duration (+1 per producer for t=0).
	if res.Sent == 0 || res.Sent > 32 || res.Received != res.Sent {
		t.Fatalf("sent %d received %d", res.Sent, res.Received)
	}
}

func testInterrupted(t *testing.T, tr Transport) {
	ct := &countingTransport{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var res *Result
	var err error
	go func() {
		defer close(done)
		res, err = Run(ctx, Config{Transport: ct, Destination: dest(t, "queue://i"), Duration: time.Hour, Rate: 200})
	}()
	for ct.sent.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) || res == nil || res.Sent < 3 {
		t.Fatalf("Run = %+v, %v; want partial result and context.Canceled", res, err)
	}
}

// countingTransport counts the sends of its producers.
type countingTransport struct {
	Transport
	sent atomic.Int64
}

func (c *countingTransport) Producer(ctx context.Context, role string, d Destination) (Producer, error) {
	p, err := c.Transport.Producer(ctx, role, d)
	if err != nil {
		return nil, err
	}
	return &countingProducer{Producer: p, sent: &c.sent}, nil
}

type countingProducer struct {
	Producer
	sent *atomic.Int64
}

func (p *countingProducer) Send(ctx context.Context, m Message) error {
	err := p.Producer.Send(ctx, m)
	if err == nil {
		p.sent.Add(1)
	}
	return err
}

func TestConnectFailure(t *testing.T) {
	for name, start := range transports() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var tr Transport
			// A broker that is gone: start one and stop it again.
			t.Run("start", func(t *testing.T) { tr = start(t) })
			defer cancel()
			if _, err := Run(ctx, Config{Transport: tr, Destination: dest(t, "queue://a"), Consumers: 1}); err == nil {
				t.Fatal("Run against a stopped broker succeeded")
			}
		})
	}
}

// TestSTOMPFrames checks the STOMP transport's frames on a fake server.
func TestSTOMPFrames(t *testing.T) {
	s, err := stomptest.Start(stomptest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := &STOMP{Addr: s.Addr()}
	runBench(t, Config{Transport: tr, Destination: dest(t, "queue://f"), Size: 100, Persistent: true, Count: 3})
	runBench(t, Config{Transport: tr, Destination: dest(t, "topic://g"), Count: 1})
	sends := s.FramesOf(stomp.CmdSend)
	if len(sends) != 4 {
		t.Fatalf("server got %d SENDs, want 4", len(sends))
	}
	f := sends[0]
	if f.Get("destination") != "/queue/f" || len(f.Body) != 100 || f.Get("persistent") != "true" ||
		f.Get(HeaderSentNs) == "" || f.Get(HeaderRun) == "" {
		t.Errorf("persistent SEND frame: body %d headers %v", len(f.Body), f.Headers)
	}
	if f := sends[3]; f.Get("destination") != "/topic/g" {
		t.Errorf("topic SEND to %q", f.Get("destination"))
	} else if _, ok := f.Lookup("persistent"); ok {
		t.Error("non-persistent send carries persistent header")
	}
}

func TestOutput(t *testing.T) {
	res := &Result{Server: "x/1", Transport: "stomp", Destination: "queue://a", Producers: 1, Consumers: 1, Size: 1024, Persistent: true,
		Sent: 10, Received: 10, SendSeconds: 1, TotalSeconds: 1, SendRate: 10, ReceiveRate: 10,
		Latency: LatencySummary{Count: 10, P50Us: 1500, P99Us: 2000, MaxUs: 3000}}
	var js bytes.Buffer
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back != *res {
		t.Fatalf("json round trip: %v\n%s", err, js.String())
	}
	// bench/compare-activemq.sh greps these keys, one per line.
	for _, key := range []string{`"receive_rate": `, `"send_rate": `, `"received": `, `"sent": `,
		`"p50_us": `, `"p99_us": `, `"p999_us": `} {
		if !strings.Contains(js.String(), key) {
			t.Errorf("json lacks %s:\n%s", key, js.String())
		}
	}
	var txt bytes.Buffer
	if err := res.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"persistent", "p50 1.5ms", "p99 2ms", "10 in 1.00s", "x/1 (stomp)"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, txt.String())
		}
	}
}

func TestValidate(t *testing.T) {
	tr := &STOMP{Addr: "x:1"}
	q := Destination{Name: "a"}
	good := Config{Transport: tr, Destination: q}.EnsureDefaults()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Config{
		{Destination: q},
		{Transport: tr},
		{Transport: tr, Destination: q, Count: 5, Duration: time.Second},
		{Transport: tr, Destination: q, Rate: -1},
		{Transport: tr, Destination: q, Consumers: -1},
	}
	for _, c := range bad {
		if err := c.EnsureDefaults().Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestParseDestination(t *testing.T) {
	for in, want := range map[string]Destination{
		"queue://a": {Name: "a"}, "/queue/a.b": {Name: "a.b"},
		"topic://t": {Name: "t", Topic: true}, "/topic/t": {Name: "t", Topic: true},
	} {
		if got, err := ParseDestination(in); err != nil || got != want {
			t.Errorf("ParseDestination(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a", "queue://", "/queue/", "http://x", "queue:///orders", "/queue//orders", "topic:///t"} {
		if _, err := ParseDestination(in); err == nil {
			t.Errorf("ParseDestination(%q) accepted", in)
		}
	}
	// A slash too many is a mistake the error points at.
	if _, err := ParseDestination("queue:///orders"); err == nil || !strings.Contains(err.Error(), "did you mean queue://orders?") {
		t.Errorf("queue:///orders: %v", err)
	}
}
