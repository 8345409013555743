package broker

import (
	"context"
	"fmt"
	"sync"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// Retained messages, as ActiveMQ names them: a message sent to a topic with
// the boolean property ActiveMQ.Retain set to true becomes the topic's
// retained message (the last one wins; one with an empty body clears it),
// which a new subscriber can be given at once (Broker.Retained; MQTT does
// this on SUBSCRIBE). The message is delivered to the topic's subscribers
// as usual too.
//
// Retained messages are stored under the key retained:// in the batch of
// the send, so they are durable and replicated with it, and read back
// whole at Start. Two sends to one topic may be written in either order:
// the one with the higher sequence number is kept, the other removed.

const (
	// PropRetain asks the broker to retain a topic message (bool true).
	PropRetain = "ActiveMQ.Retain"
	// PropRetained marks a message given from the retained messages.
	PropRetained = "ActiveMQ.Retained"
	retainedKey  = "retained://"
)

type retainedSet struct {
	mu      sync.Mutex
	byTopic map[string]retainedMsg
}

// retainedMsg is a topic's latest retained message; m is nil once cleared
// (seq still orders later sends against it).
type retainedMsg struct {
	seq uint64
	m   *message.Message
}

// retainUpdate is one retaining send of a batch.
type retainUpdate struct {
	topic string
	seq   uint64
	m     *message.Message // nil: clears
}

// Retains reports whether m asks to be retained: a topic message whose
// ActiveMQ.Retain property is true.
func Retains(m *message.Message) bool {
	if m.Dest.Kind != message.Topic {
		return false
	}
	switch v := m.Properties[PropRetain].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// retainOf adds to batch the stored copy of a retaining send.
func (b *Broker) retainOf(m *message.Message, batch *store.Batch) (retainUpdate, bool) {
	if !Retains(m) {
		return retainUpdate{}, false
	}
	u := retainUpdate{topic: m.Dest.Name, seq: b.seq.Add(1)}
	if len(m.Body) > 0 {
		u.m = m
		batch.Add(retainedKey, u.seq, m)
	}
	return u, true
}

// retained takes up the retaining sends of a batch now durable, and
// removes the stored copies they replace.
func (b *Broker) retained(us []retainUpdate) {
	if len(us) == 0 {
		return
	}
	var ops []store.Op
	remove := func(r retainedMsg) {
		if r.m != nil {
			ops = append(ops, store.Op{Kind: store.OpRemove, Dest: retainedKey, Seq: r.seq})
		}
	}
	b.retain.mu.Lock()
	if b.retain.byTopic == nil {
		b.retain.byTopic = map[string]retainedMsg{}
	}
	for _, u := range us {
		r := retainedMsg{seq: u.seq, m: u.m}
		old, ok := b.retain.byTopic[u.topic]
		switch {
		case ok && old.seq > u.seq: // a later send got here first
			remove(r)
		case r.m == nil:
			remove(old)
			delete(b.retain.byTopic, u.topic)
		default:
			if ok {
				remove(old)
			}
			b.retain.byTopic[u.topic] = r
		}
	}
	b.retain.mu.Unlock()
	if len(ops) > 0 {
		b.acks.push(ops, nil)
	}
}

// Retained returns the retained messages of the topics that d (a topic,
// possibly a wildcard) names, unexpired, in topic order of no particular
// kind. The caller must not modify them (Clone first).
func (b *Broker) Retained(d message.Destination) []*message.Message {
	if d.Kind != message.Topic {
		return nil
	}
	now := b.now()
	b.retain.mu.Lock()
	defer b.retain.mu.Unlock()
	if !d.IsWildcard() {
		if r, ok := b.retain.byTopic[d.Name]; ok && r.m != nil && !r.m.Expired(now) {
			return []*message.Message{r.m}
		}
		return nil
	}
	var out []*message.Message
	for name, r := range b.retain.byTopic {
		if r.m != nil && !r.m.Expired(now) && message.Match(d.Name, name) {
			out = append(out, r.m)
		}
	}
	return out
}

// RetainedCount reports how many topics have a retained message.
func (b *Broker) RetainedCount() int {
	b.retain.mu.Lock()
	defer b.retain.mu.Unlock()
	return len(b.retain.byTopic)
}

// recoverRetained reads the stored retained messages back; of two for one
// topic (a crash between a send and the removal of what it replaced) the
// later is kept.
func (b *Broker) recoverRetained(ctx context.Context) error {
	var after uint64
	var stale []store.Op
	b.retain.mu.Lock()
	defer b.retain.mu.Unlock()
	if b.retain.byTopic == nil {
		b.retain.byTopic = map[string]retainedMsg{}
	}
	for {
		recs, err := b.st.Scan(ctx, retainedKey, after, 1000, 16<<20)
		if err != nil {
			return fmt.Errorf("broker: recover retained messages: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			after = r.Seq
			if old, ok := b.retain.byTopic[r.Msg.Dest.Name]; ok {
				stale = append(stale, store.Op{Kind: store.OpRemove, Dest: retainedKey, Seq: old.seq})
			}
			b.retain.byTopic[r.Msg.Dest.Name] = retainedMsg{seq: r.Seq, m: r.Msg}
		}
	}
	if len(stale) > 0 {
		if err := b.st.Apply(ctx, &store.Batch{Ops: stale}); err != nil {
			return fmt.Errorf("broker: recover retained messages: %w", err)
		}
	}
	return nil
}
