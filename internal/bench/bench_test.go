package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/stompclient/stomptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startServer(t *testing.T) *stomptest.Server {
	t.Helper()
	s, err := stomptest.Start(stomptest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

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

func TestQueueCount(t *testing.T) {
	s := startServer(t)
	var progress bytes.Buffer
	res := runBench(t, Config{Addr: s.Addr(), Destination: "/queue/b", Producers: 3, Consumers: 2, Size: 100,
		Persistent: true, Count: 301, Progress: &progress})
	if res.Sent != 301 || res.Received != 301 || res.Latency.Count != 301 {
		t.Fatalf("sent %d received %d latency samples %d, want 301 each", res.Sent, res.Received, res.Latency.Count)
	}
	sends := s.FramesOf(stomp.CmdSend)
	if len(sends) != 301 {
		t.Fatalf("server got %d SENDs", len(sends))
	}
	f := sends[0]
	if len(f.Body) != 100 || f.Get("persistent") != "true" || f.Get(HeaderSentNs) == "" || f.Get(HeaderRun) == "" {
		t.Errorf("SEND frame: body %d headers %v", len(f.Body), f.Headers)
	}
	if l := res.Latency; !(l.MinUs <= l.P50Us && l.P50Us <= l.P99Us && l.P99Us <= l.MaxUs) {
		t.Errorf("latency not ordered: %+v", l)
	}
	out := progress.String()
	if !strings.Contains(out, "100%") || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "sent 301") {
		t.Errorf("progress output %q", out)
	}
}

func TestTopicFanOutNonPersistent(t *testing.T) {
	s := startServer(t)
	res := runBench(t, Config{Addr: s.Addr(), Destination: "/topic/b", Producers: 1, Consumers: 3, Count: 50})
	if res.Sent != 50 || res.Received != 150 {
		t.Fatalf("sent %d received %d, want 50 and 150", res.Sent, res.Received)
	}
	if _, ok := s.FramesOf(stomp.CmdSend)[0].Lookup("persistent"); ok {
		t.Error("non-persistent send carries persistent header")
	}
}

func TestIgnoresOtherRuns(t *testing.T) {
	s := startServer(t)
	// A leftover message from an earlier run sits on the queue.
	res := runBench(t, Config{Addr: s.Addr(), Destination: "/queue/left", Consumers: 0, Count: 1})
	if res.Received != 0 || res.Sent != 1 {
		t.Fatalf("send-only run: %+v", res)
	}
	res = runBench(t, Config{Addr: s.Addr(), Destination: "/queue/left", Consumers: 1, Count: 5})
	if res.Received != 5 {
		t.Fatalf("received %d, want 5 (leftover must not count)", res.Received)
	}
}

func TestDurationWithRate(t *testing.T) {
	s := startServer(t)
	res := runBench(t, Config{Addr: s.Addr(), Destination: "/queue/d", Producers: 2, Consumers: 1,
		Duration: 300 * time.Millisecond, Rate: 100})
	// The schedule allows at most rate × duration (+1 per producer for t=0).
	if res.Sent == 0 || res.Sent > 32 || res.Received != res.Sent {
		t.Fatalf("sent %d received %d", res.Sent, res.Received)
	}
}

func TestOutput(t *testing.T) {
	res := &Result{Server: "x/1", Destination: "/queue/a", Producers: 1, Consumers: 1, Size: 1024, Persistent: true,
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
	var txt bytes.Buffer
	if err := res.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"persistent", "p50 1.5ms", "p99 2ms", "10 in 1.00s"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, txt.String())
		}
	}
}

func TestValidate(t *testing.T) {
	good := Config{Addr: "x:1", Destination: "/queue/a"}.EnsureDefaults()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Config{
		{Destination: "/queue/a"},
		{Addr: "x:1", Destination: "queue://a"},
		{Addr: "x:1", Destination: "/queue/a", Count: 5, Duration: time.Second},
		{Addr: "x:1", Destination: "/queue/a", Rate: -1},
		{Addr: "x:1", Destination: "/queue/a", Consumers: -1},
	}
	for _, c := range bad {
		if err := c.EnsureDefaults().Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestConnectFailure(t *testing.T) {
	s := startServer(t)
	addr := s.Addr()
	s.Close()
	if _, err := Run(context.Background(), Config{Addr: addr, Destination: "/queue/a", Consumers: 1}); err == nil {
		t.Fatal("Run against a closed port succeeded")
	}
}

func TestInterruptedRunReturnsPartialResult(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var res *Result
	var err error
	go func() {
		defer close(done)
		res, err = Run(ctx, Config{Addr: s.Addr(), Destination: "/queue/i", Duration: time.Hour, Rate: 200})
	}()
	for len(s.FramesOf(stomp.CmdSend)) < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if err != context.Canceled || res == nil || res.Sent < 3 {
		t.Fatalf("Run = %+v, %v; want partial result and context.Canceled", res, err)
	}
}
