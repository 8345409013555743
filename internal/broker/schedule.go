package broker

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/piermq/pier/internal/broker/cron"
	"github.com/piermq/pier/internal/message"
)

// The message properties of ActiveMQ's scheduler (ScheduledMessage), which
// clients set on a message to have it delivered later, and the id the
// broker puts on what the scheduler delivers.
const (
	PropScheduledDelay  = "AMQ_SCHEDULED_DELAY"  // ms before the first delivery
	PropScheduledPeriod = "AMQ_SCHEDULED_PERIOD" // ms between repeats
	PropScheduledRepeat = "AMQ_SCHEDULED_REPEAT" // further deliveries; -1: for ever
	PropScheduledCron   = "AMQ_SCHEDULED_CRON"   // 5-field cron expression
	PropScheduledJobID  = "scheduledJobId"       // on every message the scheduler delivers
)

// ErrBadSchedule is a send whose scheduling properties cannot be obeyed.
var ErrBadSchedule = errors.New("broker: invalid scheduling property")

// Internal properties of a stored job (its message, as the scheduler keeps
// it): removed before the message is delivered or browsed.
const (
	jobPrefix  = "pier.job."
	jobDue     = jobPrefix + "due"     // int64 unix ms of the next firing
	jobRepeat  = jobPrefix + "repeat"  // int32: repeats left (non-cron) or per cron firing; -1 for ever
	jobPeriod  = jobPrefix + "period"  // int64 ms
	jobDelay   = jobPrefix + "delay"   // int64 ms
	jobCron    = jobPrefix + "cron"    // string, normalised
	jobSub     = jobPrefix + "sub"     // bool: started by a cron job's firing
	jobRetry   = jobPrefix + "retry"   // bool: a rejected message waiting to be redelivered
	jobRepeats = jobPrefix + "repeats" // bool: every delivery is a message of its own (repeat != 0 when made)
)

// maxScheduleMillis bounds a delay or period (about 100 years).
const maxScheduleMillis = 100 * 365 * 24 * 3600 * 1000

// spec is what a message's scheduling properties ask for.
type spec struct {
	delay, period int64 // ms
	repeat        int   // -1 for ever
	cron          *cron.Schedule
}

// scheduled reports whether m asks to be scheduled: it carries a
// scheduling property and was not itself delivered by the scheduler.
func scheduled(m *message.Message) bool {
	if m.Properties == nil {
		return false
	}
	if _, fired := m.Properties[PropScheduledJobID]; fired {
		return false
	}
	for _, k := range [...]string{PropScheduledDelay, PropScheduledPeriod, PropScheduledCron} {
		if _, ok := m.Properties[k]; ok {
			return true
		}
	}
	return false
}

// specOf reads m's scheduling properties, as numbers or (STOMP) as
// strings; a value that cannot be obeyed is ErrBadSchedule.
func specOf(m *message.Message) (*spec, error) {
	var s spec
	var err error
	if s.delay, err = millisProp(m, PropScheduledDelay); err != nil {
		return nil, err
	}
	if s.period, err = millisProp(m, PropScheduledPeriod); err != nil {
		return nil, err
	}
	repeat, ok, err := intProp(m, PropScheduledRepeat)
	if err != nil {
		return nil, err
	}
	if ok {
		if repeat < -1 || repeat > math.MaxInt32 {
			return nil, fmt.Errorf("%w: %s %d: want -1 (for ever) or more", ErrBadSchedule, PropScheduledRepeat, repeat)
		}
		s.repeat = int(repeat)
	}
	if v, ok := m.Properties[PropScheduledCron]; ok && v != nil {
		expr, isString := v.(string)
		if !isString {
			return nil, fmt.Errorf("%w: %s must be a string, not %T", ErrBadSchedule, PropScheduledCron, v)
		}
		if strings.TrimSpace(expr) != "" {
			if s.cron, err = cron.Parse(expr); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrBadSchedule, PropScheduledCron, err)
			}
		}
	}
	if s.cron != nil && s.cron.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("%w: %s %q never matches a date", ErrBadSchedule, PropScheduledCron, s.cron)
	}
	if s.repeat != 0 && s.period == 0 {
		return nil, fmt.Errorf("%w: %s %d needs %s > 0 (the time between deliveries)", ErrBadSchedule,
			PropScheduledRepeat, s.repeat, PropScheduledPeriod)
	}
	return &s, nil
}

// millisProp reads a non-negative duration in ms (absent: 0).
func millisProp(m *message.Message, key string) (int64, error) {
	n, _, err := intProp(m, key)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > maxScheduleMillis {
		return 0, fmt.Errorf("%w: %s %d: want 0 to %d ms", ErrBadSchedule, key, n, int64(maxScheduleMillis))
	}
	return n, nil
}

