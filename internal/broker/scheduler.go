package broker

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// The scheduler keeps jobs — messages to deliver later, once or repeatedly
// — as store state like every message: a job is a message stored under the
// key of the second it is next due (SchedulerPrefix + unix seconds), with
// its state in internal properties. So jobs are durable on the journal,
// fenced in a shared directory, in SQL and replicated by Raft, and a new
// master finds them in its store. Memory holds only how many jobs each
// second has, plus the jobs of the second being fired.
//
// Firing a job is one change: the job's record removed, its message placed
// on its destination, and for a repeating job its next record added — all
// in one store batch, so a crash or failover neither loses nor doubles a
// firing. Only a running broker (a master) fires; at Start it fires at once
// what fell due while there was none.

// SchedulerPrefix starts the store keys of scheduled jobs.
const SchedulerPrefix = "scheduler://"

// Scheduler tuning.
const (
	fireBatch = 500   // jobs fired per store batch
	loadPage  = 10000 // jobs of one second read into memory at once
)

func bucketKey(sec int64) string { return SchedulerPrefix + strconv.FormatInt(sec, 10) }

// bucketOf is the second a unix-ms time falls in.
func bucketOf(ms int64) int64 {
	sec := ms / 1000
	if ms%1000 < 0 {
		sec-- // floor, not towards zero
	}
	return sec
}

// scheduler is the broker's job index and firing loop.
type scheduler struct {
	b        *Broker
	wake     chan struct{}
	ids      atomic.Uint64 // job ids and the identities of repeated deliveries
	producer string        // producer id of repeated deliveries
	// fireMu is held while jobs are fired or managed (browsed, removed):
	// across store reads and apply, so one job is never removed twice.
	// Taken before mu and every broker lock.
	fireMu sync.Mutex

	mu struct {
		sync.Mutex
		counts map[int64]int // jobs stored per second
		order  secHeap       // seconds with jobs (may hold some without: skipped)
		// The second being fired, its jobs read from the store (at most
		// loadPage), by due time; late are jobs added to it meanwhile.
		loadedSec int64
		loaded    []store.Record
		loading   bool
		late      []store.Record
	}
}

func newScheduler(b *Broker) *scheduler {
	s := &scheduler{b: b, wake: make(chan struct{}, 1), producer: fmt.Sprintf("ID:%s-%s-scheduler:0:0", b.cfg.Name, b.run)}
	s.mu.counts = map[int64]int{}
	s.mu.loadedSec = -1 << 62
	return s
}

// recovered registers n jobs found in the store under key.
func (s *scheduler) recovered(key string, n int) bool {
	sec, err := strconv.ParseInt(strings.TrimPrefix(key, SchedulerPrefix), 10, 64)
	if err != nil {
		return false
	}
	s.mu.Lock()
	s.addCountLocked(sec, n)
	s.mu.Unlock()
	return true
}

func (s *scheduler) addCountLocked(sec int64, n int) {
	if s.mu.counts[sec] == 0 {
		heap.Push(&s.mu.order, sec)
	}
	s.mu.counts[sec] += n
}

// added registers a job stored (durably) under sec.
func (s *scheduler) added(sec int64, r store.Record) {
	s.mu.Lock()
	s.addCountLocked(sec, 1)
	if sec == s.mu.loadedSec {
		if s.mu.loading {
			s.mu.late = append(s.mu.late, r)
		} else {
			s.insertLoadedLocked(r)
		}
	}
	s.mu.Unlock()
	s.kick()
}

// removed unregisters jobs removed from the store.
func (s *scheduler) removed(sec int64, seqs ...uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.counts[sec] -= len(seqs)
	if s.mu.counts[sec] <= 0 {
		delete(s.mu.counts, sec)
	}
	if sec == s.mu.loadedSec {
		gone := make(map[uint64]bool, len(seqs))
		for _, q := range seqs {
			gone[q] = true
		}
		drop := func(r store.Record) bool { return gone[r.Seq] }
		s.mu.loaded = slices.DeleteFunc(s.mu.loaded, drop)
		s.mu.late = slices.DeleteFunc(s.mu.late, drop)
	}
}

