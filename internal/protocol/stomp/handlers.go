package stomp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/broker/selector"
)

func (s *session) onSend(f *Frame) error {
	d, err := s.destination(f, "destination")
	if err != nil {
		return err
	}
	m, err := toMessage(f, d)
	if err != nil {
		return &protoError{msg: err.Error()}
	}
	if rt, ok := f.Lookup("reply-to"); ok && rt != "" {
		if rd, local, err := s.names.parse(rt); err == nil {
			if local != "" {
				if rd, err = s.conn.TempDestination(rd.Kind, rd.Name); err != nil {
					return err
				}
			}
			m.ReplyTo = rd
		} else {
			if m.Properties == nil {
				m.Properties = map[string]any{}
			}
			m.Properties["reply-to"] = rt
		}
	}
	return s.conn.Send(s.ctx, m, f.Get("transaction"))
}

func (s *session) onSubscribe(f *Frame) error {
	d, err := s.destination(f, "destination")
	if err != nil {
		return err
	}
	id, ok := f.Lookup("id")
	if !ok {
		if s.version >= V11 {
			return badFrame("SUBSCRIBE without an id header")
		}
		id = f.Get("destination")
	}
	o := broker.SubOptions{ID: id, Dest: d}
	if sel := f.Get("selector"); strings.TrimSpace(sel) != "" {
		// As ActiveMQ does for STOMP, whose properties are all strings:
		// compare them with numbers as numbers.
		o.Selector = selector.ConvertPrefix + sel
	}
	switch mode := f.Get("ack"); mode {
	case "", "auto":
		o.Ack = broker.AckAuto
	case "client":
		o.Ack = broker.AckClient
	case "client-individual":
		o.Ack = broker.AckIndividual
	default:
		return badFrame("ack mode %q: want auto, client or client-individual", mode)
	}
	if v := f.Get("activemq.prefetchSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &protoError{msg: fmt.Sprintf("activemq.prefetchSize %q: want a positive integer", v)}
		}
		o.Prefetch = n
	}
	if v := f.Get("activemq.priority"); v != "" {
		// ActiveMQ sets ConsumerInfo.priority, a signed byte, from it.
		n, err := strconv.ParseInt(v, 10, 8)
		if err != nil {
			return &protoError{msg: fmt.Sprintf("activemq.priority %q: want an integer from -128 to 127", v)}
		}
		o.Priority = int(n)
	}
	o.Exclusive = strings.EqualFold(f.Get("activemq.exclusive"), "true")
	o.DurableName = f.Get("activemq.subscriptionName")
	o.NoLocal = strings.EqualFold(f.Get("activemq.noLocal"), "true")
	if strings.EqualFold(f.Get("browser"), "true") {
		return &protoError{msg: "queue browsing is not supported yet"}
	}
	if _, dup := s.subs[id]; dup {
		return &protoError{msg: fmt.Sprintf("subscription id %q is already in use on this connection", id)}
	}
	sub, err := s.conn.Subscribe(s.ctx, o)
	if err != nil {
		return err
	}
	s.subs[id] = sub
	return nil
}

func (s *session) onUnsubscribe(f *Frame) error {
	id, ok := f.Lookup("id")
	if !ok {
		if s.version >= V11 {
			return badFrame("UNSUBSCRIBE without an id header")
		}
		id = f.Get("destination")
	}
	sub := s.subs[id]
	if sub == nil {
		return &protoError{msg: fmt.Sprintf("no subscription %q", id)}
	}
	delete(s.subs, id)
	if err := s.conn.Unsubscribe(id); err != nil {
		return err
	}
	s.acks.dropSub(id)
	if name := sub.Options().DurableName; name != "" && f.Get("activemq.subscriptionName") != "" {
		return s.conn.DeleteDurable(s.ctx, name)
	}
	return nil
}

