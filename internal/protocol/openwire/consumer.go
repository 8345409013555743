package openwire

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// consumer is one JMS consumer: its id, subscription, and the deliveries not
// yet acknowledged, in dispatch order (acknowledgements name ranges of them
// by message id).
type consumer struct {
	id      *wire.ConsumerID
	key     string
	sub     *broker.Subscription
	browser bool

	mu    sync.Mutex
	order []sent
	ready bool                    // the ConsumerInfo was answered
	early []*wire.MessageDispatch // dispatched before that, sent after it
}

type sent struct {
	msg msgKey // of the dispatched message
	tag uint64
}

// msgKey identifies a message as MessageId.equals does: producer id and
// producer sequence (the text view of an id without a producer id).
type msgKey struct {
	producer    wire.ProducerID
	seq         int64
	text        string
	hasProducer bool
}

func messageKey(id *wire.MessageID) msgKey {
	switch {
	case id == nil:
		return msgKey{}
	case id.ProducerID == nil:
		return msgKey{text: id.TextView}
	}
	return msgKey{producer: *id.ProducerID, seq: id.ProducerSequenceID, hasProducer: true}
}

// tags returns the delivery tags an acknowledgement names: the range from
// first (or the oldest, if nil) through last, or last alone. Acks mostly
// name the oldest deliveries, so the search starts there.
func (k *consumer) tags(first, last *wire.MessageID, single bool) []uint64 {
	lk := messageKey(last)
	k.mu.Lock()
	defer k.mu.Unlock()
	end := -1
	for i := range k.order {
		if k.order[i].msg == lk {
			end = i
			break
		}
	}
	if end < 0 {
		return nil
	}
	start := end
	if !single {
		start = 0
		if fk := messageKey(first); first != nil {
			for i := 0; i <= end; i++ {
				if k.order[i].msg == fk {
					start = i
					break
				}
			}
		}
	}
	out := make([]uint64, 0, end-start+1)
	for _, s := range k.order[start : end+1] {
		out = append(out, s.tag)
	}
	return out
}

// forget drops acknowledged deliveries; in the common case they are the
// oldest ones.
func (k *consumer) forget(tags []uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	prefix := len(tags) <= len(k.order)
	for i := 0; prefix && i < len(tags); i++ {
		prefix = k.order[i].tag == tags[i]
	}
	if prefix {
		clear(k.order[:len(tags)])
		k.order = k.order[len(tags):]
		return
	}
	drop := make(map[uint64]bool, len(tags))
	for _, t := range tags {
		drop[t] = true
	}
	kept := k.order[:0]
	for _, s := range k.order {
		if !drop[s.tag] {
			kept = append(kept, s)
		}
	}
	clear(k.order[len(kept):])
	k.order = kept
}

// txAck is an acknowledgement inside a transaction, settled at commit.
type txAck struct {
	cons *consumer
	tags []uint64
}

func (c *conn) consumer(key string) *consumer {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.consumers[key]
}

// consumerOf is consumer(id.String()) without making the string.
func (c *conn) consumerOf(id *wire.ConsumerID) *consumer {
	var buf [96]byte
	key := id.Append(buf[:0])
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.consumers[string(key)]
}

