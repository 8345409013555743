package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/piermq/pier/client"
)

// Properties carried by every OpenWire benchmark message (JMS identifiers,
// so selectors and the Java client accept them).
const (
	PropSentNs = "PierSentNs" // send time, Unix nanoseconds (long)
	PropRun    = "PierRun"    // run id (string)
)

// OpenWire is the OpenWire Transport (package client): every connection
// has one auto-acknowledge session; persistent sends are synchronous, as in
// JMS; Finish closes the connection, which the broker answers only after
// every earlier command.
type OpenWire struct {
	// Dial opens one connection; it decides the URL (tcp:// or failover:)
	// and the client options. Required.
	Dial func(ctx context.Context) (*client.Conn, error)
}

// Name returns "openwire".
func (o *OpenWire) Name() string { return "openwire" }

func (o *OpenWire) open(ctx context.Context, role string) (*client.Conn, *client.Session, error) {
	if o.Dial == nil {
		return nil, nil, errors.New("bench: openwire: no Dial function")
	}
	c, err := o.Dial(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %s: %w", role, err)
	}
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		closeNow(c)
		return nil, nil, fmt.Errorf("bench: %s: %w", role, err)
	}
	return c, s, nil
}

func (d Destination) client() *client.Destination {
	if d.Topic {
		return client.Topic(d.Name)
	}
	return client.Queue(d.Name)
}

// closeNow closes c without waiting for the broker's answer.
func closeNow(c *client.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Close(ctx)
}

// Producer opens a connection with one producer on dest.
func (o *OpenWire) Producer(ctx context.Context, role string, dest Destination) (Producer, error) {
	c, s, err := o.open(ctx, role)
	if err != nil {
		return nil, err
	}
	p, err := s.Producer(ctx, dest.client())
	if err != nil {
		closeNow(c)
		return nil, fmt.Errorf("bench: %s: %w", role, err)
	}
	return &owProducer{conn: c, prod: p}, nil
}

type owProducer struct {
	conn *client.Conn
	prod *client.Producer
}

func (p *owProducer) Send(ctx context.Context, m Message) error {
	msg := client.NewBytesMessage(m.Body)
	msg.Persistent = m.Persistent
	if err := msg.SetProperty(PropRun, m.Run); err != nil {
		return err
	}
	if err := msg.SetProperty(PropSentNs, m.Sent.UnixNano()); err != nil {
		return err
	}
	return p.prod.Send(ctx, msg)
}

func (p *owProducer) Server() string                   { return p.conn.BrokerName() }
func (p *owProducer) Finish(ctx context.Context) error { return p.conn.Close(ctx) }
func (p *owProducer) Close() error                     { return closeNow(p.conn) }

// Consumer opens a connection with one consumer on dest and a goroutine
// that receives and delivers until Close.
func (o *OpenWire) Consumer(ctx context.Context, role string, dest Destination, prefetch int, deliver func(Delivery)) (Consumer, error) {
	c, s, err := o.open(ctx, role)
	if err != nil {
		return nil, err
	}
	var opts []client.ConsumerOption
	if prefetch > 0 {
		opts = append(opts, client.Prefetch(prefetch))
	}
	k, err := s.Consumer(ctx, dest.client(), opts...)
	if err != nil {
		closeNow(c)
		return nil, fmt.Errorf("bench: %s: %w", role, err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	oc := &owConsumer{conn: c, cancel: cancel}
	oc.wg.Go(func() { oc.loop(rctx, k, deliver) })
	return oc, nil
}

type owConsumer struct {
	conn   *client.Conn
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

func (k *owConsumer) loop(ctx context.Context, cons *client.Consumer, deliver func(Delivery)) {
	for {
		m, err := cons.Receive(ctx)
		if err != nil {
			return // closed, cancelled or connection lost (see Done/Err)
		}
		run, _ := m.StringProperty(PropRun)
		sent, _ := m.LongProperty(PropSentNs)
		deliver(Delivery{Run: run, SentNs: sent})
	}
}

func (k *owConsumer) Done() <-chan struct{} { return k.conn.Done() }
func (k *owConsumer) Err() error            { return k.conn.Err() }

func (k *owConsumer) Close() error {
	var err error
	k.once.Do(func() {
		k.cancel()
		k.wg.Wait()
		err = closeNow(k.conn)
	})
	return err
}
