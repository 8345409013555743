package broker

import (
	"context"
	"fmt"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker/selector"
	"github.com/piermq/pier/internal/message"
)

// DefaultBrowseMax is how many messages a browser sees at most when it does
// not say (ActiveMQ's maxBrowsePageSize).
const DefaultBrowseMax = 400

// Browse returns up to max (0: DefaultBrowseMax) messages waiting on a
// queue that sel accepts (empty: all), in the order they would be
// delivered, without consuming them.
// Messages in flight to consumers are not included. A queue that does not
// exist has no messages.
func (c *Conn) Browse(ctx context.Context, d message.Destination, sel string, max int) ([]*message.Message, error) {
	if max <= 0 {
		max = DefaultBrowseMax
	}
	filter, err := selector.Parse(sel)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSelector, err)
	}
	if err := c.authorize(auth.Read, d); err != nil {
		return nil, err
	}
	b := c.b
	b.mu.RLock()
	var q *queue
	switch d.Kind {
	case message.Queue:
		q = b.mu.queues[d.Name]
	case message.TempQueue:
		q = b.mu.tempQs[d]
	default:
		b.mu.RUnlock()
		return nil, fmt.Errorf("%w: only queues can be browsed, not %s", message.ErrBadDestination, d)
	}
	b.mu.RUnlock()
	if q == nil {
		return nil, nil
	}
	return q.browse(ctx, filter, max)
}

func (q *queue) browse(ctx context.Context, filter *selector.Selector, max int) ([]*message.Message, error) {
	type snap struct {
		seq        uint64
		msg        *message.Message
		deliveries int32
	}
	now := q.b.now()
	var snaps []snap
	q.mu.Lock()
	q.mu.pending.each(func(_ *bucket, _ int, e *entry) bool {
		if e.stable && (e.msg == nil || !e.msg.Expired(now) && filter.Match(e.msg)) {
			snaps = append(snaps, snap{e.seq, e.msg, e.deliveries})
		}
		return len(snaps) < max
	})
	q.mu.Unlock()
	if len(snaps) < max {
		past, err := q.behind(ctx, 0, max-len(snaps), func(m *message.Message) bool {
			return !m.Expired(now) && filter.Match(m)
		})
		if err != nil {
			return nil, err
		}
		for _, e := range past {
			snaps = append(snaps, snap{e.seq, e.msg, e.deliveries})
		}
	}
	out := make([]*message.Message, 0, len(snaps))
	for _, sn := range snaps {
		m := sn.msg
		if m == nil { // paged out: read it back
			recs, err := q.b.st.Scan(ctx, q.key, sn.seq-1, 1, 1)
			if err != nil {
				return nil, fmt.Errorf("broker: browse %s: %w", q.key, err)
			}
			if len(recs) == 0 || recs[0].Seq != sn.seq {
				continue // consumed meanwhile
			}
			m = recs[0].Msg
			if !filter.Match(m) {
				continue
			}
		}
		cp := *m
		cp.DeliveryCount = sn.deliveries
		out = append(out, &cp)
	}
	return out, nil
}