func (c *conn) onConsumerInfo(info *wire.ConsumerInfo) error {
	if info.ConsumerID == nil {
		return errors.New("openwire: ConsumerInfo without a consumer id")
	}
	dest, err := destToCore(info.Destination)
	if err != nil {
		return err
	}
	k := &consumer{id: info.ConsumerID, key: info.ConsumerID.String(), browser: info.Browser}
	c.cmu.Lock()
	if c.consumers[k.key] != nil {
		c.cmu.Unlock()
		return fmt.Errorf("openwire: consumer %s already exists", k.key)
	}
	c.consumers[k.key] = k
	c.cmu.Unlock()
	if k.browser {
		if err := c.browse(k, dest, info.Selector); err != nil {
			c.cmu.Lock()
			delete(c.consumers, k.key)
			c.cmu.Unlock()
			return err // e.g. an invalid selector: InvalidSelectorException
		}
		return nil
	}
	o := broker.SubOptions{ID: k.key, Dest: dest, Ack: broker.AckIndividual, Prefetch: int(info.PrefetchSize),
		Selector: info.Selector, DurableName: info.SubscriptionName, NoLocal: info.NoLocal,
		Priority:  int(int8(info.Priority)), // a signed byte: bridges consume at -5 and below
		Exclusive: info.Exclusive}           // queue://X?consumer.exclusive=true
	if info.PrefetchSize == 0 {
		o.Prefetch = broker.PrefetchPull
	}
	subOptionsOf(info, &o)
	sub, err := c.bc.Subscribe(c.ctx, o)
	if err != nil {
		c.cmu.Lock()
		delete(c.consumers, k.key)
		c.cmu.Unlock()
		return err
	}
	k.mu.Lock()
	k.sub = sub
	k.mu.Unlock()
	// Messages may be dispatched while subscribing; the client gets them
	// after the answer to its ConsumerInfo, as from ActiveMQ.
	c.afterAnswer(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, md := range k.early {
			c.send(md)
		}
		k.early, k.ready = nil, true
	})
	return nil
}

// browse sends a browser the queue's messages, then the end-of-browse
// marker (a dispatch without a message), after the ConsumerInfo's answer.
func (c *conn) browse(k *consumer, dest message.Destination, selector string) error {
	ms, err := c.bc.Browse(c.ctx, dest, selector, 0)
	if err != nil {
		return err
	}
	c.afterAnswer(func() {
		for _, m := range ms {
			w, err := toWire(m)
			if err != nil {
				continue
			}
			c.send(&wire.MessageDispatch{ConsumerID: k.id, Destination: w.Destination, Message: w, RedeliveryCounter: m.DeliveryCount})
		}
		c.send(&wire.MessageDispatch{ConsumerID: k.id, Destination: destToWire(dest)})
	})
	return nil
}

// afterAnswer runs f once the answer to the command being handled is queued.
func (c *conn) afterAnswer(f func()) { c.pending = append(c.pending, f) }

func (c *conn) removeConsumer(key string, seen uint64) error {
	c.cmu.Lock()
	k := c.consumers[key]
	delete(c.consumers, key)
	c.cmu.Unlock()
	if k == nil || k.browser {
		return nil
	}
	return c.bc.UnsubscribeAfter(key, seen)
}

func (c *conn) consumersOfSession(id *wire.SessionID) []string {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	var keys []string
	for key, k := range c.consumers {
		if k.id.ConnectionID == id.ConnectionID && k.id.SessionID == id.Value {
			keys = append(keys, key)
		}
	}
	return keys
}

// Deliver implements broker.Sink.
func (c *conn) Deliver(d *broker.Delivery) {
	k := c.consumer(d.Sub.ID())
	if k == nil {
		return // closed; the core gives the message to someone else
	}
	w, err := toWire(d.Msg)
	if err != nil {
		c.log.Error("cannot convert a message for a JMS consumer; dead-lettering it", "err", err)
		c.bc.Poison(c.ctx, d.Sub.ID(), []uint64{d.Tag}, err.Error())
		return
	}
	if a, ok := broker.ConsumerAdvisoryOf(d.Msg); ok {
		if w, err = c.consumerAdvisoryToWire(w, &a, d.Msg); err != nil {
			c.log.Error("cannot convert a consumer advisory; dead-lettering it", "err", err)
			c.bc.Poison(c.ctx, d.Sub.ID(), []uint64{d.Tag}, err.Error())
			return
		}
	} else if op, ok := d.Msg.Properties[broker.PropAdvisoryOp].(string); ok {
		w = advisoryToWire(w, d.Msg, op)
	}
	w.MessageID.BrokerSequenceID = int64(d.Tag)
	md := &wire.MessageDispatch{ConsumerID: k.id, Destination: w.Destination, Message: w, RedeliveryCounter: d.Msg.DeliveryCount}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.order = append(k.order, sent{messageKey(w.MessageID), d.Tag})
	if !k.ready {
		k.early = append(k.early, md)
		return
	}
	c.send(md)
}

