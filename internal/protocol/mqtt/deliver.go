package mqtt

import (
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// Outbound messages: a delivery goes out at the lower of its published QoS
// and the subscription's. QoS 0 is acknowledged to the broker once
// written; QoS 1 at PUBACK; QoS 2 at PUBREC, together with a mark that its
// PUBREL is pending in a persistent session, so that the next master sends
// the PUBREL rather than the message again. At most quota QoS 1 and 2
// messages are in flight; the rest wait, in order.

// Deliver implements broker.Sink.
func (s *session) Deliver(d *broker.Delivery) {
	s.mu.Lock()
	sb := s.mu.subs[d.Sub.ID()]
	if sb == nil {
		s.mu.Unlock()
		return // unsubscribed meanwhile: the broker takes the delivery back
	}
	qos := min(sb.qos, qosOf(d.Msg))
	if qos == 0 {
		s.mu.Unlock()
		s.out.Push(outItem{p: s.publishOf(d.Msg, sb, 0, 0, false, false), auto: d})
		return
	}
	it, ok := s.admit(waiting{d: d, s: sb, qos: qos})
	s.mu.Unlock()
	if ok {
		s.out.Push(it)
	}
}

// sendRetained sends a subscription's retained message.
func (s *session) sendRetained(sb *sub, m *message.Message) {
	qos := min(sb.qos, qosOf(m))
	if qos == 0 {
		s.out.Push(outItem{p: s.publishOf(m, sb, 0, 0, false, true)})
		return
	}
	s.mu.Lock()
	it, ok := s.admit(waiting{retained: m, s: sb, qos: qos})
	s.mu.Unlock()
	if ok {
		s.out.Push(it)
	}
}

// admit gives w a packet id and returns its PUBLISH, or queues it while
// the flight is full (or others wait). Called with s.mu held.
func (s *session) admit(w waiting) (outItem, bool) {
	if len(s.mu.waiting) > 0 || len(s.mu.inflight) >= s.mu.quota {
		s.mu.waiting = append(s.mu.waiting, w)
		return outItem{}, false
	}
	return s.fly(w), true
}

// fly puts w in flight. Called with s.mu held.
func (s *session) fly(w waiting) outItem {
	var id uint16
	if w.d != nil {
		id = s.idFor(w.d.Seq)
	} else {
		id = s.nextID()
	}
	f := &flight{d: w.d, qos: w.qos}
	s.mu.inflight[id] = f
	if w.d != nil {
		p := s.publishOf(w.d.Msg, w.s, w.qos, id, w.d.Msg.Redelivered(), false)
		return outItem{p: p, dropped: func() { s.settled(id) }}
	}
	return outItem{p: s.publishOf(w.retained, w.s, w.qos, id, false, true), dropped: func() { s.settled(id) }}
}

// idFor returns the packet id of a delivery: derived from its sequence
// number, so a message sent again after a reconnect — to this broker or,
// stored, to the next master — has the id it was first sent with
// (MQTT-4.4.0-1: the client takes it for the same message, which matters
// for QoS 2). Another id in flight there moves it to the next free one.
func (s *session) idFor(seq uint64) uint16 {
	id := uint16(seq%65535) + 1
	for {
		if _, used := s.mu.inflight[id]; !used {
			return id
		}
		if id++; id == 0 {
			id = 1
		}
	}
}

// nextID returns a packet id not in flight. Called with s.mu held; there
// is always one (quota < 65535).
func (s *session) nextID() uint16 {
	for {
		s.mu.nextID++
		if s.mu.nextID == 0 {
			s.mu.nextID = 1
		}
		if _, used := s.mu.inflight[s.mu.nextID]; !used {
			return s.mu.nextID
		}
	}
}

// land ends the flight of id and lets waiting deliveries fly; it returns
// the flight (nil if id was not in flight).
func (s *session) land(id uint16) *flight {
	s.mu.Lock()
	f := s.mu.inflight[id]
	delete(s.mu.inflight, id)
	var next []outItem
	for len(s.mu.waiting) > 0 && len(s.mu.inflight) < s.mu.quota {
		w := s.mu.waiting[0]
		s.mu.waiting[0] = waiting{}
		s.mu.waiting = s.mu.waiting[1:]
		next = append(next, s.fly(w))
	}
	if len(s.mu.waiting) == 0 {
		s.mu.waiting = nil
	}
	s.mu.Unlock()
	for _, it := range next {
		s.out.Push(it)
	}
	return f
}

// settled ends the flight of id and acknowledges its delivery to the
// broker: at PUBACK, at a PUBREC that refuses it, or without the client
// for a message too large for it. It reports whether id was in flight.
func (s *session) settled(id uint16) bool {
	f := s.land(id)
	if f != nil && f.d != nil {
		s.conn.Ack(s.ctx, f.d.Sub.ID(), f.d.Tag, "", false)
	}
	return f != nil
}

func (s *session) onPuback(id uint16) error {
	if !s.settled(id) {
		s.log.Debug("PUBACK of a packet id not in flight", "client_id", s.clientID, "id", id)
	}
	return nil
}

func (s *session) onPubrec(p *packet.Pubrec) error {
	id := p.PacketID
	s.mu.Lock()
	f := s.mu.inflight[id]
	s.mu.Unlock()
	if f == nil || f.qos != 2 {
		ack := packet.Ack{PacketID: id}
		if s.version == packet.Version5 {
			ack.Reason = packet.PacketIDNotFound
		}
		s.out.Write(outItem{p: &packet.Pubrel{Ack: ack}})
		return nil
	}
	if p.Reason.Failed() {
		// The client refused it (MQTT 5): the exchange ends here.
		s.settled(id)
		return nil
	}
	if !f.pubrel {
		if f.d != nil {
			var err error
			if s.persistent() {
				err = s.conn.AckMarked(s.ctx, f.d.Sub.ID(), f.d.Tag, markKey("out", s.clientID, id))
				f.marked = err == nil
			} else {
				err = s.conn.Ack(s.ctx, f.d.Sub.ID(), f.d.Tag, "", false)
			}
			if err != nil && unavailable(err) {
				return s.fail(packet.ServerUnavailable, "%v", err)
			}
		}
		f.pubrel = true
	}
	s.out.Write(outItem{p: &packet.Pubrel{Ack: packet.Ack{PacketID: id}}})
	return nil
}

func (s *session) onPubcomp(id uint16) error {
	f := s.land(id)
	if f != nil && f.marked {
		if err := s.srv.b.Unmark(s.ctx, markKey("out", s.clientID, id)); err != nil && unavailable(err) {
			return s.fail(packet.ServerUnavailable, "%v", err)
		}
	}
	return nil
}

// publishOf makes the PUBLISH of a message for a subscription.
func (s *session) publishOf(m *message.Message, sb *sub, qos byte, id uint16, dup, retained bool) *packet.Publish {
	p := toPublish(m, s.version, time.Now().UnixMilli())
	p.QoS, p.PacketID, p.Dup = qos, id, dup && qos > 0
	p.Retain = retained || sb.opts.RetainAsPublished && broker.Retains(m)
	if sb.subID != 0 && s.version == packet.Version5 {
		p.Properties.SubscriptionIDs = []uint32{sb.subID}
	}
	return p
}

// resend puts a resumed session's pending PUBRELs back in flight and sends
// them (what the broker redelivers comes by itself, with DUP set).
func (s *session) resend(ids map[uint16]string) {
	if len(ids) == 0 {
		return
	}
	s.mu.Lock()
	for id := range ids {
		s.mu.inflight[id] = &flight{qos: 2, pubrel: true, marked: true}
	}
	s.mu.Unlock()
	for id := range ids {
		s.out.Push(outItem{p: &packet.Pubrel{Ack: packet.Ack{PacketID: id}}})
	}
}
