package stompclient

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/piermq/pier/internal/protocol/stomp"
)

// AckMode is a SUBSCRIBE ack header value.
type AckMode string

// Ack modes.
const (
	AckAuto             AckMode = "auto"
	AckClient           AckMode = "client"            // cumulative
	AckClientIndividual AckMode = "client-individual" // one message
)

// ParseAckMode checks an ack mode given by a user.
func ParseAckMode(s string) (AckMode, error) {
	switch m := AckMode(s); m {
	case AckAuto, AckClient, AckClientIndividual:
		return m, nil
	}
	return "", fmt.Errorf("stompclient: unknown ack mode %q (want auto, client or client-individual)", s)
}

// SubscribeOptions configure a subscription. The zero value is an
// auto-acknowledged subscription with the broker's default prefetch,
// delivering on Subscription.C.
type SubscribeOptions struct {
	Ack AckMode
	// Prefetch is sent as activemq.prefetchSize when positive.
	Prefetch int
	// Selector is a JMS selector (the selector header).
	Selector string
	// DurableName makes a durable topic subscription
	// (activemq.subscriptionName); the connection needs a ClientID.
	DurableName string
	// Headers are added to the SUBSCRIBE frame.
	Headers []stomp.Header
	// Handler, when set, is called for each message (one at a time, on the
	// subscription's own goroutine) instead of delivering on C.
	Handler func(*Message)
}

// Message is a received MESSAGE frame.
type Message struct {
	Destination string
	MessageID   string
	// AckID is the 1.2 ack header, used by Ack and Nack; empty for auto ack.
	AckID string
	Body  []byte
	Frame *stomp.Frame // all headers, in wire order
}

// Header returns the first header named key.
func (m *Message) Header(key string) string { return m.Frame.Get(key) }

// Subscription delivers the messages of one SUBSCRIBE.
//
// Messages are queued without bound between the read loop and the consumer,
// so that a slow consumer never stalls receipts for other calls; bound the
// backlog with Prefetch and a client ack mode.
type Subscription struct {
	// C delivers messages, unless a Handler was given. It is closed when
	// the subscription ends: after Unsubscribe, or once the queued messages
	// have been delivered after the connection ended.
	C <-chan *Message

	c       *Conn
	id      string
	durable string
	out     chan *Message
	handler func(*Message)
	stop    chan struct{} // closed by Unsubscribe: stop delivering now
	stopped sync.Once
	wake    chan struct{} // signalled when mu.queue or mu.ended changes
	mu      struct {
		sync.Mutex
		queue []*Message
		ended bool // no more messages will be queued
	}
}

// Subscribe subscribes to a STOMP destination such as /queue/orders and
// waits for the server's receipt.
func (c *Conn) Subscribe(ctx context.Context, dest string, opts SubscribeOptions) (*Subscription, error) {
	if opts.Ack == "" {
		opts.Ack = AckAuto
	}
	s := &Subscription{
		c:       c,
		id:      c.newID("sub-"),
		durable: opts.DurableName,
		out:     make(chan *Message),
		handler: opts.Handler,
		stop:    make(chan struct{}),
	}
	s.C = s.out
	s.wake = make(chan struct{}, 1)
	f := stomp.NewFrame(stomp.CmdSubscribe, "id", s.id, "destination", dest, "ack", string(opts.Ack))
	if opts.Prefetch > 0 {
		f.Add("activemq.prefetchSize", strconv.Itoa(opts.Prefetch))
	}
	if opts.Selector != "" {
		f.Add("selector", opts.Selector)
	}
	if opts.DurableName != "" {
		f.Add("activemq.subscriptionName", opts.DurableName)
	}
	f.Headers = append(f.Headers, opts.Headers...)

	c.mu.Lock()
	if c.mu.err != nil {
		err := c.mu.err
		c.mu.Unlock()
		return nil, err
	}
	c.mu.subs[s.id] = s // before the frame goes out: messages may follow at once
	c.wg.Add(1)
	c.mu.Unlock()
	go s.pump()
	if err := c.request(ctx, f, true); err != nil {
		c.mu.Lock()
		delete(c.mu.subs, s.id)
		c.mu.Unlock()
		s.halt()
		return nil, fmt.Errorf("stompclient: subscribe %s: %w", dest, err)
	}
	return s, nil
}

// ID returns the subscription id sent in SUBSCRIBE.
func (s *Subscription) ID() string { return s.id }

// Unsubscribe sends UNSUBSCRIBE, waits for the receipt and stops delivery;
// messages still queued are dropped (unacknowledged ones are redelivered by
// the broker). A durable subscription stays on the broker: see
// DestroyDurable.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	return s.unsubscribe(ctx, false)
}

// DestroyDurable unsubscribes and asks the broker to delete the durable
// subscription (ActiveMQ: UNSUBSCRIBE with activemq.subscriptionName).
func (s *Subscription) DestroyDurable(ctx context.Context) error {
	return s.unsubscribe(ctx, true)
}

func (s *Subscription) unsubscribe(ctx context.Context, destroy bool) error {
	c := s.c
	c.mu.Lock()
	delete(c.mu.subs, s.id)
	c.mu.Unlock()
	s.halt()
	f := stomp.NewFrame(stomp.CmdUnsubscribe, "id", s.id)
	if destroy && s.durable != "" {
		f.Add("activemq.subscriptionName", s.durable)
	}
	if err := c.request(ctx, f, true); err != nil {
		return fmt.Errorf("stompclient: unsubscribe %s: %w", s.id, err)
	}
	return nil
}

func (s *Subscription) halt() { s.stopped.Do(func() { close(s.stop) }) }

// dispatch queues a MESSAGE for its subscription (called by the read loop).
func (c *Conn) dispatch(f *stomp.Frame) {
	c.mu.Lock()
	s := c.mu.subs[f.Get("subscription")]
	c.mu.Unlock()
	if s == nil {
		return // unsubscribed meanwhile; the broker redelivers unacked ones
	}
	m := &Message{
		Destination: f.Get("destination"),
		MessageID:   f.Get("message-id"),
		AckID:       f.Get("ack"),
		Body:        f.Body,
		Frame:       f,
	}
	s.mu.Lock()
	s.mu.queue = append(s.mu.queue, m)
	s.mu.Unlock()
	s.signal()
}

// end marks that no more messages will come (the connection ended).
func (s *Subscription) end() {
	s.mu.Lock()
	s.mu.ended = true
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump moves queued messages to the consumer until the subscription ends
// and its queue is empty, or Unsubscribe or Close stops it.
func (s *Subscription) pump() {
	defer s.c.wg.Done()
	defer close(s.out)
	for {
		s.mu.Lock()
		batch, ended := s.mu.queue, s.mu.ended
		s.mu.queue = nil
		s.mu.Unlock()
		for _, m := range batch {
			if s.handler != nil {
				select {
				case <-s.stop:
					return
				case <-s.c.quit:
					return
				default:
				}
				s.handler(m)
				continue
			}
			select {
			case s.out <- m:
			case <-s.stop:
				return
			case <-s.c.quit:
				return
			}
		}
		if ended && len(batch) == 0 {
			return
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-s.wake:
		case <-s.stop:
			return
		case <-s.c.quit:
			return
		}
	}
}
