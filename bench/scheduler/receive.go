package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/piermq/pier/bench/internal/proc"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/piermq/pier/client"
)

// earlyMargin is how far before its due time an arrival counts as early:
// the client's and the broker's clocks are the same, but the broker
// computes the due time from the delay when it reads the send.
const earlyMargin = 5 * time.Millisecond

// receiveFlags are the flags of the receive mode.
type receiveFlags struct {
	url, queue, ready string
	expect, prefetch  int
	deadlineMS        int64
	sinceMS           int64
	linger            time.Duration
	pid, clkTck       int
}

// arrivals is what the consumer saw.
type arrivals struct {
	seen       []uint8 // per job number: times received (saturating)
	lateUS     []int64 // arrival − due, µs, per message received
	foreign    int     // messages without benchDue/benchJob or out of range
	firstAt    time.Time
	lastAt     time.Time
	cpuFirst   time.Duration
	received   int
	unique     int
	duplicates int
}

// runReceive consumes the jobs as they fire and prints their lateness.
func runReceive(args []string) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	var f receiveFlags
	fs.StringVar(&f.url, "url", "tcp://127.0.0.1:61616", "broker URL")
	fs.StringVar(&f.queue, "queue", "sched.bench", "queue to consume")
	fs.StringVar(&f.ready, "ready", "", "a file written once the consumer is subscribed")
	fs.IntVar(&f.expect, "expect", 1000, "jobs expected, numbered 0..expect-1")
	fs.IntVar(&f.prefetch, "prefetch", 10000, "the consumer's prefetch")
	fs.Int64Var(&f.deadlineMS, "deadline-ms", 0, "unix ms to give up waiting at (0: in 10 minutes)")
	fs.Int64Var(&f.sinceMS, "since-ms", 0, "unix ms the first and last arrival are also reported from (0: not)")
	fs.DurationVar(&f.linger, "linger", 3*time.Second, "how long to go on receiving (duplicates) after the last expected job")
	fs.IntVar(&f.pid, "pid", 0, "the broker process whose CPU time and memory are reported (0: none)")
	fs.IntVar(&f.clkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.expect < 1 || f.prefetch < 0 || f.clkTck <= 0 {
		return fmt.Errorf("%w: --expect must be at least 1, --prefetch not negative", errUsage)
	}
	deadline := time.Now().Add(10 * time.Minute)
	if f.deadlineMS != 0 {
		deadline = time.UnixMilli(f.deadlineMS)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return receive(ctx, &f)
}

// receive subscribes, collects arrivals until every job came (and the
// linger passed) or the deadline, and prints the result.
func receive(ctx context.Context, f *receiveFlags) error {
	conn, err := client.Dial(ctx, f.url, client.Options{NoTopicAdvisories: true})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	s, err := conn.Session(ctx, client.AutoAck)
	if err != nil {
		return err
	}
	k, err := s.Consumer(ctx, client.Queue(f.queue), client.Prefetch(f.prefetch))
	if err != nil {
		return err
	}
	if f.ready != "" {
		if err := os.WriteFile(f.ready, []byte("ready\n"), 0o644); err != nil {
			return err
		}
	}
	broker := proc.Proc{PID: f.pid, ClkTck: f.clkTck}
	mem := startSampler(broker)
	a := &arrivals{seen: make([]uint8, f.expect), lateUS: make([]int64, 0, f.expect)}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	lingering := false
	for {
		m, err := k.Receive(rctx)
		if err != nil {
			if rctx.Err() != nil {
				break
			}
			return fmt.Errorf("receive: %w", err)
		}
		now := time.Now()
		if err := a.add(m, now, broker); err != nil {
			return err
		}
		if a.unique == f.expect && !lingering {
			// Every job came: receive a while longer for duplicates.
			lingering = true
			time.AfterFunc(f.linger, stop)
		}
	}
	cpuLast, err := broker.CPU()
	if err != nil {
		return err
	}
	peak, end := mem.stop()
	a.report(f, cpuLast, peak, end)
	return nil
}

// add records one arrival at now.
func (a *arrivals) add(m *client.Message, now time.Time, broker proc.Proc) error {
	due, err1 := m.LongProperty(propDue)
	job, err2 := m.LongProperty(propJob)
	if err := errors.Join(err1, err2); err != nil || job < 0 || job >= int64(len(a.seen)) {
		a.foreign++
		return nil
	}
	if a.received == 0 {
		cpu, err := broker.CPU()
		if err != nil {
			return err
		}
		a.firstAt, a.cpuFirst = now, cpu
	}
	a.received++
	a.lateUS = append(a.lateUS, now.UnixMicro()-due*1000)
	switch a.seen[job] {
	case 0:
		a.unique++
		a.lastAt = now
	default:
		a.duplicates++
	}
	if a.seen[job] < 255 {
		a.seen[job]++
	}
	return nil
}

// report prints the result line.
func (a *arrivals) report(f *receiveFlags, cpuLast time.Duration, peakKB, endKB int64) {
	slices.Sort(a.lateUS)
	early := 0
	for _, l := range a.lateUS {
		if l >= -earlyMargin.Microseconds() {
			break
		}
		early++
	}
	pct := func(p float64) any {
		if len(a.lateUS) == 0 {
			return "-"
		}
		i := min(int(p*float64(len(a.lateUS))), len(a.lateUS)-1)
		return float64(a.lateUS[i]) / 1000
	}
	at := func(t time.Time) any {
		if t.IsZero() {
			return "-"
		}
		return t.UnixMilli()
	}
	since := func(t time.Time) any {
		if t.IsZero() || f.sinceMS == 0 {
			return "-"
		}
		return t.Sub(time.UnixMilli(f.sinceMS))
	}
	cpu := time.Duration(0)
	if a.received > 0 {
		cpu = cpuLast - a.cpuFirst
	}
	result("expected", len(a.seen), "received", a.received, "unique", a.unique, "duplicates", a.duplicates,
		"missing", len(a.seen)-a.unique, "foreign", a.foreign, "early", early,
		"min_ms", pct(0), "p50_ms", pct(0.50), "p99_ms", pct(0.99), "max_ms", pct(1),
		"first_ms", at(a.firstAt), "last_ms", at(a.lastAt), "first_since_s", since(a.firstAt), "last_since_s", since(a.lastAt),
		"cpu_fire_ms", proc.Ms(cpu), "cpu_us_per_job", proc.PerOp(cpu, a.received), "rss_peak_kb", peakKB, "rss_kb", endKB)
}

// sampler reads a process's RSS every 200 ms and keeps the peak.
type sampler struct {
	p    proc.Proc
	done chan struct{}
	wg   sync.WaitGroup
	peak int64
}

func startSampler(p proc.Proc) *sampler {
	s := &sampler{p: p, done: make(chan struct{})}
	s.wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := s.p.RSSKB(); err == nil {
				s.peak = max(s.peak, kb)
			}
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	})
	return s
}

// stop ends the sampling and returns the peak and the current RSS.
func (s *sampler) stop() (peak, now int64) {
	close(s.done)
	s.wg.Wait()
	now, _ = s.p.RSSKB()
	return max(s.peak, now), now
}
