package broker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/piermq/pier/internal/store"
)

// The scheduler in the management interface: the console lists jobs page by
// page and removes one (the management topic does the same for JMS tools).

// ErrNoSuchJob is returned for a job id the scheduler does not hold.
var ErrNoSuchJob = errors.New("broker: no such scheduled job")

// JobInfo is one scheduled job.
type JobInfo struct {
	ID      string
	Due     int64 // unix ms of its next firing
	Delay   int64 // ms (AMQ_SCHEDULED_DELAY)
	Period  int64 // ms (AMQ_SCHEDULED_PERIOD)
	Repeat  int   // repeats left, -1 for ever (AMQ_SCHEDULED_REPEAT)
	Cron    string
	Retry   bool // a rejected message waiting for its redelivery (redelivery back-off)
	Message MessageInfo
}

// ScheduledJobList lists up to limit jobs (0: 100; at most 1000) from
// offset on, in the order they fall due, and how many there are in all.
// Only the seconds the page falls in are read from the store.
func (b *Broker) ScheduledJobList(ctx context.Context, offset, limit int) ([]JobInfo, int, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	offset = max(offset, 0)
	s := b.sched
	s.fireMu.Lock()
	defer s.fireMu.Unlock()
	// Whole seconds before the offset are skipped by their counts.
	s.mu.Lock()
	secs := make([]int64, 0, len(s.mu.counts))
	total := 0
	for sec, n := range s.mu.counts {
		if n > 0 {
			secs = append(secs, sec)
			total += n
		}
	}
	counts := make(map[int64]int, len(secs))
	for _, sec := range secs {
		counts[sec] = s.mu.counts[sec]
	}
	s.mu.Unlock()
	slices.Sort(secs)
	skip := offset
	var out []JobInfo
	for _, sec := range secs {
		if len(out) == limit {
			break
		}
		if skip >= counts[sec] {
			skip -= counts[sec]
			continue
		}
		var recs []store.Record
		if err := s.each(ctx, sec*1000, sec*1000+999, func(_ int64, rs []store.Record) error {
			recs = append(recs, rs...)
			return nil
		}); err != nil {
			return nil, 0, err
		}
		slices.SortStableFunc(recs, func(x, y store.Record) int { return cmp64(jobDueOf(x), jobDueOf(y)) })
		for _, r := range recs[min(skip, len(recs)):] {
			if len(out) == limit {
				break
			}
			j, err := readJob(r.Msg)
			if err != nil {
				b.log.Warn("scheduler: a stored job cannot be read; not listed", "err", err)
				continue
			}
			info := JobInfo{ID: j.id, Due: j.due, Delay: j.delay, Period: j.period, Repeat: j.repeat, Retry: j.retry,
				Message: messageInfo(delivered(r.Msg, false), snap{})}
			if j.cron != nil {
				info.Cron = j.cron.String()
			}
			out = append(out, info)
		}
		skip = 0
	}
	return out, total, nil
}

// RemoveScheduledJob removes the job with the given id (scheduledJobId),
// as the management topic's REMOVE does.
func (b *Broker) RemoveScheduledJob(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: no job id", ErrNoSuchJob)
	}
	s := b.sched
	s.fireMu.Lock()
	defer s.fireMu.Unlock()
	found := false
	err := s.each(ctx, math.MinInt64, math.MaxInt64, func(sec int64, rs []store.Record) error {
		for _, r := range rs {
			if r.Msg.Properties[PropScheduledJobID] != id {
				continue
			}
			var batch store.Batch
			batch.Remove(bucketKey(sec), r.Seq)
			if err := b.st.Apply(ctx, &batch); err != nil {
				return err
			}
			s.removed(sec, r.Seq)
			found = true
			return errStopScan
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return err
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrNoSuchJob, id)
	}
	return nil
}

// errStopScan ends a scan early.
var errStopScan = errors.New("stop")