func (s *scheduler) insertLoadedLocked(r store.Record) {
	due := jobDueOf(r)
	i, _ := slices.BinarySearchFunc(s.mu.loaded, due, func(x store.Record, d int64) int { return cmp64(jobDueOf(x), d) })
	s.mu.loaded = slices.Insert(s.mu.loaded, i, r)
}

func jobDueOf(r store.Record) int64 {
	d, _ := r.Msg.Properties[jobDue].(int64)
	return d
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Pending returns how many jobs are stored.
func (s *scheduler) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.mu.counts {
		n += c
	}
	return n
}

func (s *scheduler) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run fires jobs until the broker closes.
func (s *scheduler) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		wait := s.step()
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
		select {
		case <-s.b.stop:
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// step fires what is due and returns how long to wait for the next job.
func (s *scheduler) step() time.Duration {
	s.fireMu.Lock()
	defer s.fireMu.Unlock()
	ctx := context.Background()
	now := s.b.now()
	s.mu.Lock()
	sec, ok := s.earliestLocked()
	switch {
	case !ok:
		s.mu.Unlock()
		return time.Hour
	case sec*1000 > now:
		s.mu.Unlock()
		return time.Duration(sec*1000-now) * time.Millisecond
	case sec != s.mu.loadedSec || len(s.mu.loaded) == 0:
		s.mu.Unlock()
		if err := s.load(ctx, sec); err != nil {
			s.b.log.Warn("scheduler: cannot read due jobs; retrying", "err", err)
			return time.Second
		}
		return 0
	}
	var due []store.Record
	for _, r := range s.mu.loaded {
		if jobDueOf(r) > now || len(due) == fireBatch {
			break
		}
		due = append(due, r)
	}
	next := time.Duration(0)
	if len(due) == 0 {
		next = time.Duration(jobDueOf(s.mu.loaded[0])-now) * time.Millisecond
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return next
	}
	if err := s.fire(ctx, sec, due, now); err != nil {
		s.b.log.Warn("scheduler: cannot fire due jobs; retrying", "jobs", len(due), "err", err)
		return time.Second
	}
	return 0
}

// earliestLocked returns the first second that has jobs.
func (s *scheduler) earliestLocked() (int64, bool) {
	for s.mu.order.Len() > 0 {
		sec := s.mu.order[0]
		if s.mu.counts[sec] > 0 {
			return sec, true
		}
		heap.Pop(&s.mu.order)
		if sec == s.mu.loadedSec {
			s.mu.loadedSec, s.mu.loaded = -1<<62, nil
		}
	}
	return 0, false
}

// load reads up to loadPage jobs of second sec, by due time.
func (s *scheduler) load(ctx context.Context, sec int64) error {
	s.mu.Lock()
	s.mu.loadedSec, s.mu.loaded, s.mu.loading, s.mu.late = sec, nil, true, nil
	s.mu.Unlock()
	var recs []store.Record
	var after uint64
	for len(recs) < loadPage {
		page, err := s.b.st.Scan(ctx, bucketKey(sec), after, min(s.b.cfg.PageSize, loadPage-len(recs)), 4<<20)
		if err != nil {
			s.mu.Lock()
			s.mu.loading, s.mu.loadedSec = false, -1<<62
			s.mu.Unlock()
			return err
		}
		if len(page) == 0 {
			break
		}
		recs = append(recs, page...)
		after = page[len(page)-1].Seq
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.mu.late {
		if !slices.ContainsFunc(recs, func(x store.Record) bool { return x.Seq == r.Seq }) {
			recs = append(recs, r)
		}
	}
	slices.SortStableFunc(recs, func(a, b store.Record) int { return cmp64(jobDueOf(a), jobDueOf(b)) })
	s.mu.loaded, s.mu.loading, s.mu.late = recs, false, nil
	if len(recs) == 0 {
		// The count says jobs, the store has none: forget the second.
		delete(s.mu.counts, sec)
	}
	return nil
}

// next is a job record to add in a firing's batch.
type nextJob struct {
	sec int64
	rec store.Record
}

// fire delivers the jobs of second sec in recs (all due at now) in one
// change.
func (s *scheduler) fire(ctx context.Context, sec int64, recs []store.Record, now int64) error {
	ch := &change{moved: true}
	var adds []nextJob
	var gone []uint64
	for _, r := range recs {
		ch.also.Remove(bucketKey(sec), r.Seq)
		gone = append(gone, r.Seq)
		j, err := readJob(r.Msg)
		if err != nil {
			s.b.log.Warn("scheduler: dropping a job that cannot be read", "err", err)
			continue
		}
		out, more := s.firing(j, r.Msg, now)
		ch.sends = append(ch.sends, out...)
		if j.retry {
			if ch.counted == nil {
				ch.counted = map[*message.Message]bool{}
			}
			for _, m := range out {
				ch.counted[m] = true
			}
		}
		for _, m := range more {
			seq := s.b.seq.Add(1)
			due, _ := m.Properties[jobDue].(int64)
			ch.also.Add(bucketKey(bucketOf(due)), seq, m)
			adds = append(adds, nextJob{bucketOf(due), store.Record{Seq: seq, Msg: m}})
		}
	}
	if err := s.b.apply(ctx, ch); err != nil {
		return err
	}
	s.removed(sec, gone...)
	for _, a := range adds {
		s.added(a.sec, a.rec)
	}
	return nil
}

// firing returns what job j (stored as m) delivers at now, and the job
// records that follow it: the same job's next firing, or for a cron job
// with repeats the sub-schedule a firing starts, as ActiveMQ does.
func (s *scheduler) firing(j job, m *message.Message, now int64) (out, more []*message.Message) {
	nextOf := func(due int64, repeat int) *message.Message {
		n := m.Clone()
		n.Properties[jobDue] = due
		n.Properties[jobRepeat] = int32(repeat)
		return n
	}
	if j.cron == nil {
		d := delivered(m, false)
		if j.repeats || j.sub {
			s.identify(d) // each delivery of a repeating job is a message of its own
		}
		out = append(out, d)
		if j.repeat != 0 {
			repeat := j.repeat
			if repeat > 0 {
				repeat--
			}
			more = append(more, nextOf(now+j.period, repeat))
		}
		return out, more
	}
	if j.repeat == 0 {
		d := delivered(m, false)
		s.identify(d)
		out = append(out, d)
	} else {
		// A sub-schedule: delay (or period), then repeat more every period.
		sub := m.Clone()
		delete(sub.Properties, jobCron)
		sub.Properties[PropScheduledJobID] = s.newJobID()
		sub.Properties[jobSub] = true
		sub.Properties[jobRepeats] = true
		gap := j.delay
		if gap == 0 {
			gap = j.period
		}
		sub.Properties[jobDue] = now + gap
		more = append(more, sub)
	}
	if next := j.cron.Next(time.UnixMilli(now).In(s.b.zone())); !next.IsZero() {
		more = append(more, nextOf(next.UnixMilli(), j.repeat))
	}
	return out, more
}

// identify gives a delivery a message id of its own.
func (s *scheduler) identify(m *message.Message) {
	n := s.ids.Add(1)
	m.ProducerID, m.ProducerSeq = s.producer, int64(n)
	m.ID = fmt.Sprintf("%s:%d", s.producer, n)
}

func (s *scheduler) newJobID() string {
	return fmt.Sprintf("ID:%s-%s-job:%d", s.b.cfg.Name, s.b.run, s.ids.Add(1))
}

// secHeap is a min-heap of seconds.
type secHeap []int64

func (h secHeap) Len() int           { return len(h) }
func (h secHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h secHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *secHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *secHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