func (s *session) onAck(f *Frame) error {
	var tag uint64
	var subID string
	var ok bool
	switch s.version {
	case V12:
		id, has := f.Lookup("id")
		if !has {
			return badFrame("%s without an id header", f.Command)
		}
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return &protoError{msg: fmt.Sprintf("%s: unknown id %q", f.Command, id)}
		}
		tag = n
		subID, ok = s.acks.subOf(tag)
	default:
		msgID, has := f.Lookup("message-id")
		if !has {
			return badFrame("%s without a message-id header", f.Command)
		}
		if s.version == V11 {
			if _, has := f.Lookup("subscription"); !has {
				return badFrame("%s without a subscription header", f.Command)
			}
		}
		tag, subID, ok = s.acks.byMessage(msgID, f.Get("subscription"))
		if f.Command == CmdNack && s.version == V10 {
			return badFrame("NACK is not part of STOMP 1.0")
		}
	}
	if !ok {
		return &protoError{msg: fmt.Sprintf("unexpected %s: no such unacknowledged message", f.Command)}
	}
	tx := f.Get("transaction")
	var err error
	if f.Command == CmdAck {
		_, wantsReceipt := f.Lookup("receipt")
		err = s.conn.Ack(s.ctx, subID, tag, tx, wantsReceipt)
	} else {
		err = s.conn.Nack(s.ctx, subID, tag, tx)
	}
	if err == nil {
		sub := s.subs[subID]
		a := txAck{tag: tag, sub: subID, cumulative: sub != nil && sub.Options().Ack == broker.AckClient}
		if tx != "" {
			s.txAcks[tx] = append(s.txAcks[tx], a) // settled at COMMIT; ABORT keeps them ackable
		} else {
			s.acks.settle(a.tag, a.sub, a.cumulative)
		}
	}
	if errors.Is(err, broker.ErrUnknownDelivery) {
		return &protoError{msg: fmt.Sprintf("unexpected %s: no such unacknowledged message", f.Command)}
	}
	return err
}

func (s *session) onTx(f *Frame, op func(string) error) error {
	tx, ok := f.Lookup("transaction")
	if !ok || tx == "" {
		return badFrame("%s without a transaction header", f.Command)
	}
	return op(tx)
}

type txAck struct {
	tag        uint64
	sub        string
	cumulative bool
}

// ackIndex maps what STOMP acknowledgements name (1.2: the ack header, a
// delivery tag; 1.0/1.1: the message id) to the core's delivery tags.
type ackIndex struct {
	mu    sync.Mutex
	byTag map[uint64]ackRef
	byMsg map[string][]uint64
}

type ackRef struct {
	sub   string
	msgID string
}

func (a *ackIndex) init() {
	a.byTag = map[uint64]ackRef{}
	a.byMsg = map[string][]uint64{}
}

// add records a delivery and returns its ack id.
func (a *ackIndex) add(tag uint64, sub, msgID string) string {
	a.mu.Lock()
	a.byTag[tag] = ackRef{sub: sub, msgID: msgID}
	a.byMsg[msgID] = append(a.byMsg[msgID], tag)
	a.mu.Unlock()
	return strconv.FormatUint(tag, 10)
}

func (a *ackIndex) subOf(tag uint64) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.byTag[tag]
	return r.sub, ok
}

// byMessage finds the latest delivery of msgID (on sub, if given).
func (a *ackIndex) byMessage(msgID, sub string) (uint64, string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tags := a.byMsg[msgID]
	for i := len(tags) - 1; i >= 0; i-- {
		r := a.byTag[tags[i]]
		if sub == "" || r.sub == sub {
			return tags[i], r.sub, true
		}
	}
	return 0, "", false
}

// settle forgets acknowledged deliveries: tag, or (cumulative) every
// delivery of sub up to tag.
func (a *ackIndex) settle(tag uint64, sub string, cumulative bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !cumulative {
		a.forget(tag)
		return
	}
	for t, r := range a.byTag {
		if r.sub == sub && t <= tag {
			a.forget(t)
		}
	}
}

// dropSub forgets every delivery of a closed subscription.
func (a *ackIndex) dropSub(sub string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t, r := range a.byTag {
		if r.sub == sub {
			a.forget(t)
		}
	}
}

func (a *ackIndex) forget(tag uint64) {
	r, ok := a.byTag[tag]
	if !ok {
		return
	}
	delete(a.byTag, tag)
	tags := a.byMsg[r.msgID]
	for i, t := range tags {
		if t == tag {
			tags = append(tags[:i], tags[i+1:]...)
			break
		}
	}
	if len(tags) == 0 {
		delete(a.byMsg, r.msgID)
	} else {
		a.byMsg[r.msgID] = tags
	}
}
