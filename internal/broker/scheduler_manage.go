package broker

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// ActiveMQ's scheduler management topic: a message sent to it with an
// AMQ_SCHEDULER_ACTION browses or removes jobs instead of being delivered.
const (
	SchedulerManagement = "ActiveMQ.Scheduler.Management"
	PropSchedulerAction = "AMQ_SCHEDULER_ACTION"
	PropActionStart     = "ACTION_START_TIME" // unix ms, inclusive
	PropActionEnd       = "ACTION_END_TIME"   // unix ms, inclusive

	ActionBrowse    = "BROWSE"    // a copy of each job to the request's reply-to
	ActionRemove    = "REMOVE"    // the job named by scheduledJobId, or those due in the range
	ActionRemoveAll = "REMOVEALL" // every job, or those due in the range
)

// isManagement reports whether m is a request to the scheduler.
func isManagement(m *message.Message) bool {
	return m.Dest.Kind == message.Topic && m.Dest.Name == SchedulerManagement
}

// manage carries out a management request: browse (copies to the reply-to,
// non-persistent, each with its scheduledJobId), remove one or a time range,
// remove all.
func (b *Broker) manage(ctx context.Context, m *message.Message) error {
	action := ""
	if v, ok := m.Properties[PropSchedulerAction].(string); ok {
		action = strings.ToUpper(strings.TrimSpace(v))
	}
	from, to, err := actionRange(m)
	if err != nil {
		return err
	}
	s := b.sched
	s.fireMu.Lock()
	defer s.fireMu.Unlock()
	switch action {
	case ActionBrowse:
		if m.ReplyTo.IsZero() {
			return fmt.Errorf("%w: %s %s needs a reply-to", ErrBadSchedule, PropSchedulerAction, action)
		}
		return s.each(ctx, from, to, func(sec int64, rs []store.Record) error {
			ch := &change{moved: true}
			for _, r := range rs {
				d := delivered(r.Msg, true)
				d.Dest, d.Persistent = m.ReplyTo, false
				s.identify(d)
				ch.sends = append(ch.sends, d)
			}
			return b.apply(ctx, ch)
		})
	case ActionRemove, ActionRemoveAll:
		id, _ := m.Properties[PropScheduledJobID].(string)
		if action == ActionRemove && id == "" && !hasRange(m) {
			return fmt.Errorf("%w: %s %s needs a %s or a time range", ErrBadSchedule, PropSchedulerAction, action, PropScheduledJobID)
		}
		return s.each(ctx, from, to, func(sec int64, rs []store.Record) error {
			if action == ActionRemove && id != "" {
				rs = slices.DeleteFunc(rs, func(r store.Record) bool { return r.Msg.Properties[PropScheduledJobID] != id })
			}
			if len(rs) == 0 {
				return nil
			}
			var batch store.Batch
			seqs := make([]uint64, len(rs))
			for i, r := range rs {
				batch.Remove(bucketKey(sec), r.Seq)
				seqs[i] = r.Seq
			}
			if err := b.st.Apply(ctx, &batch); err != nil {
				return err
			}
			s.removed(sec, seqs...)
			return nil
		})
	}
	return fmt.Errorf("%w: %s %q: want %s, %s or %s", ErrBadSchedule, PropSchedulerAction, action,
		ActionBrowse, ActionRemove, ActionRemoveAll)
}

func hasRange(m *message.Message) bool {
	_, a := m.Properties[PropActionStart]
	_, b := m.Properties[PropActionEnd]
	return a || b
}

// actionRange reads a request's time range (both ends inclusive; absent:
// everything).
func actionRange(m *message.Message) (from, to int64, err error) {
	from, to = math.MinInt64, math.MaxInt64
	if n, ok, err := intProp(m, PropActionStart); err != nil {
		return 0, 0, err
	} else if ok {
		from = n
	}
	if n, ok, err := intProp(m, PropActionEnd); err != nil {
		return 0, 0, err
	} else if ok {
		to = n
	}
	if from > to {
		return 0, 0, fmt.Errorf("%w: %s %d is after %s %d", ErrBadSchedule, PropActionStart, from, PropActionEnd, to)
	}
	return from, to, nil
}

// each calls f with the jobs of each second (in time order) that are due
// from from to to, a page at a time. Under fireMu.
func (s *scheduler) each(ctx context.Context, from, to int64, f func(sec int64, rs []store.Record) error) error {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if from != math.MinInt64 {
		lo = bucketOf(from)
	}
	if to != math.MaxInt64 {
		hi = bucketOf(to)
	}
	s.mu.Lock()
	var secs []int64
	for sec := range s.mu.counts {
		if sec >= lo && sec <= hi {
			secs = append(secs, sec)
		}
	}
	s.mu.Unlock()
	slices.Sort(secs)
	for _, sec := range secs {
		var after uint64
		for {
			page, err := s.b.st.Scan(ctx, bucketKey(sec), after, s.b.cfg.PageSize, 4<<20)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			after = page[len(page)-1].Seq
			in := slices.DeleteFunc(page, func(r store.Record) bool {
				due := jobDueOf(r)
				return due < from || due > to
			})
			if err := f(sec, in); err != nil {
				return err
			}
		}
	}
	return nil
}