// intProp reads a whole-number property of any integer type, or a string
// holding one (STOMP headers are strings).
func intProp(m *message.Message, key string) (n int64, ok bool, err error) {
	v, ok := m.Properties[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	switch x := v.(type) {
	case int8:
		return int64(x), true, nil
	case int16:
		return int64(x), true, nil
	case int32:
		return int64(x), true, nil
	case int64:
		return x, true, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, true, fmt.Errorf("%w: %s %q is not a whole number", ErrBadSchedule, key, x)
		}
		return n, true, nil
	}
	return 0, true, fmt.Errorf("%w: %s must be a whole number, not %T", ErrBadSchedule, key, v)
}

// immediate reports whether the spec asks for nothing but delivery now.
func (s *spec) immediate() bool { return s.cron == nil && s.delay == 0 && s.period == 0 }

// first returns when a job made at now first fires: at the next cron time
// (for a cron job), else after the delay (or, without one, the period), as
// ActiveMQ's scheduler does. Zero: never (a cron expression that matches no
// date).
func (s *spec) first(now time.Time) int64 {
	if s.cron != nil {
		next := s.cron.Next(now)
		if next.IsZero() {
			return 0
		}
		return next.UnixMilli()
	}
	return now.UnixMilli() + s.firstGap()
}

// firstGap is the time from a (sub-)schedule's start to its first delivery.
func (s *spec) firstGap() int64 {
	if s.delay > 0 {
		return s.delay
	}
	return s.period
}

// jobMessage returns the message the store keeps for a job of spec s due
// at due, made from the sent message m: its own copy, with the job's id
// and state as properties.
func jobMessage(m *message.Message, id string, s *spec, due int64) *message.Message {
	j := m.Clone()
	if j.Properties == nil {
		j.Properties = map[string]any{}
	}
	j.Properties[PropScheduledJobID] = id
	j.Properties[jobDue] = due
	j.Properties[jobRepeat] = int32(s.repeat)
	j.Properties[jobPeriod] = s.period
	j.Properties[jobDelay] = s.delay
	if s.cron != nil {
		j.Properties[jobCron] = s.cron.String()
	}
	if s.repeat != 0 {
		j.Properties[jobRepeats] = true
	}
	return j
}

// redeliveryJob returns the job that brings back m (a rejected message,
// with its delivery count) at due.
func redeliveryJob(m *message.Message, id string, due int64) *message.Message {
	j := m.Clone()
	if j.Properties == nil {
		j.Properties = map[string]any{}
	}
	if _, ok := j.Properties[PropScheduledJobID]; !ok {
		j.Properties[PropScheduledJobID] = id // never scheduled again on its way back
	}
	j.Properties[jobDue] = due
	j.Properties[jobRepeat] = int32(0)
	j.Properties[jobRetry] = true
	return j
}

// job is a stored job, read back from its message.
type job struct {
	id      string
	due     int64
	repeat  int
	period  int64
	delay   int64
	cron    *cron.Schedule
	sub     bool
	retry   bool
	repeats bool
}

// readJob reads a stored job's state.
func readJob(m *message.Message) (job, error) {
	var j job
	p := m.Properties
	id, _ := p[PropScheduledJobID].(string)
	due, okDue := p[jobDue].(int64)
	repeat, okRepeat := p[jobRepeat].(int32)
	if id == "" || !okDue || !okRepeat {
		return j, fmt.Errorf("broker: a stored job without its id, due time or repeat count (%s)", m.ID)
	}
	j.id, j.due, j.repeat = id, due, int(repeat)
	j.period, _ = p[jobPeriod].(int64)
	j.delay, _ = p[jobDelay].(int64)
	j.sub, _ = p[jobSub].(bool)
	j.retry, _ = p[jobRetry].(bool)
	j.repeats, _ = p[jobRepeats].(bool)
	if expr, ok := p[jobCron].(string); ok && expr != "" {
		c, err := cron.Parse(expr)
		if err != nil {
			return j, fmt.Errorf("broker: stored job %s: %w", id, err)
		}
		j.cron = c
	}
	return j, nil
}

// delivered returns the message a job delivers: m without the job's
// internal state and, as ActiveMQ delivers it, without the scheduling
// properties (so that passing it on does not schedule it again), with its
// scheduledJobId. A management browse keeps the scheduling properties.
func delivered(m *message.Message, keepSchedule bool) *message.Message {
	d := m.Clone()
	for k := range d.Properties {
		if strings.HasPrefix(k, jobPrefix) {
			delete(d.Properties, k)
		}
	}
	if !keepSchedule {
		for _, k := range [...]string{PropScheduledDelay, PropScheduledPeriod, PropScheduledRepeat, PropScheduledCron} {
			delete(d.Properties, k)
		}
	}
	return d
}
