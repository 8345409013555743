package client

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// Consumer receives messages from a destination. Messages the broker
// pushes ahead (up to the prefetch size) wait in the consumer until
// Receive hands them out.
type Consumer struct {
	sess     *Session
	info     *wire.ConsumerInfo
	key      string
	dest     *Destination
	prefetch int
	browser  bool
	signal   chan struct{} // a dispatch arrived (capacity 1)
	done     chan struct{} // closed by dispose

	mu struct {
		sync.Mutex
		queue        []*wire.MessageDispatch // not yet handed out; nil Message = end marker
		delivered    []*wire.MessageDispatch // handed out, not yet acknowledged
		closed       error
		pulls        int  // MessagePulls not yet answered
		repull       bool // failover lost the pull in flight: send it again
		pendingN     int  // deliveries since the last DELIVERED ack
		pendingFirst *wire.MessageID
		lastSeq      int64 // brokerSequenceId of the last message handed out
		holdUntil    time.Time
	}
}

// ConsumerOption adjusts a consumer.
type ConsumerOption func(*consumerOptions)

type consumerOptions struct {
	selector    string
	prefetch    int
	hasPrefetch bool
	noLocal     bool
	durable     string
	network     bool
	brokerPath  []string
	priority    int
}

// Selector filters messages with a JMS selector (SQL-92 subset).
func Selector(expr string) ConsumerOption { return func(o *consumerOptions) { o.selector = expr } }

// Prefetch sets how many messages the broker may push ahead. 0 makes a
// pull consumer: each Receive asks the broker for one message
// (MessagePull) and waits for it or for the context's deadline.
func Prefetch(n int) ConsumerOption {
	return func(o *consumerOptions) { o.prefetch, o.hasPrefetch = n, true }
}

// NoLocal suppresses messages sent through this consumer's connection.
func NoLocal() ConsumerOption { return func(o *consumerOptions) { o.noLocal = true } }

// Durable makes a durable subscription called name on a topic; it needs a
// ClientID and outlives the consumer until Conn.Unsubscribe.
func Durable(name string) ConsumerOption { return func(o *consumerOptions) { o.durable = name } }

// Consumer creates a consumer of dest.
func (s *Session) Consumer(ctx context.Context, dest *Destination, opts ...ConsumerOption) (*Consumer, error) {
	var o consumerOptions
	for _, f := range opts {
		f(&o)
	}
	if dest == nil {
		return nil, fmt.Errorf("client: consumer: %w: no destination", ErrInvalidDestination)
	}
	if o.durable != "" && !dest.IsTopic() {
		return nil, fmt.Errorf("client: durable subscription on %s: %w: not a topic", dest, ErrInvalidDestination)
	}
	if err := s.conn.checkOwnTemp(dest); err != nil {
		return nil, fmt.Errorf("client: consumer of %s: %w", dest, err)
	}
	p := s.conn.opts.Prefetch
	prefetch := p.Queue
	switch {
	case o.hasPrefetch:
		prefetch = o.prefetch
	case o.durable != "":
		prefetch = p.DurableTopic
	case dest.IsTopic():
		prefetch = p.Topic
	}
	if prefetch < 0 {
		return nil, fmt.Errorf("client: consumer: negative prefetch %d", prefetch)
	}
	if err := checkPriority(o.priority); err != nil {
		return nil, err
	}
	info := &wire.ConsumerInfo{Destination: dest.toWire(), PrefetchSize: int32(prefetch), DispatchAsync: true,
		Selector: o.selector, SubscriptionName: o.durable, NoLocal: o.noLocal,
		Priority: byte(int8(o.priority)), NetworkSubscription: o.network, BrokerPath: brokerPathToWire(o.brokerPath)}
	k, err := s.openConsumer(ctx, info, false)
	if err != nil {
		return nil, fmt.Errorf("client: consumer of %s: %w", dest, err)
	}
	return k, nil
}

// openConsumer registers a consumer and sends its ConsumerInfo (sync).
func (s *Session) openConsumer(ctx context.Context, info *wire.ConsumerInfo, browser bool) (*Consumer, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	c := s.conn
	info.ConsumerID = &wire.ConsumerID{ConnectionID: c.connID.Value, SessionID: s.id.Value, Value: c.ids.consumer.Add(1)}
	k := &Consumer{sess: s, info: info, key: info.ConsumerID.String(), dest: destFromWire(info.Destination),
		prefetch: int(info.PrefetchSize), browser: browser, signal: make(chan struct{}, 1), done: make(chan struct{})}
	k.mu.lastSeq = -1
	c.mu.Lock()
	c.mu.consumers[k.key] = k
	c.mu.Unlock()
	if _, err := c.request(ctx, info); err != nil {
		c.mu.Lock()
		delete(c.mu.consumers, k.key)
		c.mu.Unlock()
		return nil, err
	}
	if !browser {
		s.mu.Lock()
		s.mu.consumers = append(s.mu.consumers, k)
		s.mu.Unlock()
	}
	return k, nil
}

