package mqtt

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
	"github.com/piermq/pier/internal/store"
)

// Subscriptions: each MQTT subscription is a broker topic subscription
// whose id is the filter. An MQTT 5 shared subscription
// ($share/NAME/filter) is a member of a shared durable subscription
// (shared.go); it gives no retained messages. In a persistent session it is a durable
// subscription of the client id, named as ActiveMQ's MQTT transport names
// them — AT_MOST_ONCE:, AT_LEAST_ONCE: or EXACTLY_ONCE: and the filter —
// with the MQTT 5 options in between ("AT_LEAST_ONCE:id=7,rap:home/#"), so
// that the session's subscriptions, and the messages they hold while the
// client is away, are in the store: a reconnecting client finds them on
// this broker or on the next master.

var qosNames = [...]string{"AT_MOST_ONCE", "AT_LEAST_ONCE", "EXACTLY_ONCE"}

// durableName names the durable subscription of a persistent session's
// subscription.
func durableName(sb *sub) string {
	var opts []string
	if sb.subID != 0 {
		opts = append(opts, "id="+strconv.FormatUint(uint64(sb.subID), 10))
	}
	if sb.opts.RetainAsPublished {
		opts = append(opts, "rap")
	}
	if sb.opts.NoLocal {
		opts = append(opts, "nl")
	}
	return qosNames[sb.qos] + ":" + strings.Join(opts, ",") + ":" + sb.filter
}

// QueuedLimit returns the broker's DurableLimit for mqtt.max_queued: n
// for the durable subscriptions of persistent sessions, no limit for
// others.
func QueuedLimit(n int) func(store.Subscription) int {
	return func(s store.Subscription) int {
		if _, ok := parseDurable(s.Name); ok {
			return n
		}
		return 0
	}
}

// parseDurable reads back a durable subscription's name; ok is false for
// a name not made by durableName.
func parseDurable(name string) (sb *sub, ok bool) {
	q, rest, ok1 := strings.Cut(name, ":")
	opts, filter, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || filter == "" {
		return nil, false
	}
	sb = &sub{filter: filter, topic: filter, durable: name}
	switch q {
	case qosNames[0], qosNames[1], qosNames[2]:
		for i, n := range qosNames {
			if n == q {
				sb.qos = byte(i)
			}
		}
	default:
		return nil, false
	}
	if opts != "" {
		for o := range strings.SplitSeq(opts, ",") {
			switch {
			case o == "rap":
				sb.opts.RetainAsPublished = true
			case o == "nl":
				sb.opts.NoLocal = true
			case strings.HasPrefix(o, "id="):
				n, err := strconv.ParseUint(o[3:], 10, 32)
				if err != nil {
					return nil, false
				}
				sb.subID = uint32(n)
			default:
				return nil, false
			}
		}
	}
	sb.opts.Filter, sb.opts.QoS = filter, sb.qos
	return sb, true
}

func (s *session) onSubscribe(p *packet.Subscribe) error {
	var subID uint32
	if ids := p.Properties.SubscriptionIDs; len(ids) > 0 {
		subID = ids[0]
	}
	ack := &packet.Suback{PacketID: p.PacketID, Reasons: make([]packet.ReasonCode, len(p.Subscriptions))}
	type retained struct {
		sb *sub
		ms []*message.Message
	}
	var rs []retained
	for i, o := range p.Subscriptions {
		sb, isNew, code := s.subscribe(o, subID)
		ack.Reasons[i] = code
		if !code.Failed() && sb.share == "" && (o.RetainHandling == 0 || o.RetainHandling == 1 && isNew) {
			// Taken before the SUBACK: a message published after it
			// reaches the subscription live, not again as retained.
			rs = append(rs, retained{sb, s.srv.b.Retained(message.Destination{Kind: message.Topic, Name: toName(sb.topic)})})
		}
	}
	s.out.Write(outItem{p: ack})
	for _, r := range rs {
		for _, m := range r.ms {
			s.sendRetained(r.sb, m)
		}
	}
	return nil
}

// subscribe makes or replaces one subscription.
func (s *session) subscribe(o packet.Subscription, subID uint32) (sb *sub, isNew bool, code packet.ReasonCode) {
	if err := packet.ValidTopicFilter(o.Filter, s.version); err != nil {
		s.log.Debug("subscription refused", "client_id", s.clientID, "filter", o.Filter, "err", err)
		return nil, false, packet.TopicFilterInvalid
	}
	sb = &sub{filter: o.Filter, topic: o.Filter, qos: min(o.QoS, 2), opts: o, subID: subID}
	if share, inner, ok := packet.SplitShared(o.Filter); ok && s.version == packet.Version5 {
		sb.share, sb.topic = share, inner // the codec refused No Local on it
		sb.durable = inner                // of broker.SharedOwner(share) (shared.go)
	} else if s.persistent() {
		sb.durable = durableName(sb)
	}
	s.mu.Lock()
	old := s.mu.subs[o.Filter]
	s.mu.Unlock()
	if old != nil {
		if old.durable == sb.durable && old.qos == sb.qos && old.opts == sb.opts && old.subID == sb.subID {
			return old, false, packet.ReasonCode(sb.qos)
		}
		s.unsubscribe(old)
	}
	err := s.attach(sb)
	if err == nil && sb.share != "" && s.persistent() {
		err = s.srv.b.Mark(s.ctx, shareMark(s.clientID, sb))
		if err != nil {
			s.unsubscribe(sb)
		}
	}
	if err != nil {
		s.log.Debug("subscription refused", "client_id", s.clientID, "filter", o.Filter, "err", err)
		if errors.Is(err, auth.ErrNotAuthorized) {
			return nil, false, packet.NotAuthorized
		}
		return nil, false, packet.ImplementationError
	}
	return sb, old == nil, packet.ReasonCode(sb.qos)
}

