package client

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// redeliver puts the delivered, unacknowledged messages back in front of
// the queue with their redelivery counters raised, after a REDELIVERED ack
// for the range; past MaxRedeliveries it POISON-acks them instead (Java's
// ActiveMQMessageConsumer.rollback).
func (k *Consumer) redeliver() {
	c := k.sess.conn
	k.mu.Lock()
	ds := k.mu.delivered
	k.mu.delivered = nil
	k.mu.pendingN, k.mu.pendingFirst = 0, nil
	if len(ds) == 0 || k.mu.closed != nil {
		k.mu.Unlock()
		return
	}
	for _, md := range ds {
		md.RedeliveryCounter++
		md.Message.RedeliveryCounter = md.RedeliveryCounter
	}
	first, last := ds[0].Message.MessageID, ds[len(ds)-1]
	var ack *wire.MessageAck
	if lim := c.opts.MaxRedeliveries; lim >= 0 && int(last.RedeliveryCounter) > lim {
		ack = k.ackFor(wire.AckPoison, first, last.Message.MessageID, len(ds), nil)
		ack.PoisonCause = &wire.Throwable{Class: "java.lang.Throwable", Message: fmt.Sprintf(
			"Delivery[%d] exceeds redelivery policy limit:RedeliveryPolicy {maximumRedeliveries = %d}",
			last.RedeliveryCounter, lim)}
	} else {
		ack = k.ackFor(wire.AckRedelivered, first, last.Message.MessageID, len(ds), nil)
		k.mu.queue = append(slices.Clone(ds), k.mu.queue...)
		if c.opts.RedeliveryDelay > 0 {
			k.mu.holdUntil = time.Now().Add(c.opts.RedeliveryDelay)
		}
	}
	k.mu.Unlock()
	c.oneway(ack)
	k.wake()
}

// markClosed closes the consumer on the broker's request (ConsumerControl).
func (k *Consumer) markClosed(why error) { k.dispose(why) }

// dispose closes the consumer locally: pending DupsOK acks are sent,
// waiting Receives return, prefetched messages are dropped (the broker
// redelivers them). It returns the lastDeliveredSequenceId for RemoveInfo.
func (k *Consumer) dispose(why error) int64 {
	c := k.sess.conn
	k.mu.Lock()
	last := k.mu.lastSeq
	if k.mu.closed != nil {
		k.mu.Unlock()
		return last
	}
	k.mu.closed = why
	var ack *wire.MessageAck
	if k.sess.mode == DupsOKAck {
		ack = k.ackAllLocked(wire.AckStandard, nil)
		k.mu.delivered = nil
	}
	k.mu.queue = nil
	k.mu.Unlock()
	close(k.done)
	c.mu.Lock()
	delete(c.mu.consumers, k.key)
	c.mu.Unlock()
	if ack != nil {
		c.oneway(ack)
	}
	return last
}

// Close closes the consumer: RemoveInfo with the last delivered sequence
// id, so the broker redelivers what was prefetched but never handed out
// without counting it as a redelivery. Messages delivered in ClientAck or
// IndividualAck mode and not acknowledged are redelivered by the broker.
func (k *Consumer) Close(ctx context.Context) error {
	k.mu.Lock()
	closed := k.mu.closed != nil
	k.mu.Unlock()
	if closed {
		return nil
	}
	last := k.dispose(ErrClosed)
	s := k.sess
	s.mu.Lock()
	s.mu.consumers = slices.DeleteFunc(s.mu.consumers, func(x *Consumer) bool { return x == k })
	s.lastDelivered = max(s.lastDelivered, last)
	s.mu.Unlock()
	if err := s.conn.oneway(&wire.RemoveInfo{ObjectID: k.info.ConsumerID, LastDeliveredSequenceID: last}); err != nil {
		return fmt.Errorf("client: close consumer: %w", err)
	}
	return nil
}

// Browse returns the messages waiting on queue (those matching selector,
// if not empty) without consuming them. The broker may cap how many it
// shows (Pier and ActiveMQ: 400 per browse page).
func (s *Session) Browse(ctx context.Context, queue *Destination, selector string) ([]*Message, error) {
	if queue == nil || queue.IsTopic() {
		return nil, fmt.Errorf("client: browse %s: %w: not a queue", queue, ErrInvalidDestination)
	}
	info := &wire.ConsumerInfo{Destination: queue.toWire(), Browser: true, DispatchAsync: true, Selector: selector,
		PrefetchSize: int32(s.conn.opts.Prefetch.QueueBrowser)}
	k, err := s.openConsumer(ctx, info, true)
	if err != nil {
		return nil, fmt.Errorf("client: browse %s: %w", queue, err)
	}
	defer func() {
		k.dispose(ErrClosed)
		s.conn.oneway(&wire.RemoveInfo{ObjectID: info.ConsumerID, LastDeliveredSequenceID: -1})
	}()
	var out []*Message
	pulled := false
	for {
		md, err := k.next(ctx, &pulled)
		if err != nil {
			return out, fmt.Errorf("client: browse %s: %w", queue, err)
		}
		if md.Message == nil {
			return out, nil
		}
		m, err := k.consume(md)
		if err != nil {
			return out, fmt.Errorf("client: browse %s: %w", queue, err)
		}
		out = append(out, m)
	}
}