// Destination returns what the consumer consumes.
func (k *Consumer) Destination() *Destination { return k.dest }

// enqueue takes a dispatch from the read loop.
func (k *Consumer) enqueue(md *wire.MessageDispatch) {
	k.mu.Lock()
	if k.mu.closed != nil {
		k.mu.Unlock()
		return
	}
	if k.prefetch == 0 && k.mu.pulls > 0 {
		k.mu.pulls--
	}
	k.mu.queue = append(k.mu.queue, md)
	k.mu.Unlock()
	k.wake()
}

func (k *Consumer) wake() {
	select {
	case k.signal <- struct{}{}:
	default:
	}
}

// Receive returns the next message, waiting until one arrives, ctx ends
// or the consumer is closed. A pull consumer (Prefetch(0)) asks the broker
// for a message, with ctx's deadline as the pull timeout; if the broker
// has none in time, the error matches both ErrNoMessage and
// context.DeadlineExceeded.
func (k *Consumer) Receive(ctx context.Context) (*Message, error) {
	pulled := false
	for {
		md, err := k.next(ctx, &pulled)
		if err != nil {
			return nil, fmt.Errorf("client: receive from %s: %w", k.dest, err)
		}
		if md.Message == nil {
			return nil, fmt.Errorf("client: receive from %s: %w: %w", k.dest, ErrNoMessage, context.DeadlineExceeded)
		}
		m, err := k.consume(md)
		if err != nil {
			return nil, fmt.Errorf("client: receive from %s: %w", k.dest, err)
		}
		if m != nil {
			return m, nil
		}
	}
}

// next waits for the next dispatch; an end marker (nil Message) is
// returned only for a browser or as the answer to this call's own pull.
func (k *Consumer) next(ctx context.Context, pulled *bool) (*wire.MessageDispatch, error) {
	c := k.sess.conn
	for {
		var hold <-chan time.Time
		k.mu.Lock()
		if k.mu.closed != nil {
			err := k.mu.closed
			k.mu.Unlock()
			return nil, err
		}
		sendPull := false
		if wait := time.Until(k.mu.holdUntil); wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			hold = t.C
		} else if len(k.mu.queue) > 0 {
			md := k.mu.queue[0]
			k.mu.queue[0] = nil
			k.mu.queue = k.mu.queue[1:]
			stale := md.Message == nil && !k.browser && (k.mu.pulls > 0 || !*pulled)
			k.mu.Unlock()
			if stale {
				continue // the answer to an earlier, abandoned pull
			}
			return md, nil
		} else if k.prefetch == 0 && (!*pulled || k.mu.repull) {
			k.mu.pulls++
			k.mu.repull = false
			*pulled, sendPull = true, true
		}
		k.mu.Unlock()
		if sendPull {
			if err := c.send(ctx, k.pull(ctx)); err != nil {
				return nil, err
			}
		}
		select {
		case <-k.signal:
		case <-hold:
		case <-k.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.lost:
			return nil, c.Err()
		}
	}
}

// pull is the MessagePull for one Receive: timeout 0 waits for ever, else
// the milliseconds left before ctx's deadline.
func (k *Consumer) pull(ctx context.Context) *wire.MessagePull {
	p := &wire.MessagePull{ConsumerID: k.info.ConsumerID, Destination: k.info.Destination}
	if dl, ok := ctx.Deadline(); ok {
		p.Timeout = max(time.Until(dl).Milliseconds(), 1)
	}
	return p
}

