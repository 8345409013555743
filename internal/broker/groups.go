package broker

import "github.com/piermq/pier/internal/message"

// Message groups (JMSXGroupID), as ActiveMQ has them on queues: the first
// message of a group goes to a consumer as any other, and from then on
// every message of the group goes to that consumer — waiting while its
// window is full — until it leaves (its groups are then given anew with
// their next message) or a message with JMSXGroupSeq -1 closes the group.
// The first message a consumer gets of a group carries
// JMSXGroupFirstForConsumer = true.
//
// Which consumer holds a group is recorded in the store (records.go), so a
// new master after a failover or restart keeps each group for the consumer
// that held it — the client reconnects with the same connection and
// consumer ids — for Config.GroupHold; the group's messages wait for it
// meanwhile, the rest flow. A group whose consumer does not come back in
// time goes to the next consumer as a new group.

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
	if key, ok := q.mu.held[m.GroupID]; ok {
		// A group recovered from the store: it waits for its consumer.
		s := q.consumerByOwner(key)
		if s == nil {
			return nil, true, false
		}
		delete(q.mu.held, m.GroupID)
		q.setGroupLocked(m.GroupID, s, false)
		return q.pickForGroup(m)
	}
	s, room = q.mu.consumers.pick(m)
	if s == nil {
		return nil, room, false
	}
	q.setGroupLocked(m.GroupID, s, true)
	return s, true, true
}

// setGroupLocked gives group g to s, recording it when it is new.
func (q *queue) setGroupLocked(g string, s *Subscription, record bool) {
	if q.mu.groups == nil {
		q.mu.groups = map[string]*Subscription{}
	}
	q.mu.groups[g] = s
	if record && q.dest.Kind == message.Queue {
		q.b.records.put(groupRecord(q.dest.Name, g, ownerKey(s)))
	}
}

// ownerKey names a consumer the same way across a failover: its client
// id and subscription id (an OpenWire consumer id holds its connection id,
// which the failover transport keeps).
func ownerKey(s *Subscription) string { return s.conn.clientID + "\x00" + s.opts.ID }

// consumerByOwner returns the consumer whose owner key is key, if attached.
func (q *queue) consumerByOwner(key string) *Subscription {
	for _, b := range q.mu.consumers.bands {
		for _, s := range b.subs {
			if ownerKey(s) == key {
				return s
			}
		}
	}
	return nil
}

// holdGroup keeps recovered group g for the consumer named by owner.
func (q *queue) holdGroup(g, owner string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.held == nil {
		q.mu.held = map[string]string{}
	}
	q.mu.held[g] = owner
}

// releaseHeldGroups forgets the recovered groups whose consumers did not
// come back, and returns how many.
func (q *queue) releaseHeldGroups() int {
	q.mu.Lock()
	n := len(q.mu.held)
	for g, owner := range q.mu.held {
		q.b.records.del(groupRecord(q.dest.Name, g, owner))
	}
	q.mu.held = nil
	q.mu.Unlock()
	if n > 0 {
		q.kick()
	}
	return n
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
		if s := q.mu.groups[m.GroupID]; s != nil {
			q.b.records.del(groupRecord(q.dest.Name, m.GroupID, ownerKey(s)))
		}
		delete(q.mu.groups, m.GroupID)
	}
}

// releaseGroupsLocked frees the groups of a consumer that left.
// While the broker closes they stay recorded, for whoever serves next.
func (q *queue) releaseGroupsLocked(s *Subscription) {
	for g, owner := range q.mu.groups {
		if owner == s {
			delete(q.mu.groups, g)
			if !q.b.records.closing.Load() {
				q.b.records.del(groupRecord(q.dest.Name, g, ownerKey(s)))
			}
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
