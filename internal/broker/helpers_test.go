package broker

import (
	"context"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/storetest"
)

func newMemStore() *storetest.Memory { return storetest.NewMemory(0) }

// sink collects deliveries.
type sink struct{ ch chan *Delivery }

func newSink() *sink                { return &sink{ch: make(chan *Delivery, 100000)} }
func (k *sink) Deliver(d *Delivery) { k.ch <- d }
func (k *sink) next(t *testing.T) *Delivery {
	t.Helper()
	select {
	case d := <-k.ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
		return nil
	}
}

// none asserts nothing arrives for a short while.
func (k *sink) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-k.ch:
		t.Fatalf("unexpected delivery %q on %s", d.Msg.Body, d.Sub.ID())
	case <-time.After(100 * time.Millisecond):
	}
}

func startBroker(t *testing.T, st store.Store, cfg Config) *Broker {
	t.Helper()
	if cfg.MaxRedeliveries == 0 {
		cfg.MaxRedeliveries = DefaultMaxRedeliveries
	}
	b, err := New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func connect(t *testing.T, b *Broker, clientID string) (*Conn, *sink) {
	t.Helper()
	k := newSink()
	c, err := b.Connect(context.Background(), ConnOptions{ClientID: clientID, Sink: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, k
}

func q(name string) message.Destination { return message.Destination{Kind: message.Queue, Name: name} }
func topic(name string) message.Destination {
	return message.Destination{Kind: message.Topic, Name: name}
}

func send(t *testing.T, c *Conn, d message.Destination, body string, persistent bool) {
	t.Helper()
	m := &message.Message{Dest: d, Body: []byte(body), BodyKind: message.Text, Persistent: persistent, Priority: 4}
	if err := c.Send(context.Background(), m, ""); err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
}

func subscribe(t *testing.T, c *Conn, o SubOptions) *Subscription {
	t.Helper()
	s, err := c.Subscribe(context.Background(), o)
	if err != nil {
		t.Fatalf("subscribe %+v: %v", o, err)
	}
	return s
}

func ack(t *testing.T, c *Conn, d *Delivery) {
	t.Helper()
	if err := c.Ack(context.Background(), d.Sub.ID(), d.Tag, "", true); err != nil {
		t.Fatalf("ack: %v", err)
	}
}