// attach makes sb's broker subscription.
func (s *session) attach(sb *sub) error {
	ack := broker.AckIndividual
	if sb.qos == 0 {
		ack = broker.AckAuto
	}
	s.mu.Lock()
	s.mu.subs[sb.filter] = sb // before Subscribe: deliveries may come at once
	s.mu.Unlock()
	bs, err := s.conn.Subscribe(s.ctx, broker.SubOptions{ID: sb.filter, Dest: message.Destination{Kind: message.Topic, Name: toName(sb.topic)},
		Ack: ack, Prefetch: s.srv.cfg.MaxInflight, DurableName: sb.durable, NoLocal: sb.opts.NoLocal, Share: sb.share})
	if err != nil {
		s.mu.Lock()
		delete(s.mu.subs, sb.filter)
		s.mu.Unlock()
		return err
	}
	sb.bsub = bs
	return nil
}

// unsubscribe ends one subscription, and its durable subscription.
func (s *session) unsubscribe(sb *sub) {
	s.mu.Lock()
	delete(s.mu.subs, sb.filter)
	s.mu.Unlock()
	s.conn.Unsubscribe(sb.filter)
	if sb.share != "" {
		s.srv.leaveShare(s.ctx, s.clientID, sb)
		return
	}
	if sb.durable != "" {
		if err := s.conn.DeleteDurable(s.ctx, sb.durable); err != nil && !errors.Is(err, broker.ErrNoSuchDestination) {
			s.log.Warn("durable subscription not deleted", "client_id", s.clientID, "sub", sb.durable, "err", err)
		}
	}
}

func (s *session) onUnsubscribe(p *packet.Unsubscribe) error {
	ack := &packet.Unsuback{PacketID: p.PacketID, Reasons: make([]packet.ReasonCode, len(p.Filters))}
	for i, f := range p.Filters {
		s.mu.Lock()
		sb := s.mu.subs[f]
		s.mu.Unlock()
		if sb == nil {
			ack.Reasons[i] = packet.NoSubscriptionExisted
			continue
		}
		s.unsubscribe(sb)
	}
	s.out.Write(outItem{p: ack})
	return nil
}

// stored is what the store holds of a client's session.
type stored struct {
	marked  bool // the session's own mark: it exists, even if empty
	subs    []*sub
	in, out map[uint16]string // marks by packet id
}

func (st *stored) present() bool {
	return st.marked || len(st.subs) > 0 || len(st.in) > 0 || len(st.out) > 0
}

// sessionMark records that a persistent session exists (MQTT-3.2.2-2: a
// session with no subscriptions and nothing in flight is present too).
func sessionMark(clientID string) string { return "mqtt:sess:" + clientID }

// storedSession reads what the store holds of the client's session.
func (s *session) storedSession() *stored {
	b := s.srv.b
	st := &stored{marked: b.Marked(sessionMark(s.clientID)), in: markIDs(b, "in", s.clientID), out: markIDs(b, "out", s.clientID),
		subs: sharedSubs(b, s.clientID)}
	for _, d := range b.Durables(s.clientID) {
		if sb, ok := parseDurable(d.Name); ok && d.Topic == toName(sb.filter) {
			st.subs = append(st.subs, sb)
		}
	}
	return st
}

// resume takes up a stored session (after CONNACK: its subscriptions
// start delivering at once).
func (s *session) resume(st *stored) error {
	for id := range st.in {
		s.qos2In[id] = true
	}
	for _, sb := range st.subs {
		if err := s.attach(sb); err != nil {
			return fmt.Errorf("resume subscription %q: %w", sb.filter, err)
		}
	}
	return nil
}

// endSession deletes what a session kept in the store: its durable
// subscriptions and marks.
func (s *session) endSession(ctx context.Context) { s.srv.endSession(ctx, s.clientID) }

func (srv *Server) endSession(ctx context.Context, clientID string) {
	b := srv.b
	for _, sb := range sharedSubs(b, clientID) {
		srv.leaveShare(ctx, clientID, sb)
	}
	for _, d := range b.Durables(clientID) {
		if _, ok := parseDurable(d.Name); !ok {
			continue
		}
		if err := b.DeleteDurable(ctx, clientID, d.Name); err != nil {
			srv.log.Warn("session's subscription not deleted", "client_id", clientID, "sub", d.Name, "err", err)
		}
	}
	var keys []string
	for _, kind := range []string{"in", "out"} {
		for _, k := range markIDs(b, kind, clientID) {
			keys = append(keys, k)
		}
	}
	keys = append(keys, srv.expiryMarks(clientID)...)
	keys = append(keys, sessionMark(clientID))
	keys = append(keys, b.Marks(willPrefix(clientID))...) // fired or cancelled by now
	if err := b.Unmark(ctx, keys...); err != nil {
		srv.log.Warn("session's marks not deleted", "client_id", clientID, "err", err)
	}
}
