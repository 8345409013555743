package broker

import (
	"context"
	"fmt"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/message"
)

// Advisory topics on which the broker announces temporary destinations, as
// ActiveMQ does: JMS clients watch them to know which temporary
// destinations exist before sending to one.
const (
	AdvisoryTempQueue = "ActiveMQ.Advisory.TempQueue"
	AdvisoryTempTopic = "ActiveMQ.Advisory.TempTopic"
	// PropAdvisoryOp is "add" or "remove".
	PropAdvisoryOp = "pier.advisoryOp"
	// PropAdvisoryDest is the destination the advisory is about, as
	// kind://name.
	PropAdvisoryDest = "pier.advisoryDestination"
)

// TempDestination creates (or returns) a temporary destination of this
// connection. name must be unique broker-wide; adapters derive it from ID()
// (OpenWire clients choose it themselves from their connection id).
func (c *Conn) TempDestination(kind message.DestKind, name string) (message.Destination, error) {
	if !kind.IsTemp() {
		return message.Destination{}, fmt.Errorf("%w: %v is not a temporary kind", message.ErrBadDestination, kind)
	}
	if err := message.ValidateName(name); err != nil {
		return message.Destination{}, err
	}
	d := message.Destination{Kind: kind, Name: name}
	if !c.ownsTemp(d) {
		if err := c.b.guard.Authorize(c.subject, auth.Admin, d); err != nil {
			return message.Destination{}, err
		}
	}
	created, err := c.addTemp(d)
	if err == nil && created {
		c.b.advise(d, "add")
	}
	return d, err
}

// ownsTemp reports whether d is one of c's temporary destinations.
func (c *Conn) ownsTemp(d message.Destination) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.mu.temps[d]
	return ok
}

func (c *Conn) addTemp(d message.Destination) (created bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkOpen(); err != nil {
		return false, err
	}
	if _, ok := c.mu.temps[d]; ok {
		return false, nil
	}
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if owner := b.mu.temps[d]; owner != nil {
		return false, fmt.Errorf("%w: %s belongs to another connection", ErrTempNotOwner, d)
	}
	b.mu.temps[d] = c
	if d.Kind == message.TempQueue {
		b.mu.tempQs[d] = b.newQueue(d, "")
	}
	c.mu.temps[d] = struct{}{}
	return true, nil
}

// DeleteTemp deletes one of the connection's temporary destinations.
func (c *Conn) DeleteTemp(d message.Destination) error {
	c.mu.Lock()
	_, ok := c.mu.temps[d]
	delete(c.mu.temps, d)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSuchTemp, d)
	}
	c.b.deleteTemp(d)
	return nil
}

func (b *Broker) deleteTemp(d message.Destination) {
	b.mu.Lock()
	q := b.mu.tempQs[d]
	delete(b.mu.tempQs, d)
	delete(b.mu.temps, d)
	b.mu.Unlock()
	if q != nil {
		q.delete()
	}
	b.advise(d, "remove")
}

// advisory builds the advisory message announcing op on temporary d.
func advisory(d message.Destination, op string) *message.Message {
	topic := AdvisoryTempQueue
	if d.Kind == message.TempTopic {
		topic = AdvisoryTempTopic
	}
	return &message.Message{
		Dest: message.Destination{Kind: message.Topic, Name: topic}, Type: "Advisory",
		Priority: message.DefaultPriority, BodyKind: message.Plain,
		Properties: map[string]any{PropAdvisoryOp: op, PropAdvisoryDest: d.String()},
	}
}

// advise publishes an advisory (non-persistent) to the advisory topic's
// subscribers, if any.
func (b *Broker) advise(d message.Destination, op string) {
	m := advisory(d, op)
	m.Timestamp = b.now()
	m.ID = fmt.Sprintf("ID:%s-%s-0:0:0:%d", b.cfg.Name, b.run, b.nextID())
	if err := b.apply(context.Background(), &change{sends: []*message.Message{m}}); err != nil {
		b.log.Warn("advisory not published", "dest", d.String(), "op", op, "err", err)
	}
}

// replayTemps gives a new subscriber of the advisory topics an "add"
// advisory for every temporary destination that exists, as ActiveMQ does.
func (b *Broker) replayTemps(s *Subscription) {
	wantQ, wantT := s.matches(AdvisoryTempQueue), s.matches(AdvisoryTempTopic)
	if s.own == nil || !(wantQ || wantT) {
		return
	}
	b.mu.RLock()
	var ds []message.Destination
	for d := range b.mu.temps {
		if (d.Kind == message.TempQueue && wantQ) || (d.Kind == message.TempTopic && wantT) {
			ds = append(ds, d)
		}
	}
	b.mu.RUnlock()
	var es []*entry
	for _, d := range ds {
		m := advisory(d, "add")
		m.Timestamp = b.now()
		m.ID = fmt.Sprintf("ID:%s-%s-0:0:0:%d", b.cfg.Name, b.run, b.nextID())
		if e, ok := s.own.enqueue(m, 0); ok {
			es = append(es, e)
		}
	}
	s.own.settle(es, true)
}
