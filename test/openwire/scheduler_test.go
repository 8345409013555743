//go:build crossprocess

package openwire

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/activemq"
	"github.com/piermq/pier/test/internal/javarun"
	"github.com/piermq/pier/test/internal/piertest"
)

// The scheduler tests: java/SchedulerScenarios.java through the ActiveMQ
// 5.17 JMS client, each scenario against a broker of its own (the
// management scenario removes every job of its broker).

// skipScheduler skips for the real ActiveMQ: the Debian configuration
// activemq.sh copies has schedulerSupport off.
func skipScheduler(t *testing.T) {
	t.Helper()
	if target(t) != "pier" {
		t.Skip("ActiveMQ's Debian activemq.xml has schedulerSupport off; activemq.sh leaves it so")
	}
}

// TestScheduler, one broker and one JVM per scenario:
//   - delay: AMQ_SCHEDULED_DELAY 1500 arrives not before 1.5 s and within
//     3 s after, once, with its JMSMessageID and a scheduledJobId, and
//     without the AMQ_SCHEDULED_* properties (as ActiveMQ delivers it);
//   - repeat: DELAY 500, PERIOD 500, REPEAT 3 gives exactly 4 deliveries,
//     >= 450 ms apart, each with a JMSMessageID of its own (not the sent
//     one, as in ActiveMQ) and the job's one scheduledJobId;
//   - management: BROWSE, REMOVE by scheduledJobId and by time range,
//     REMOVEALL on ActiveMQ.Scheduler.Management; nothing removed arrives;
//   - bad-values: values the scheduler cannot obey make a persistent send
//     throw MessageFormatException from the broker, and the connection
//     still works (over failover:, as applications connect, and over a
//     bare tcp:// too).
//
// It runs in parallel with TestSchedulerCron, which mostly waits for a
// whole minute.
func TestScheduler(t *testing.T) {
	skipScheduler(t)
	classpath(t)
	t.Parallel()
	cases := []struct {
		name, scenario string
		url            func(addr string) string
	}{
		{"delay", "delay", failoverURL},
		{"repeat", "repeat", failoverURL},
		{"management", "management", failoverURL},
		{"bad-values", "bad-values", failoverURL},
		{"bad-values-tcp", "bad-values", func(addr string) string { return "tcp://" + addr }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t)
			runSchedulerScenario(t, tc.url(b.Addr()), tc.scenario, 40*time.Second)
		})
	}
}

// TestSchedulerCron: AMQ_SCHEDULED_CRON "* * * * *" fires at the next whole
// minute, and with REPEAT 1 and PERIOD 1000 starts two deliveries a second
// apart there. The suite's one wait for a real minute (at most about 65 s).
func TestSchedulerCron(t *testing.T) {
	skipScheduler(t)
	classpath(t)
	t.Parallel()
	b := startBroker(t)
	runSchedulerScenario(t, failoverURL(b.Addr()), "cron", 80*time.Second)
}

// runSchedulerScenario runs one scenario of SchedulerScenarios in a JVM of
// its own, bounded by limit, and logs what it measured (its INFO lines).
func runSchedulerScenario(t *testing.T, url, name string, limit time.Duration) {
	t.Helper()
	bound := fmt.Sprintf("-Dscenario.seconds=%d", int(limit.Seconds()))
	j := javarun.JVM{Src: jvm.Src, Flags: append(slices.Clone(jvm.Flags), bound)}
	ctx, cancel := context.WithTimeout(context.Background(), limit+time.Minute)
	defer cancel()
	start := time.Now()
	p := j.Start(t, ctx, nil, "SchedulerScenarios", url, name)
	waitErr := p.Wait(limit + time.Minute)
	out := p.Output()
	part := javarun.Section(out, name)
	switch {
	case strings.Contains(part, "\nPASS "+name+" "):
		for _, line := range strings.Split(part, "\n") {
			if strings.HasPrefix(line, "INFO ") || strings.HasPrefix(line, "NOTE ") {
				t.Log(line)
			}
		}
		t.Logf("%s (JVM included: %s)", lastLine(part), time.Since(start).Round(time.Millisecond))
	case part == "":
		t.Fatalf("scenario %s did not run (exit: %v); output:\n%s", name, waitErr, activemq.Tail(out, 8192))
	default:
		t.Fatalf("%s", part)
	}
	if waitErr != nil {
		t.Errorf("SchedulerScenarios exited with %v:\n%s", waitErr, activemq.Tail(out, 8192))
	}
}

// Restart test parameters: n jobs due restartMin to restartMax ms after
// their send; each must arrive within restartPrompt of the broker being
// ready again.
const (
	restartJobs   = 20
	restartMin    = 1000
	restartMax    = 3000
	restartPrompt = 2 * time.Second
)

// sentJob is a SENT line of SchedulerScenarios -schedule.
type sentJob struct {
	before, after, delay int64 // wall clock ms around the send; ms
	id                   string
}

// gotJob is a RECV line of SchedulerScenarios -receive.
type gotJob struct {
	job         int
	at          int64
	id, jobID   string
	redelivered bool
}

