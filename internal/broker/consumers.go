package broker

import (
	"cmp"
	"slices"

	"github.com/piermq/pier/internal/message"
)

// consumerList holds a queue's consumers in bands of equal priority, the
// highest first. A message goes to the first band with a consumer that has
// room and accepts it; within a band consumers take turns (round robin).
// This is ActiveMQ's queue dispatch: its consumer list is sorted by
// descending ConsumerInfo.priority and each message goes to the first
// consumer in the list that is not full and selects it.
//
// Almost every queue has one band, so the common case costs one more loop
// level than a flat list.
type consumerList struct {
	bands []band
	n     int
	local int // consumers that are not network subscriptions
	// exclusive is the consumer that gets every message while exclusive
	// consumers are subscribed: the first exclusive one in band order.
	exclusive *Subscription
}

// electExclusive picks the exclusive consumer again after a change.
func (l *consumerList) electExclusive() {
	l.exclusive = nil
	for _, b := range l.bands {
		for _, s := range b.subs {
			if s.opts.Exclusive {
				l.exclusive = s
				return
			}
		}
	}
}

// has reports whether s is one of the consumers.
func (l *consumerList) has(s *Subscription) bool {
	i, found := slices.BinarySearchFunc(l.bands, s.opts.Priority, byPriority)
	return found && slices.Contains(l.bands[i].subs, s)
}

// band is the consumers of one priority, in the order they subscribed.
type band struct {
	prio int
	subs []*Subscription
	next int // index of the consumer whose turn it is
}

func (l *consumerList) len() int { return l.n }

// byPriority orders bands highest priority first, for binary search.
func byPriority(b band, p int) int { return cmp.Compare(p, b.prio) }

// add appends s to the band of its priority, making the band if needed.
func (l *consumerList) add(s *Subscription) {
	p := s.opts.Priority
	i, found := slices.BinarySearchFunc(l.bands, p, byPriority)
	if !found {
		l.bands = slices.Insert(l.bands, i, band{prio: p})
	}
	l.bands[i].subs = append(l.bands[i].subs, s)
	l.n++
	if !s.opts.Network {
		l.local++
	}
	if s.opts.Exclusive {
		l.electExclusive()
	}
}

// remove takes s out of its band, dropping the band when it empties.
func (l *consumerList) remove(s *Subscription) {
	i, found := slices.BinarySearchFunc(l.bands, s.opts.Priority, byPriority)
	if !found {
		return
	}
	b := &l.bands[i]
	j := slices.Index(b.subs, s)
	if j < 0 {
		return
	}
	b.subs = slices.Delete(b.subs, j, j+1)
	l.n--
	if !s.opts.Network {
		l.local--
	}
	if l.exclusive == s {
		defer l.electExclusive()
	}
	if len(b.subs) == 0 {
		l.bands = slices.Delete(l.bands, i, i+1)
		return
	}
	if b.next > j {
		b.next-- // the consumer whose turn it was keeps it
	}
	if b.next >= len(b.subs) {
		b.next = 0
	}
}

// pick returns the consumer m goes to: in the highest band that has one, the
// next consumer in turn with room in its window whose selector accepts m.
// room is false when no consumer of any band has room. Called with the
// queue's lock held.
func (l *consumerList) pick(m *message.Message) (s *Subscription, room bool) {
	if c := l.exclusive; c != nil {
		if !c.hasCredit() {
			return nil, false
		}
		if c.accepts(m) && c.forwards(m, l) {
			return c, true
		}
		return nil, true
	}
	for i := range l.bands {
		b := &l.bands[i]
		n := len(b.subs)
		for k := 0; k < n; k++ {
			j := b.next + k
			if j >= n {
				j -= n
			}
			c := b.subs[j]
			if !c.hasCredit() {
				continue
			}
			room = true
			if c.accepts(m) && c.forwards(m, l) {
				if b.next = j + 1; b.next == n {
					b.next = 0
				}
				return c, true
			}
		}
	}
	return nil, room
}

// localWants reports whether a consumer that is not a network subscription
// accepts m (whether or not it has room).
func (l *consumerList) localWants(m *message.Message) bool {
	if l.local == 0 {
		return false
	}
	for _, b := range l.bands {
		for _, s := range b.subs {
			if !s.opts.Network && s.accepts(m) {
				return true
			}
		}
	}
	return false
}
