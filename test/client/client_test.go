//go:build crossprocess

// Package client_test runs one suite of scenarios, written once against the
// public Go client (package client), against two brokers in the same run:
// the real ActiveMQ 5.17 (Debian's activemq package, started on loopback by
// test/internal/activemq) and `pier serve` with its OpenWire transport. It
// proves the client is faithful to the protocol, not only to Pier.
//
// Where the brokers legitimately differ (Pier honours priority, ActiveMQ is
// FIFO by default), the scenarios assert what JMS allows and log a NOTE
// saying which behaviour was seen.
//
//	go build -o /tmp/pier ./cmd/pier
//	PIER_BIN=/tmp/pier go test -tags crossprocess -count=1 -v ./test/client/
package client_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/activemq"
	"github.com/piermq/pier/test/internal/piertest"
)

// broker is one target: its OpenWire address survives Kill and Restart.
type broker struct {
	name     string
	addr     string
	kill     func()
	restart  func()
	activemq bool
}

// scenarios run in this order against each target; failover, which kills
// the broker, comes last.
var scenarios = []struct {
	name string
	run  func(t *testing.T, b *broker)
}{
	{"connect", testConnect},
	{"bodies", testBodies},
	{"properties", testProperties},
	{"headers", testHeaders},
	{"priority", testPriority},
	{"ack/auto", testAutoAck},
	{"ack/client", testClientAck},
	{"ack/individual", testIndividualAck},
	{"ack/dups-ok", testDupsOKAck},
	{"transacted", testTransacted},
	{"durable", testDurable},
	{"temp-request-reply", testTempRequestReply},
	{"selectors", testSelectors},
	{"prefetch0", testPrefetchZero},
	{"browse", testBrowse},
	{"advisories", testAdvisories},
	{"errors", testErrors},
	{"crash", testCrash},
	{"failover", testFailover},
}

func TestClient(t *testing.T) {
	targets := []struct {
		name  string
		start func(t *testing.T) *broker
	}{
		{"activemq", startActiveMQ},
		{"pier", startPier},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			start := time.Now()
			b := tg.start(t)
			t.Logf("%s ready on %s after %s", tg.name, b.addr, time.Since(start).Round(time.Millisecond))
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.run(t, b) })
			}
		})
	}
}

func startActiveMQ(t *testing.T) *broker {
	a := activemq.Start(t)
	return &broker{name: "activemq", addr: a.Addr(), kill: a.Kill, restart: a.Restart, activemq: true}
}

func startPier(t *testing.T) *broker {
	p := piertest.StartWith(t, piertest.Options{OpenWire: true})
	return &broker{name: "pier", addr: p.OpenWireAddr, kill: p.Kill, restart: p.Restart}
}

// stepTimeout bounds every single blocking call of a scenario.
const stepTimeout = 10 * time.Second

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func step(t testing.TB) context.Context { return ctxFor(t, stepTimeout) }

var seq atomic.Int64

// unique returns a destination name of its own for one scenario run, so
// scenarios never see each other's messages (also across restarts).
func unique(what string) string {
	return fmt.Sprintf("gocli.%s.%d.%d", what, time.Now().UnixNano(), seq.Add(1))
}

func dial(t testing.TB, b *broker, opts client.Options) *client.Conn {
	t.Helper()
	c, err := client.Dial(step(t), "tcp://"+b.addr, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", b.name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

func session(t testing.TB, c *client.Conn, mode client.AckMode) *client.Session {
	t.Helper()
	s, err := c.Session(step(t), mode)
	if err != nil {
		t.Fatalf("%s session: %v", mode, err)
	}
	return s
}

func producer(t testing.TB, s *client.Session, d *client.Destination) *client.Producer {
	t.Helper()
	p, err := s.Producer(step(t), d)
	if err != nil {
		t.Fatalf("producer for %s: %v", d, err)
	}
	return p
}

func consumer(t testing.TB, s *client.Session, d *client.Destination, opts ...client.ConsumerOption) *client.Consumer {
	t.Helper()
	k, err := s.Consumer(step(t), d, opts...)
	if err != nil {
		t.Fatalf("consumer for %s: %v", d, err)
	}
	return k
}

func send(t testing.TB, p *client.Producer, m *client.Message, opts ...client.SendOption) {
	t.Helper()
	if err := p.Send(step(t), m, opts...); err != nil {
		t.Fatalf("send to %s: %v", p.Destination(), err)
	}
}

func sendTexts(t testing.TB, p *client.Producer, texts ...string) {
	t.Helper()
	for _, s := range texts {
		send(t, p, client.NewTextMessage(s))
	}
}

func receive(t testing.TB, k *client.Consumer) *client.Message {
	t.Helper()
	m, err := k.Receive(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("receive from %s: %v", k.Destination(), err)
	}
	return m
}

// receiveText receives one message and checks its text.
func receiveText(t testing.TB, k *client.Consumer, want string) *client.Message {
	t.Helper()
	m := receive(t, k)
	if got, _ := m.Text(); got != want {
		t.Fatalf("received %q from %s, want %q", got, k.Destination(), want)
	}
	return m
}

// expectNone checks that nothing arrives within d.
func expectNone(t testing.TB, k *client.Consumer, d time.Duration) {
	t.Helper()
	if m, err := k.Receive(ctxFor(t, d)); err == nil {
		text, _ := m.Text()
		t.Fatalf("unexpected message %q (redelivered=%v) from %s", text, m.Redelivered, k.Destination())
	}
}

// drain receives until nothing arrives for quiet and returns the texts.
func drain(t testing.TB, k *client.Consumer, quiet time.Duration) []string {
	t.Helper()
	var out []string
	for range 1000 {
		m, err := k.Receive(ctxFor(t, quiet))
		if err != nil {
			return out
		}
		text, _ := m.Text()
		out = append(out, text)
	}
	t.Fatalf("drain %s: more than 1000 messages", k.Destination())
	return nil
}

func closeConsumer(t testing.TB, k *client.Consumer) {
	t.Helper()
	if err := k.Close(step(t)); err != nil {
		t.Fatalf("close consumer: %v", err)
	}
}

func closeSession(t testing.TB, s *client.Session) {
	t.Helper()
	if err := s.Close(step(t)); err != nil {
		t.Fatalf("close session: %v", err)
	}
}