// TestSchedulerRestart: 20 persistent messages with delays of 1–3 s, the
// broker stopped (SIGTERM) before any is due and started again on the same
// data directory once all are past due: every one arrives once (the
// consumer's duplicate audit off, so a second firing would show), none
// before its due time, with its JMSMessageID, within 2 s of the broker
// being ready again.
func TestSchedulerRestart(t *testing.T) {
	skipScheduler(t)
	classpath(t)
	p := piertest.StartWith(t, piertest.Options{OpenWire: true})
	queue := fmt.Sprintf("ow.sched.restart.%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var mu sync.Mutex
	var got []gotJob
	var bad []string
	url := "failover:(tcp://" + p.OpenWireAddr + ")?initialReconnectDelay=50&maxReconnectDelay=200&jms.checkForDuplicates=false"
	rx := startJava(t, ctx, func(line string) {
		f := strings.Fields(line)
		if len(f) != 6 || f[0] != "RECV" {
			return
		}
		job, err1 := strconv.Atoi(f[1])
		at, err2 := strconv.ParseInt(f[2], 10, 64)
		mu.Lock()
		defer mu.Unlock()
		if err1 != nil || err2 != nil {
			bad = append(bad, line)
			return
		}
		got = append(got, gotJob{job: job, at: at, id: f[3], jobID: f[4], redelivered: f[5] == "true"})
	}, "SchedulerScenarios", "-receive", url, queue, strconv.Itoa(restartJobs), "90")
	if err := rx.AwaitLine("READY", 30*time.Second); err != nil {
		t.Fatalf("receiver: %v\n%s", err, rx.Output())
	}
	if !strings.Contains(rx.Output(), "INFO checkForDuplicates=false\n") {
		t.Fatalf("the receiver's duplicate audit is on, it would hide a second firing:\n%s", rx.Output())
	}

	sent := make([]*sentJob, restartJobs)
	tx := startJava(t, ctx, func(line string) {
		f := strings.Fields(line)
		if len(f) != 6 || f[0] != "SENT" {
			return
		}
		i, _ := strconv.Atoi(f[1])
		before, _ := strconv.ParseInt(f[2], 10, 64)
		after, _ := strconv.ParseInt(f[3], 10, 64)
		delay, _ := strconv.ParseInt(f[4], 10, 64)
		if i >= 0 && i < restartJobs {
			mu.Lock()
			sent[i] = &sentJob{before: before, after: after, delay: delay, id: f[5]}
			mu.Unlock()
		}
	}, "SchedulerScenarios", "-schedule", "tcp://"+p.OpenWireAddr, queue, strconv.Itoa(restartJobs),
		strconv.Itoa(restartMin), strconv.Itoa(restartMax))
	if err := tx.AwaitLine("DONE", 60*time.Second); err != nil {
		t.Fatalf("scheduler: %v\n%s", err, tx.Output())
	}
	stopAt := time.Now()
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	stopped := time.Now()

	mu.Lock()
	var lastDue int64
	pending := 0
	for i, s := range sent {
		if s == nil {
			mu.Unlock()
			t.Fatalf("no SENT line for job %d:\n%s", i, tx.Output())
		}
		lastDue = max(lastDue, s.after+s.delay)
		if s.before+s.delay > stopped.UnixMilli() {
			pending++
		}
	}
	firedBefore := len(got)
	mu.Unlock()
	t.Logf("SIGTERM %s after the last send; pier stopped in %s with %d of %d jobs not yet due (%d delivered before)",
		stopAt.Sub(time.UnixMilli(sent[restartJobs-1].after)).Round(time.Millisecond),
		stopped.Sub(stopAt).Round(time.Millisecond), pending, restartJobs, firedBefore)
	if pending < restartJobs/2 {
		t.Fatalf("only %d of %d jobs were pending when pier stopped: the restart tests too little", pending, restartJobs)
	}

	time.Sleep(time.Until(time.UnixMilli(lastDue + 500))) // every job past due while pier is down
	restartAt := time.Now()
	p.Restart()
	ready := time.Now()
	if err := rx.AwaitLine("END", 60*time.Second); err != nil {
		t.Fatalf("receiver: %v\n%s", err, rx.Output())
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("unreadable RECV lines: %q", bad)
	}
	count := make([]int, restartJobs)
	var afterReady []time.Duration
	for _, g := range got {
		if g.job < 0 || g.job >= restartJobs {
			t.Errorf("received job %d, never sent", g.job)
			continue
		}
		count[g.job]++
		s := sent[g.job]
		if due := s.before + s.delay; g.at < due-10 {
			t.Errorf("job %d delivered %d ms before it was due", g.job, due-g.at)
		}
		if g.id != s.id {
			t.Errorf("job %d delivered as %s, sent as %s (a delayed message keeps its JMSMessageID)", g.job, g.id, s.id)
		}
		if g.jobID == "" || g.jobID == "null" {
			t.Errorf("job %d delivered without scheduledJobId", g.job)
		}
		if g.at >= stopped.UnixMilli() {
			late := time.UnixMilli(g.at).Sub(ready)
			afterReady = append(afterReady, late)
			if late > restartPrompt {
				t.Errorf("job %d delivered %s after pier was ready again, want within %s", g.job, late, restartPrompt)
			}
		}
	}
	for job, n := range count {
		if n != 1 {
			t.Errorf("job %d delivered %d times, want once", job, n)
		}
	}
	slices.Sort(afterReady)
	if len(afterReady) > 0 {
		t.Logf("restart: pier ready %s after its start; %d jobs delivered %s to %s after it was ready",
			ready.Sub(restartAt).Round(time.Millisecond), len(afterReady),
			afterReady[0].Round(time.Millisecond), afterReady[len(afterReady)-1].Round(time.Millisecond))
	}
	if t.Failed() {
		t.Logf("receiver:\n%s", rx.Output()) // pier's log follows, from piertest
	}
}
