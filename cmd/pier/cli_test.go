package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startPier runs an in-process Pier (memory store) and returns its OpenWire
// and STOMP URLs.
func startPier(t *testing.T) (tcpURL, stompURL string) {
	t.Helper()
	b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries}, storetest.NewMemory(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ow := openwire.NewServer(openwire.Config{}, b, nil)
	st := stomp.NewServer(stomp.Config{}, b, nil)
	return "tcp://" + serve(t, ow.Serve, ow.Shutdown), "stomp://" + serve(t, st.Serve, st.Shutdown)
}

func serve(t *testing.T, run func(net.Listener) error, shutdown func(context.Context) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run(ln) }()
	t.Cleanup(func() {
		shutdown(context.Background())
		if err := <-done; !errors.Is(err, netserve.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

type runFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// pier runs one command and returns its stdout; it fails the test on error.
func pier(t *testing.T, cmd runFunc, args ...string) string {
	t.Helper()
	out, errOut, err := try(cmd, args...)
	if err != nil {
		t.Fatalf("%v: %v\nstderr: %s", args, err, errOut)
	}
	return out
}

// try runs one command with a bounded context.
func try(cmd runFunc, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var o, e bytes.Buffer
	err = cmd(ctx, args, &o, &e)
	return o.String(), e.String(), err
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func wantLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	if g := lines(got); strings.Join(g, "|") != strings.Join(want, "|") {
		t.Errorf("%s printed %q, want %q", what, g, want)
	}
}

func TestProduceBrowseConsumeOpenWire(t *testing.T) {
	url, _ := startPier(t)
	q := "--destination=queue://rt"
	if out := pier(t, runProduce, "--url", url, q, "--count", "3"); !strings.Contains(out, "sent 3 messages to queue://rt") {
		t.Errorf("produce printed %q", out)
	}
	pier(t, runProduce, "--url", url, q, "--body", "last", "--persistent=false")
	wantLines(t, "browse", pier(t, runBrowse, "--url", url, q), "message 1", "message 2", "message 3", "last")
	wantLines(t, "browse --count 2", pier(t, runBrowse, "--url", url, q, "--count", "2"), "message 1", "message 2")
	wantLines(t, "browse --selector", pier(t, runBrowse, "--url", url, q, "--selector", "JMSDeliveryMode = 'NON_PERSISTENT'"), "last")
	// Browsing consumed nothing.
	wantLines(t, "consume", pier(t, runConsume, "--url", url, q, "--count", "2", "--ack", "client"), "message 1", "message 2")
	wantLines(t, "consume", pier(t, runConsume, "--url", url, q, "--timeout", "300ms", "--ack", "client-individual"), "message 3", "last")
	wantLines(t, "browse of the empty queue", pier(t, runBrowse, "--url", url, q))
}

func TestFailoverURL(t *testing.T) {
	url, _ := startPier(t)
	// The first broker refuses; the failover URL moves on to the second.
	fo := "failover:(tcp://127.0.0.1:1," + url + ")?randomize=false&initialReconnectDelay=10"
	pier(t, runProduce, "--url", fo, "--destination", "queue://fo", "--count", "2", "--size", "5")
	wantLines(t, "browse", pier(t, runBrowse, "--url", fo, "--destination", "queue://fo"), "abcde", "abcde")
	wantLines(t, "consume", pier(t, runConsume, "--url", fo, "--destination", "queue://fo", "--count", "2"), "abcde", "abcde")
}

func TestSTOMPAndOpenWireInterwork(t *testing.T) {
	url, stompURL := startPier(t)
	pier(t, runProduce, "--url", stompURL, "--destination", "/queue/mix", "--body", "from stomp")
	wantLines(t, "openwire consume", pier(t, runConsume, "--url", url, "--destination", "queue://mix", "--count", "1"), "from stomp")
	pier(t, runProduce, "--url", url, "--destination", "queue://mix", "--body", "from openwire")
	wantLines(t, "stomp consume", pier(t, runConsume, "--url", stompURL, "--destination", "queue://mix", "--count", "1"), "from openwire")
}

func TestDurableSubscription(t *testing.T) {
	url, _ := startPier(t)
	sub := []string{"--url", url, "--destination", "topic://news", "--durable", "d1", "--client-id", "reader", "--timeout", "200ms"}
	wantLines(t, "first consume", pier(t, runConsume, sub...))
	// Sent while the subscriber is away; kept for it.
	pier(t, runProduce, "--url", url, "--destination", "topic://news", "--count", "2")
	wantLines(t, "second consume", pier(t, runConsume, sub...), "message 1", "message 2")
}

func TestBench(t *testing.T) {
	url, stompURL := startPier(t)
	for _, u := range []string{url, stompURL, "failover:(" + url + ")"} {
		out := pier(t, runBench, "--url", u, "--destination", "queue://b", "--count", "40", "--producers", "2",
			"--consumers", "2", "--size", "10", "--json")
		var res struct {
			Transport string
			Sent      int64
			Received  int64
			Latency   struct {
				Count int64
				P999  float64 `json:"p999_us"`
			}
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v\n%s", u, err, out)
		}
		if res.Sent != 40 || res.Received != 40 || res.Latency.Count != 40 {
			t.Errorf("%s: %+v", u, res)
		}
	}
	out := pier(t, runBench, "--url", url, "--destination", "topic://bt", "--count", "5", "--consumers", "2")
	for _, want := range []string{"(openwire)", "topic://bt", "received     10", "p99.9"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench text output lacks %q:\n%s", want, out)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	url, stompURL := startPier(t)
	cases := []struct {
		name string
		cmd  runFunc
		args []string
		want string // in the error; "" means errUsage
	}{
		{"bad URL", runProduce, []string{"--url", "tcp://x:1?bogus=1"}, `unknown transport option "bogus"`},
		{"bad scheme", runConsume, []string{"--url", "vm://localhost"}, "unsupported URL scheme"},
		{"bad failover", runBench, []string{"--url", "failover:(tcp://a:1"}, "invalid URL"},
		{"refused", runProduce, []string{"--url", "tcp://127.0.0.1:1"}, "connect to tcp://127.0.0.1:1"},
		{"refused stomp", runConsume, []string{"--url", "stomp://127.0.0.1:1"}, "connect to stomp://127.0.0.1:1"},
		{"failover gives up", runBrowse, []string{"--url", "failover:(tcp://127.0.0.1:1)?startupMaxReconnectAttempts=1"},
			"no broker of failover:(tcp://127.0.0.1:1)"},
		{"bad destination", runProduce, []string{"--url", url, "--destination", "orders"}, "want queue://NAME"},
		{"negative count", runProduce, []string{"--url", url, "--count", "-1"}, "must not be negative"},
		{"bad ack", runConsume, []string{"--url", url, "--ack", "sometimes"}, `unknown ack mode "sometimes"`},
		{"durable queue", runConsume, []string{"--url", url, "--durable", "d"}, "--durable needs a topic"},
		{"durable without client id", runConsume, []string{"--url", url, "--destination", "topic://t", "--durable", "d"}, "--durable needs --client-id"},
		{"browse stomp", runBrowse, []string{"--url", stompURL}, "browse speaks OpenWire"},
		{"browse topic", runBrowse, []string{"--url", url, "--destination", "topic://t"}, "browse needs a queue"},
		{"bench count and duration", runBench, []string{"--url", url, "--count", "5", "--duration", "1s"}, "not both"},
		{"unknown flag", runBench, []string{"--producer", "2"}, ""},
		{"extra argument", runBrowse, []string{"queue://x"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := try(c.cmd, c.args...)
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.want == "" && !errors.Is(err, errUsage):
				t.Fatalf("error %v, want a usage error", err)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q does not contain %q (stderr %q)", err, c.want, stderr)
			}
		})
	}
	for _, cmd := range []runFunc{runProduce, runConsume, runBrowse, runBench} {
		if _, stderr, err := try(cmd, "--help"); err != nil || !strings.Contains(stderr, "-url") {
			t.Errorf("--help: %v\n%s", err, stderr)
		}
	}
}