// consume hands a dispatched message to the application and sends the
// acknowledgement its session's mode calls for. An expired message is
// acknowledged as EXPIRED and skipped (nil, nil).
func (k *Consumer) consume(md *wire.MessageDispatch) (*Message, error) {
	s, c := k.sess, k.sess.conn
	w := md.Message
	if w.Expiration > 0 && time.Now().UnixMilli() > w.Expiration && !k.browser {
		return nil, c.oneway(k.ackFor(wire.AckExpired, w.MessageID, w.MessageID, 1, nil))
	}
	if !k.browser && c.audit.duplicate(w.MessageID) {
		// Consumed already; the broker resent it because the ack was lost
		// in a failover. Acknowledge it again and skip it.
		return nil, c.oneway(k.ackFor(wire.AckStandard, w.MessageID, w.MessageID, 1, nil))
	}
	m, err := fromWire(w, md.RedeliveryCounter)
	if err != nil {
		ack := k.ackFor(wire.AckPoison, w.MessageID, w.MessageID, 1, nil)
		ack.PoisonCause = &wire.Throwable{Class: "javax.jms.MessageFormatException", Message: err.Error()}
		c.oneway(ack)
		return nil, err
	}
	if k.browser {
		if ack := k.deliveredLater(md, nil); ack != nil {
			return m, c.oneway(ack)
		}
		return m, nil
	}
	var tx *wire.LocalTransactionID
	if s.mode == Transacted {
		if tx, err = s.ensureTx(); err != nil {
			return nil, err
		}
	}
	m.cons, m.md = k, md
	k.mu.Lock()
	if w.MessageID != nil {
		k.mu.lastSeq = max(k.mu.lastSeq, w.MessageID.BrokerSequenceID)
	}
	var ack *wire.MessageAck
	switch s.mode {
	case AutoAck:
		c.audit.consumed(w.MessageID)
		ack = k.ackFor(wire.AckStandard, w.MessageID, w.MessageID, 1, nil)
	case DupsOKAck:
		c.audit.consumed(w.MessageID)
		k.mu.delivered = append(k.mu.delivered, md)
		if len(k.mu.delivered) >= max(1, k.prefetch/2) {
			ack = k.ackAllLocked(wire.AckStandard, nil)
			k.mu.delivered = nil
		}
	default:
		k.mu.delivered = append(k.mu.delivered, md)
		ack = k.deliveredLaterLocked(md, tx)
	}
	k.mu.Unlock()
	if ack != nil {
		if err := c.oneway(ack); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (k *Consumer) deliveredLater(md *wire.MessageDispatch, tx *wire.LocalTransactionID) *wire.MessageAck {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.deliveredLaterLocked(md, tx)
}

// deliveredLaterLocked counts a delivery and, past half the prefetch,
// returns a DELIVERED ack that lets the broker send more (Java's ackLater).
func (k *Consumer) deliveredLaterLocked(md *wire.MessageDispatch, tx *wire.LocalTransactionID) *wire.MessageAck {
	k.mu.pendingN++
	if k.mu.pendingFirst == nil {
		k.mu.pendingFirst = md.Message.MessageID
	}
	if 0.5*float64(k.prefetch) > float64(k.mu.pendingN) {
		return nil
	}
	ack := k.ackFor(wire.AckDelivered, k.mu.pendingFirst, md.Message.MessageID, k.mu.pendingN, tx)
	k.mu.pendingN, k.mu.pendingFirst = 0, nil
	return ack
}

func (k *Consumer) ackFor(typ byte, first, last *wire.MessageID, n int, tx *wire.LocalTransactionID) *wire.MessageAck {
	a := &wire.MessageAck{Destination: k.info.Destination, ConsumerID: k.info.ConsumerID, AckType: typ,
		FirstMessageID: first, LastMessageID: last, MessageCount: int32(n)}
	if tx != nil {
		a.TransactionID = tx
	}
	return a
}

// ackAll returns an ack of type typ for everything delivered and not yet
// acknowledged (nil if nothing is).
func (k *Consumer) ackAll(typ byte, tx *wire.LocalTransactionID) *wire.MessageAck {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ackAllLocked(typ, tx)
}

func (k *Consumer) ackAllLocked(typ byte, tx *wire.LocalTransactionID) *wire.MessageAck {
	d := k.mu.delivered
	if len(d) == 0 {
		return nil
	}
	return k.ackFor(typ, d[0].Message.MessageID, d[len(d)-1].Message.MessageID, len(d), tx)
}

// settle forgets the delivered messages once they are acknowledged.
func (k *Consumer) settle() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, md := range k.mu.delivered {
		k.sess.conn.audit.consumed(md.Message.MessageID)
	}
	k.mu.delivered = nil
	k.mu.pendingN, k.mu.pendingFirst = 0, nil
}

// ackOne returns the INDIVIDUAL ack for md and forgets it (nil if it was
// acknowledged already).
func (k *Consumer) ackOne(md *wire.MessageDispatch) *wire.MessageAck {
	k.mu.Lock()
	defer k.mu.Unlock()
	i := slices.Index(k.mu.delivered, md)
	if i < 0 {
		return nil
	}
	k.mu.delivered = slices.Delete(k.mu.delivered, i, i+1)
	k.sess.conn.audit.consumed(md.Message.MessageID)
	return k.ackFor(wire.AckIndividual, md.Message.MessageID, md.Message.MessageID, 1, nil)
}
