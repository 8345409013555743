package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/piermq/pier/bench/internal/proc"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/client"
)

// scheduleFlags are the flags of the schedule mode.
type scheduleFlags struct {
	url, queue         string
	count, producers   int
	size               int
	from, window       time.Duration
	baseMS             int64
	seed               uint64
	timeout            time.Duration
	pid, clkTck        int
	firstJob, progress int
}

// runSchedule sends the jobs and prints how long that took and what it cost
// the broker.
func runSchedule(args []string) error {
	fs := flag.NewFlagSet("schedule", flag.ContinueOnError)
	var f scheduleFlags
	fs.StringVar(&f.url, "url", "tcp://127.0.0.1:61616", "broker URL")
	fs.StringVar(&f.queue, "queue", "sched.bench", "queue the jobs are delivered to")
	fs.IntVar(&f.count, "count", 1000, "jobs to schedule")
	fs.IntVar(&f.firstJob, "first-job", 0, "number of the first job (benchJob)")
	fs.IntVar(&f.producers, "producers", 8, "connections sending at once")
	fs.IntVar(&f.size, "size", 1024, "body bytes (a BytesMessage)")
	fs.DurationVar(&f.from, "from", 30*time.Second, "the earliest due time, after t0")
	fs.DurationVar(&f.window, "window", 60*time.Second, "due times are spread uniformly over this long after t0+from")
	fs.Int64Var(&f.baseMS, "base-ms", 0, "t0 in unix ms (0: when sending starts)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the due times")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.IntVar(&f.pid, "pid", 0, "the broker process whose CPU time and memory are reported (0: none)")
	fs.IntVar(&f.clkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	fs.IntVar(&f.progress, "progress", 0, "say on stderr every this many jobs (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.count < 1 || f.producers < 1 || f.size < 0 || f.from < 0 || f.window < 0 || f.clkTck <= 0 {
		return fmt.Errorf("%w: --count and --producers must be at least 1, --size, --from and --window not negative", errUsage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	return schedule(ctx, &f)
}

// sender is one producer connection.
type sender struct {
	conn *client.Conn
	prod *client.Producer
}

func dialSender(ctx context.Context, url, queue string) (*sender, error) {
	conn, err := client.Dial(ctx, url, client.Options{NoTopicAdvisories: true})
	if err != nil {
		return nil, err
	}
	s, err := conn.Session(ctx, client.AutoAck)
	if err == nil {
		var p *client.Producer
		if p, err = s.Producer(ctx, client.Queue(queue)); err == nil {
			return &sender{conn: conn, prod: p}, nil
		}
	}
	conn.Close(ctx)
	return nil, err
}

// schedule dials the producers, sends every job and prints the result.
func schedule(ctx context.Context, f *scheduleFlags) error {
	senders := make([]*sender, 0, f.producers)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range senders {
			s.conn.Close(cctx)
		}
	}()
	for range f.producers {
		s, err := dialSender(ctx, f.url, f.queue)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		senders = append(senders, s)
	}
	broker := proc.Proc{PID: f.pid, ClkTck: f.clkTck}
	cpu0, err := broker.CPU()
	if err != nil {
		return err
	}
	body := make([]byte, f.size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	start := time.Now()
	t0 := f.baseMS
	if t0 == 0 {
		t0 = start.UnixMilli()
	}
	var next, sentN, overdue atomic.Int64
	var firstDue, lastDue atomic.Int64
	firstDue.Store(1 << 62)
	errs := make([]error, len(senders))
	var wg sync.WaitGroup
	for w, s := range senders {
		rng := rand.New(rand.NewPCG(f.seed, uint64(w)))
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= f.count || ctx.Err() != nil {
					return
				}
				due := t0 + f.from.Milliseconds()
				if f.window > 0 {
					due += rng.Int64N(f.window.Milliseconds())
				}
				delay := due - time.Now().UnixMilli()
				if delay < 1 {
					overdue.Add(1)
					delay = 1 // still a job, fired at once
				}
				m := client.NewBytesMessage(body)
				err := errors.Join(m.SetProperty(propDelay, delay), m.SetProperty(propDue, due),
					m.SetProperty(propJob, int64(f.firstJob+i)))
				if err == nil {
					err = s.prod.Send(ctx, m)
				}
				if err != nil {
					errs[w] = fmt.Errorf("job %d: %w", f.firstJob+i, err)
					return
				}
				sentN.Add(1)
				storeMin(&firstDue, due)
				storeMax(&lastDue, due)
				if f.progress > 0 && (i+1)%f.progress == 0 {
					fmt.Fprintf(os.Stderr, "scheduler: %d jobs sent in %.1fs\n", i+1, time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	end := time.Now().UnixMilli()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cpu1, err := broker.CPU()
	if err != nil {
		return err
	}
	rss, err := broker.RSSKB()
	if err != nil {
		return err
	}
	sent := int(sentN.Load())
	result("sent", sent, "producers", f.producers, "seconds", took, "per_sec", float64(sent)/took.Seconds(),
		"cpu_ms", proc.Ms(cpu1-cpu0), "cpu_us_per_job", proc.PerOp(cpu1-cpu0, sent), "rss_kb", rss,
		"t0_ms", t0, "end_ms", end, "first_due_ms", firstDue.Load(), "last_due_ms", lastDue.Load(),
		"margin_s", time.Duration(firstDue.Load()-end)*time.Millisecond, "overdue", overdue.Load())
	return nil
}

func storeMin(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v >= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