// advisoryToWire turns a core advisory about a temporary destination into
// the ActiveMQ advisory a JMS client understands: a plain message carrying
// a DestinationInfo.
func advisoryToWire(w *wire.Message, m *message.Message, op string) *wire.Message {
	raw, _ := m.Properties[broker.PropAdvisoryDest].(string)
	d, err := message.ParseDestination(raw)
	if err != nil {
		return w
	}
	info := &wire.DestinationInfo{Destination: destToWire(d), OperationType: wire.DestinationAdd}
	if op == "remove" {
		info.OperationType = wire.DestinationRemove
	}
	if i := strings.LastIndexByte(d.Name, ':'); i > 0 {
		info.ConnectionID = &wire.ConnectionID{Value: d.Name[:i]}
	}
	w.Type = wire.TypeMessage
	w.Content = nil
	w.MarshalledProperties = nil
	w.DataStructure = info
	return w
}

func (c *conn) onAck(a *wire.MessageAck) error {
	if a.ConsumerID == nil {
		return errors.New("openwire: MessageAck without a consumer id")
	}
	k := c.consumerOf(a.ConsumerID)
	if k == nil || k.browser {
		return nil // an ack racing the consumer's close, or a browser's: nothing to do
	}
	switch a.AckType {
	case wire.AckDelivered:
		if k.sub != nil {
			k.sub.Extend(int(a.MessageCount))
		}
		return nil
	case wire.AckRedelivered:
		// The client redelivers these itself (recover, rollback); count it.
		c.bc.Redelivered(k.key, k.tags(a.FirstMessageID, a.LastMessageID, false))
		return nil
	}
	tags := k.tags(a.FirstMessageID, a.LastMessageID, a.AckType == wire.AckIndividual)
	if len(tags) == 0 {
		return nil // not dispatched here (a failover race): ActiveMQ ignores it too
	}
	tx := txKey(a.TransactionID)
	var err error
	if a.AckType == wire.AckPoison {
		cause := "poison acknowledgement"
		if a.PoisonCause != nil {
			cause = a.PoisonCause.Class + ": " + a.PoisonCause.Message
		}
		err = c.bc.Poison(c.ctx, k.key, tags, cause)
	} else {
		err = c.bc.AckTags(c.ctx, k.key, tags, tx, a.ResponseRequired())
	}
	if errors.Is(err, broker.ErrUnknownDelivery) {
		return nil
	}
	if err != nil {
		return err
	}
	if tx != "" && a.AckType != wire.AckPoison {
		c.txAcks[tx] = append(c.txAcks[tx], txAck{cons: k, tags: tags})
	} else {
		k.forget(tags)
	}
	return nil
}

// onPull answers a prefetch-0 consumer's receive: a message if one comes in
// time, else a dispatch without a message.
func (c *conn) onPull(p *wire.MessagePull) error {
	if p.ConsumerID == nil {
		return errors.New("openwire: MessagePull without a consumer id")
	}
	k := c.consumerOf(p.ConsumerID)
	if k == nil || k.sub == nil {
		return nil
	}
	k.sub.Pull()
	empty := func() {
		if k.sub.CancelPull() {
			c.send(&wire.MessageDispatch{ConsumerID: k.id, Destination: p.Destination})
		}
	}
	switch {
	case p.Timeout < 0:
		empty()
	case p.Timeout > 0:
		c.afterFunc(time.Duration(p.Timeout)*time.Millisecond, empty)
	}
	return nil
}
