//go:build crossprocess

package cluster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/cluster"
)

// The scheduler under a kill -9 of the master: jobs are store state, so a
// new master fires what the old one left — each acknowledged job once,
// none before its time, what fell due during the takeover at once.
//
// The jobs go to two queues. The even ones to a queue read by a failover
// consumer, as applications read: each must arrive exactly once. Its
// connection's duplicate audit (like Java's checkForDuplicates) would
// drop a job fired twice with the same message id, though, so the odd ones
// go to a queue read by connections that each serve one master only: there
// a second copy must be a redelivery (its acknowledgement lost with the
// killed master), marked redelivered, never a second firing.
const (
	schedJobs      = 200
	schedMinDelay  = 2000 // ms after its send a job is due, at least
	schedMaxDelay  = 8000 // ms, at most
	schedProducers = 4    // concurrent senders, so the jobs are all sent well before the first is due
	schedKillAfter = time.Second
	schedSlack     = 10 // ms a delivery may seem early (clock granularity)
	schedQuiet     = 2 * time.Second
	// schedPrompt bounds how long after max(its due time, the new master
	// ready) a job may arrive: the failover client's reconnection (up to
	// maxReconnectDelay, 1 s) and a loaded machine.
	schedPrompt = 3 * time.Second
)

// TestSchedulerKillMasterReplicated: a replicated group of three.
func TestSchedulerKillMasterReplicated(t *testing.T) { schedulerKillMaster(t, "replicated") }

// TestSchedulerKillMasterSharedDir: a shared-directory group of two.
func TestSchedulerKillMasterSharedDir(t *testing.T) { schedulerKillMaster(t, "shared-dir") }

// TestSchedulerKillMasterSQL: a shared-database group of two on PostgreSQL.
func TestSchedulerKillMasterSQL(t *testing.T) { schedulerKillMaster(t, "sql") }

// schedJob is one scheduled message: sent by a producer, received by the
// consumer.
type schedJob struct {
	due      int64 // unix ms: the wall clock before the send plus the delay
	acked    bool
	ackAt    int64 // unix ms the send returned
	sendErr  error
	received []schedDelivery
}

type schedDelivery struct {
	at          int64 // unix ms
	conn        int   // the fresh consumer's connection (1, 2, ...); 0 for the failover consumer
	redelivered bool
	id, jobID   string
	problem     string // a delivery not as sent
}

// schedLedger is the account of one test's jobs.
type schedLedger struct {
	queue string // the prefix of the two queues (queueOf)
	mu    sync.Mutex
	jobs  [schedJobs]schedJob
	other []string     // deliveries of no job
	last  atomic.Int64 // unix ms of the last delivery
	// resumed is the unix ms the failover consumer was last back on a
	// broker after an outage (OnResumed).
	resumed atomic.Int64
}

// schedulerKillMaster starts a group of the kind given, schedules
// schedJobs persistent jobs due 2–8 s after their send (from several
// failover producers, synchronous sends), kills the master with SIGKILL a
// second after the last send was acknowledged, and has two consumers
// receive (see above): every acknowledged job arrives, fired once, none
// before its due time, none long after it was due and a master was ready.
// It logs the lateness and the takeover time.
func schedulerKillMaster(t *testing.T, kind string) {
	var c *cluster.Cluster
	switch kind {
	case "replicated":
		c, _ = startGroup(t)
	case "shared-dir":
		c, _ = startShared(t, filepath.Join(t.TempDir(), "journal"))
	case "sql":
		c, _ = startSQL(t, "postgres", sqlServers.Postgres(t))
	default:
		t.Fatalf("unknown group kind %q", kind)
	}
	l := &schedLedger{queue: queueName(t)}
	url := c.FailoverURL()
	var interruptions atomic.Int32
	stopConsumer := l.consume(t, url, &interruptions)
	stopFresh, conns := l.consumeFresh(t, url)
	lastAck := l.produce(t, url)

	time.Sleep(time.Until(lastAck.Add(schedKillAfter)))
	m, err := c.Master(electTimeout)
	if err != nil {
		t.Fatal(err)
	}
	killAt := time.Now()
	notDue, notReceived := l.pendingAt(killAt)
	m.Kill()
	next, took := newMaster(t, c, m)
	t.Logf("%s: master %s killed %s after the last acknowledged send, %d jobs not yet due and %d not yet received; "+
		"%s master %s later", kind, m.ID, killAt.Sub(lastAck).Round(time.Millisecond), notDue, notReceived,
		next.ID, took.Round(time.Millisecond))
	if notDue < schedJobs/2 {
		t.Errorf("only %d of %d jobs were pending at the kill: it tests too little (sends too slow?)", notDue, schedJobs)
	}

	l.drain(t, 60*time.Second)
	stopConsumer()
	stopFresh()
	l.check(t, killAt, took)
	t.Logf("failover consumer: %d failovers; the other consumer: %d connections", interruptions.Load(), conns.Load())
}

