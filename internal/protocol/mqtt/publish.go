package mqtt

import (
	"errors"
	"strconv"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// Inbound PUBLISH: QoS 0 is sent as a non-persistent message, QoS 1 and 2
// as persistent ones, acknowledged (PUBACK, PUBREC) once durable. A QoS 2
// PUBLISH of a persistent session is stored with a mark (broker.SendMarked)
// that stays until its PUBREL: the same PUBLISH sent again with DUP — after
// a reconnect, to this master or the next — is recognised and not stored
// twice.

// markKey names a mark of this session: kind "in" (a QoS 2 PUBLISH
// received, PUBREL pending) or "out" (a QoS 2 delivery received by the
// client, PUBREL sent).
func markKey(kind, clientID string, id uint16) string {
	return markPrefix(kind, clientID) + strconv.Itoa(int(id))
}

func markPrefix(kind, clientID string) string { return "mqtt:" + kind + ":" + clientID + ":" }

// markIDs returns the packet ids of a session's marks of one kind.
func markIDs(b *broker.Broker, kind, clientID string) map[uint16]string {
	prefix := markPrefix(kind, clientID)
	out := map[uint16]string{}
	for _, k := range b.Marks(prefix) {
		n, err := strconv.ParseUint(k[len(prefix):], 10, 16)
		if err == nil && n > 0 {
			out[uint16(n)] = k
		}
	}
	return out
}

// maxBatch bounds the QoS 1 publishes written in one store write.
const maxBatch = 256

// inbound is a PUBLISH whose topic is resolved.
type inbound struct {
	p     *packet.Publish
	topic string
}

// onPublish handles a PUBLISH. A QoS 1 PUBLISH with more input already
// buffered behind it waits in s.batch (flushed before any other packet is
// handled, and when the input runs dry): a client that pipelines its QoS
// 1 publishes has a run of them stored in one write, one sync, and
// acknowledged together.
func (s *session) onPublish(p *packet.Publish) error {
	topic, err := s.topicOf(p)
	if err != nil {
		return err
	}
	if p.QoS == 1 {
		s.batch = append(s.batch, inbound{p, topic})
		if s.br.Buffered() > 0 && len(s.batch) < maxBatch {
			return nil
		}
		return s.flush()
	}
	if err := s.flush(); err != nil {
		return err
	}
	if p.QoS == 2 && s.qos2In[p.PacketID] {
		// Received already; its PUBREL has not come: the client sends it
		// again (DUP) or, in MQTT 5, may not reuse the id.
		if !p.Dup && s.version == packet.Version5 {
			return s.fail(packet.PacketIDInUse, "packet id %d is in use (PUBREL pending)", p.PacketID)
		}
		s.out.Write(outItem{p: &packet.Pubrec{Ack: packet.Ack{PacketID: p.PacketID}}})
		return nil
	}
	if p.QoS == 2 && len(s.qos2In) >= int(s.srv.cfg.ReceiveMaximum) {
		return s.fail(packet.ReceiveMaximumExceeded, "more than %d QoS 2 messages awaiting PUBREL", s.srv.cfg.ReceiveMaximum)
	}
	m, err := toMessage(p, topic, time.Now())
	if err == nil {
		if p.QoS == 2 && s.persistent() {
			_, err = s.conn.SendMarked(s.ctx, m, markKey("in", s.clientID, p.PacketID), p.Dup)
		} else {
			err = s.conn.Send(s.ctx, m, "")
		}
	}
	if err := s.refused(topic, err); err != nil {
		return err
	}
	if p.QoS == 2 {
		ack := s.ackOf(p.PacketID, err)
		if err == nil {
			s.qos2In[p.PacketID] = true
		}
		s.out.Write(outItem{p: &packet.Pubrec{Ack: ack}})
	}
	return nil
}

// topicOf resolves a PUBLISH's topic (MQTT 5 topic aliases) and checks it.
func (s *session) topicOf(p *packet.Publish) (string, error) {
	topic := p.Topic
	if a := p.Properties.TopicAlias; a != 0 {
		if a > s.srv.cfg.TopicAliasMaximum {
			return "", s.fail(packet.TopicAliasInvalid, "topic alias %d, more than the maximum of %d", a, s.srv.cfg.TopicAliasMaximum)
		}
		if topic == "" {
			t, ok := s.aliases[a]
			if !ok {
				return "", s.fail(packet.ProtocolError, "topic alias %d was never set", a)
			}
			topic = t
		} else {
			s.aliases[a] = topic
		}
	}
	if err := packet.ValidTopicName(topic); err != nil {
		return "", s.fail(packet.TopicNameInvalid, "%v", err)
	}
	return topic, nil
}

// flush stores the waiting QoS 1 publishes, in one transaction when there
// are several, and acknowledges them.
func (s *session) flush() error {
	batch := s.batch
	s.batch = s.batch[:0]
	if len(batch) == 0 {
		return nil
	}
	errs := make([]error, len(batch))
	tx := ""
	if len(batch) > 1 {
		tx = "mqtt-batch"
		if err := s.conn.Begin(tx); err != nil {
			return s.fail(packet.ServerUnavailable, "%v", err)
		}
	}
	now := time.Now()
	for i, in := range batch {
		m, err := toMessage(in.p, in.topic, now)
		if err == nil {
			err = s.conn.Send(s.ctx, m, tx)
		}
		errs[i] = err
	}
	if tx != "" {
		if err := s.conn.Commit(s.ctx, tx); err != nil {
			for i := range errs {
				if errs[i] == nil {
					errs[i] = err
				}
			}
		}
	}
	for i, in := range batch {
		if err := s.refused(in.topic, errs[i]); err != nil {
			return err
		}
		s.out.Write(outItem{p: &packet.Puback{Ack: s.ackOf(in.p.PacketID, errs[i])}})
	}
	return nil
}

// refused logs a publish the broker refused, and returns an error when the
// connection must end: the broker is no longer master, or an MQTT 3.1.1
// client, which cannot be told why, sent something other than what its
// permissions forbid (that is acknowledged and dropped, as Mosquitto
// does).
func (s *session) refused(topic string, err error) error {
	if err == nil {
		return nil
	}
	code := reasonOf(err)
	if unavailable(err) {
		return s.fail(packet.ServerUnavailable, "%v", err)
	}
	s.log.Debug("publish refused", "client_id", s.clientID, "topic", topic, "reason", code, "err", err)
	if s.version != packet.Version5 && code != packet.NotAuthorized {
		return s.fail(code, "%v", err)
	}
	return nil
}

// ackOf is the acknowledgement of a publish: its reason in MQTT 5.
func (s *session) ackOf(id uint16, err error) packet.Ack {
	ack := packet.Ack{PacketID: id}
	if s.version == packet.Version5 && err != nil {
		ack.Reason = reasonOf(err)
		ack.Properties.ReasonString = err.Error()
	}
	return ack
}

func (s *session) onPubrel(p *packet.Pubrel) error {
	ack := packet.Ack{PacketID: p.PacketID}
	if s.qos2In[p.PacketID] {
		if s.persistent() {
			if err := s.srv.b.Unmark(s.ctx, markKey("in", s.clientID, p.PacketID)); err != nil {
				return s.fail(packet.ServerUnavailable, "%v", err)
			}
		}
		delete(s.qos2In, p.PacketID)
	} else if s.version == packet.Version5 {
		ack.Reason = packet.PacketIDNotFound
	}
	s.out.Write(outItem{p: &packet.Pubcomp{Ack: ack}})
	return nil
}

// reasonOf maps a broker error to an MQTT 5 reason code.
func reasonOf(err error) packet.ReasonCode {
	switch {
	case err == nil:
		return packet.Success
	case errors.Is(err, auth.ErrNotAuthorized):
		return packet.NotAuthorized
	case errors.Is(err, broker.ErrStoreFull), errors.Is(err, broker.ErrMemoryLimit):
		return packet.QuotaExceeded
	case errors.Is(err, message.ErrBadDestination):
		return packet.TopicNameInvalid
	case unavailable(err):
		return packet.ServerUnavailable
	}
	return packet.ImplementationError
}
