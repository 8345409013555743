package broker

import "github.com/piermq/pier/internal/message"

// Message groups (JMSXGroupID), as ActiveMQ has them on queues: the first
// message of a group goes to a consumer as any other, and from then on
// every message of the group goes to that consumer — waiting while its
// window is full — until it leaves (its groups are then given anew with
// their next message) or a message with JMSXGroupSeq -1 closes the group.
// The first message a consumer gets of a group carries
// JMSXGroupFirstForConsumer = true. Assignments live in memory: after a
// restart or failover a group goes to whichever consumer gets its next
// message, and sticks there.

// PropGroupFirstForConsumer marks a group's first message to a consumer.
const PropGroupFirstForConsumer = "JMSXGroupFirstForConsumer"

// pickForGroup picks the consumer of m's group, giving the group one if it
// has none. Called with q.mu held.
func (q *queue) pickForGroup(m *message.Message) (s *Subscription, room, first bool) {
	if owner := q.mu.groups[m.GroupID]; owner != nil {
		if !owner.hasCredit() {
			// The group waits for its consumer; other messages go on.
			return nil, true, false
		}
		if owner.accepts(m) {
			return owner, true, false
		}
		return nil, true, false
	}
	s, room = q.mu.consumers.pick(m)
	if s == nil {
		return nil, room, false
	}
	if q.mu.groups == nil {
		q.mu.groups = map[string]*Subscription{}
	}
	q.mu.groups[m.GroupID] = s
	return s, true, true
}

// grouped finishes a delivery of a group's message: the first to its
// consumer is marked, and a closing one (JMSXGroupSeq -1) frees the group.
// Called with q.mu held.
func (q *queue) grouped(d *Delivery, first bool) {
	m := d.Msg
	if m.GroupID == "" || q.dest.Kind.IsTopic() {
		return
	}
	if first {
		props := make(map[string]any, len(m.Properties)+1)
		for k, v := range m.Properties {
			props[k] = v
		}
		props[PropGroupFirstForConsumer] = true
		m.Properties = props // the delivery's own copy: the stored message is shared
	}
	if m.GroupSeq == -1 {
		delete(q.mu.groups, m.GroupID)
	}
}

// releaseGroupsLocked frees the groups of a consumer that left.
func (q *queue) releaseGroupsLocked(s *Subscription) {
	for g, owner := range q.mu.groups {
		if owner == s {
			delete(q.mu.groups, g)
		}
	}
}

// Groups reports how many message groups of queue name have a consumer.
func (b *Broker) Groups(name string) int {
	b.mu.RLock()
	q := b.mu.queues[name]
	b.mu.RUnlock()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.mu.groups)
}