// queueOf is the queue of a job: the failover consumer's for even jobs,
// the fresh consumer's for odd ones.
func (l *schedLedger) queueOf(job int) string {
	if job%2 == 1 {
		return l.queue + ".fresh"
	}
	return l.queue + ".failover"
}

// delayOf spreads the jobs' delays over schedMinDelay..schedMaxDelay in an
// order unrelated to the order of the sends.
func delayOf(job int) int64 {
	return schedMinDelay + int64(job*37%schedJobs)*(schedMaxDelay-schedMinDelay)/(schedJobs-1)
}

// produce sends every job from schedProducers sessions of one failover
// connection and returns when the last acknowledgement came.
func (l *schedLedger) produce(t *testing.T, url string) time.Time {
	t.Helper()
	conn := dial(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var producers []*client.Producer
	for range schedProducers {
		s, err := conn.Session(ctx, client.AutoAck)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Producer(ctx, nil) // each send names its queue
		if err != nil {
			t.Fatal(err)
		}
		producers = append(producers, p)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w, p := range producers {
		wg.Go(func() {
			for job := w; job < schedJobs; job += schedProducers {
				l.send(p, job)
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	var acked int
	var last int64
	var errs []string
	for i, j := range l.jobs {
		if j.acked {
			acked++
			last = max(last, j.ackAt)
		} else {
			errs = append(errs, fmt.Sprintf("job %d: %v", i, j.sendErr))
		}
	}
	t.Logf("%d jobs sent in %s, %d acknowledged", schedJobs, time.Since(start).Round(time.Millisecond), acked)
	if acked == 0 {
		t.Fatalf("no send acknowledged: %s", strings.Join(first(errs, 5), "; "))
	}
	for _, e := range first(errs, 5) {
		t.Logf("failed send: %s", e)
	}
	return time.UnixMilli(last)
}

// send sends one job (persistent, synchronous) and records the outcome.
func (l *schedLedger) send(p *client.Producer, job int) {
	delay := delayOf(job)
	due := time.Now().UnixMilli() + delay
	m := client.NewTextMessage(fmt.Sprintf("%s job %d", l.queue, job))
	err := errors.Join(m.SetProperty("job", int32(job)), m.SetProperty("due", due),
		m.SetProperty("AMQ_SCHEDULED_DELAY", delay))
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		err = p.Send(ctx, m, client.To(client.Queue(l.queueOf(job))))
		cancel()
	}
	at := time.Now().UnixMilli()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.jobs[job].due = due
	l.jobs[job].sendErr = err
	l.jobs[job].acked = err == nil
	l.jobs[job].ackAt = at
}

// consume receives the even jobs on a failover connection (AutoAck) until
// the returned function is called, recording every delivery and when it
// came.
func (l *schedLedger) consume(t *testing.T, url string, interruptions *atomic.Int32) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, url, client.Options{
		OnInterrupted: func(error) { interruptions.Add(1) },
		OnResumed:     func(string) { l.resumed.Store(time.Now().UnixMilli()) },
	})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { closeConn(conn) })
	s, err := conn.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := s.Consumer(ctx, client.Queue(l.queueOf(0)))
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		for rctx.Err() == nil {
			m, err := cons.Receive(rctx)
			if err != nil {
				if rctx.Err() != nil {
					break
				}
				done <- err
				return
			}
			l.received(m, time.Now().UnixMilli(), 0)
		}
		done <- nil
	}()
	return stopper(t, "failover consumer", rcancel, done)
}

// stopper returns a function that cancels a consumer and reports why it
// ended, if it ended early; it is also called when the test ends.
func stopper(t *testing.T, what string, cancel context.CancelFunc, done chan error) func() {
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s stopped early: %v", what, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// schedMaxConns bounds the fresh consumer's connections (one kill: two).
const schedMaxConns = 10

// consumeFresh receives the odd jobs on connections that each serve one
// master only (maxReconnectAttempts=0: a lost socket ends it), dialling a
// new one after each, until the returned function is called. It returns
// how many connections it made.
func (l *schedLedger) consumeFresh(t *testing.T, url string) (stop func(), conns *atomic.Int32) {
	t.Helper()
	url += "&maxReconnectAttempts=0&startupMaxReconnectAttempts=100"
	rctx, rcancel := context.WithCancel(context.Background())
	conns = new(atomic.Int32)
	open := func() (*client.Conn, *client.Consumer, error) {
		ctx, cancel := context.WithTimeout(rctx, 60*time.Second)
		defer cancel()
		for {
			c, err := client.Dial(ctx, url, client.Options{})
			if err != nil {
				return nil, nil, err
			}
			conns.Add(1)
			k, err := openConsumer(ctx, c, l.queueOf(1))
			if err == nil {
				return c, k, nil
			}
			closeConn(c) // the master went away under us: dial again
			if ctx.Err() != nil || conns.Load() >= schedMaxConns {
				return nil, nil, err
			}
		}
	}
	c, k, err := open()
	if err != nil {
		rcancel()
		t.Fatalf("fresh consumer: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		for {
			for {
				m, err := k.Receive(rctx)
				if err != nil {
					break // the connection ended, or stop
				}
				l.received(m, time.Now().UnixMilli(), int(conns.Load()))
			}
			closeConn(c)
			if rctx.Err() != nil {
				done <- nil
				return
			}
			if conns.Load() >= schedMaxConns {
				done <- fmt.Errorf("%d connections lost", conns.Load())
				return
			}
			if c, k, err = open(); err != nil {
				if rctx.Err() != nil {
					err = nil
				}
				done <- err
				return
			}
		}
	}()
	return stopper(t, "fresh consumer", rcancel, done), conns
}

func openConsumer(ctx context.Context, c *client.Conn, queue string) (*client.Consumer, error) {
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		return nil, err
	}
	return s.Consumer(ctx, client.Queue(queue))
}

func closeConn(c *client.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.Close(ctx)
}

// received records a delivery at unix ms at, on the fresh consumer's
// connection conn (0: the failover consumer).
func (l *schedLedger) received(m *client.Message, at int64, conn int) {
	l.last.Store(at)
	job, jerr := m.LongProperty("job")
	jobID, _ := m.StringProperty("scheduledJobId")
	d := schedDelivery{at: at, conn: conn, redelivered: m.Redelivered, id: m.ID, jobID: jobID}
	text, _ := m.Text()
	switch {
	case jerr != nil || job < 0 || job >= schedJobs || (job%2 == 1) != (conn > 0):
		l.mu.Lock()
		l.other = append(l.other, fmt.Sprintf("message %s (job %d, %v) on connection %d: %q", m.ID, job, jerr, conn, text))
		l.mu.Unlock()
		return
	case text != fmt.Sprintf("%s job %d", l.queue, job):
		d.problem = fmt.Sprintf("body %q", text)
	case jobID == "":
		d.problem = "no scheduledJobId"
	}
	for _, name := range m.PropertyNames() {
		if strings.HasPrefix(name, "pier.job.") {
			d.problem = "the broker's job property " + name
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.jobs[job].received = append(l.jobs[job].received, d)
}

// pendingAt counts the acknowledged jobs not due by at (by the time they
// were meant for) and those not received by then.
func (l *schedLedger) pendingAt(at time.Time) (notDue, notReceived int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, j := range l.jobs {
		if !j.acked {
			continue
		}
		if j.due > at.UnixMilli() {
			notDue++
		}
		if len(j.received) == 0 {
			notReceived++
		}
	}
	return notDue, notReceived
}

// drain waits (at most timeout) until every acknowledged job arrived, then
// until nothing has arrived for schedQuiet (a second firing would come
// then).
func (l *schedLedger) drain(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	complete := func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, j := range l.jobs {
			if j.acked && len(j.received) == 0 {
				return false
			}
		}
		return true
	}
	for !complete() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for time.Now().Before(deadline) && time.Since(time.UnixMilli(l.last.Load())) < schedQuiet {
		time.Sleep(100 * time.Millisecond)
	}
}

// check asserts every acknowledged job arrived, each as sent, none early,
// none long after it was due and a master was ready; on the failover
// consumer exactly once, on the fresh one a second copy only as a
// redelivery. It logs the lateness (delivery minus due time) of all jobs
// and of those due during the takeover (from the kill at killAt until took
// later).
func (l *schedLedger) check(t *testing.T, killAt time.Time, took time.Duration) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var lost, twice, early, slow, bad []string
	var late, lateOutage, lateResumed []time.Duration
	resumed := l.resumed.Load()
	outageEnd := killAt.Add(took).UnixMilli()
	firstAfterKill := int64(-1)
	redeliveries := 0
	for i, j := range l.jobs {
		switch {
		case j.acked && len(j.received) == 0:
			lost = append(lost, fmt.Sprint(i))
		case len(j.received) > 1:
			fired := 1 // copies not marked redelivered: firings
			for _, d := range j.received[1:] {
				if !d.redelivered {
					fired++
				}
			}
			if i%2 == 1 && fired == 1 {
				redeliveries += len(j.received) - 1
				break
			}
			var ds []string
			for _, d := range j.received {
				ds = append(ds, fmt.Sprintf("[at due%+dms connection %d redelivered=%t id=%s job=%s]",
					d.at-j.due, d.conn, d.redelivered, d.id, d.jobID))
			}
			twice = append(twice, fmt.Sprintf("job %d (send acknowledged %t, %d copies not marked redelivered): %s",
				i, j.acked, fired, strings.Join(ds, " ")))
		}
		for _, d := range j.received {
			if d.at >= killAt.UnixMilli() && (firstAfterKill < 0 || d.at < firstAfterKill) {
				firstAfterKill = d.at
			}
			if d.at < j.due-schedSlack {
				early = append(early, fmt.Sprintf("job %d %d ms early", i, j.due-d.at))
			}
			if d.problem != "" {
				bad = append(bad, fmt.Sprintf("job %d: %s", i, d.problem))
			}
		}
		if len(j.received) > 0 {
			lateness := time.Duration(j.received[0].at-j.due) * time.Millisecond
			late = append(late, lateness)
			if j.due >= killAt.UnixMilli() && j.due <= outageEnd {
				lateOutage = append(lateOutage, lateness)
			}
			if i%2 == 0 && resumed > killAt.UnixMilli() && j.due >= resumed {
				lateResumed = append(lateResumed, lateness)
			}
			if wait := j.received[0].at - max(j.due, outageEnd); wait > schedPrompt.Milliseconds() {
				slow = append(slow, fmt.Sprintf("job %d %d ms after max(due, master ready)", i, wait))
			}
		}
	}
	if firstAfterKill >= 0 {
		t.Logf("first delivery %s after the kill", time.UnixMilli(firstAfterKill).Sub(killAt).Round(time.Millisecond))
	}
	t.Logf("lateness (delivery minus due time, due from before the send) of %d jobs: %s", len(late), percentiles(late))
	t.Logf("lateness of the %d jobs due during the takeover (%s): %s", len(lateOutage), took.Round(time.Millisecond),
		percentiles(lateOutage))
	if resumed > killAt.UnixMilli() {
		t.Logf("failover consumer back %s after the kill; lateness of the %d of its jobs due after that: %s",
			time.UnixMilli(resumed).Sub(killAt).Round(time.Millisecond), len(lateResumed), percentiles(lateResumed))
	}
	t.Logf("fresh consumer: %d redeliveries (acknowledgements lost with the killed master)", redeliveries)
	if len(lost) > 0 {
		t.Errorf("%d acknowledged jobs never delivered: %s", len(lost), strings.Join(first(lost, 20), " "))
	}
	if len(twice) > 0 {
		t.Errorf("%d jobs delivered more than once (even: failover consumer, exactly once; odd: fresh consumer, "+
			"fired once):\n%s", len(twice), strings.Join(first(twice, 10), "\n"))
	}
	if len(early) > 0 {
		t.Errorf("%d deliveries before their due time: %s", len(early), strings.Join(first(early, 20), "; "))
	}
	if len(slow) > 0 {
		t.Errorf("%d jobs arrived more than %s after they were due and a master was ready: %s", len(slow), schedPrompt,
			strings.Join(first(slow, 20), "; "))
	}
	if len(bad) > 0 {
		t.Errorf("%d deliveries not as sent: %s", len(bad), strings.Join(first(bad, 10), "; "))
	}
	if len(l.other) > 0 {
		t.Errorf("%d deliveries of no job: %s", len(l.other), strings.Join(first(l.other, 10), "; "))
	}
}

// percentiles formats the p50, p99 and max of ds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Sorted(slices.Values(ds))
	p := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return fmt.Sprintf("p50 %s, p99 %s, max %s", p(0.50), p(0.99), s[len(s)-1])
}
