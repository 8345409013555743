package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/bench/internal/proc"
)

// loadConfig is what a load run does.
type loadConfig struct {
	topic           string
	qos             byte
	pubs, subs      int
	n, warmup, size int
	inflight, ahead int
	timeout         time.Duration // the longest a run may go without progress
	broker          proc.Proc
}

// run is one load run's shared state.
type run struct {
	cfg         loadConfig
	base        time.Time
	measureFrom int64 // the first sequence number measured (after the warm-up)
	closing     atomic.Bool
	pubs        []*publisher
	subs        []*subscriber
}

// notify wakes whoever waits for progress.
func (r *run) notify() {
	for _, p := range r.pubs {
		p.gate.notify()
	}
}

// slowest returns the highest sequence number of publisher pi that every
// subscriber has received (-1: none yet).
func (r *run) slowest(pi uint32) int64 {
	low := int64(1<<63 - 1)
	for _, s := range r.subs {
		low = min(low, s.last[pi].Load())
	}
	return low
}

// complete reports whether every subscriber has the message before seq of
// every publisher, and every QoS 1 PUBLISH up to it is acknowledged.
func (r *run) complete(seq int64) bool {
	for _, p := range r.pubs {
		if r.slowest(p.index) < seq-1 || r.cfg.qos > 0 && p.acked.Load() < seq {
			return false
		}
	}
	return true
}

// result is what a load run measured (over the measured phase only).
type result struct {
	published, acked, delivered, expected int64
	elapsed, pubElapsed                   time.Duration
	lat                                   []int64 // sorted, ns
	brokerCPU, selfCPU                    time.Duration
	stalled                               bool // ended by the timeout, not complete
}

// runLoad connects the subscribers, then the publishers, publishes the
// warm-up and then the measured messages, and waits for them.
func runLoad(ctx context.Context, d dialer, cfg loadConfig) (result, error) {
	r := &run{cfg: cfg, base: time.Now(), measureFrom: int64(cfg.warmup)}
	defer r.close()
	var wg sync.WaitGroup
	errs := make(chan error, cfg.pubs+cfg.subs)
	if err := r.connect(ctx, d, &wg, errs); err != nil {
		return result{}, err
	}
	phase := func(from, to int64) error {
		var pw sync.WaitGroup
		for _, p := range r.pubs {
			pw.Go(func() {
				if err := p.publish(from, to); err != nil {
					errs <- err
				}
			})
		}
		pw.Wait()
		// The publishers are done: wait on the first one's gate.
		if !r.pubs[0].gate.wait(func() bool { return r.complete(to) }, cfg.timeout) {
			return errIncomplete
		}
		return nil
	}
	if cfg.warmup > 0 {
		if err := phase(0, int64(cfg.warmup)); err != nil {
			return result{}, fmt.Errorf("warm-up: %w", firstErr(errs, err))
		}
	}
	cpu0, err := cfg.broker.CPU()
	if err != nil {
		return result{}, fmt.Errorf("broker CPU: %w", err)
	}
	self := proc.Proc{PID: os.Getpid(), ClkTck: cfg.broker.ClkTck}
	self0, _ := self.CPU()
	t0 := int64(time.Since(r.base))
	perr := phase(int64(cfg.warmup), int64(cfg.warmup+cfg.n))
	if perr != nil && !errors.Is(perr, errIncomplete) {
		return result{}, perr
	}
	if err := firstErr(errs, nil); err != nil {
		return result{}, err
	}
	cpu1, err := cfg.broker.CPU()
	if err != nil {
		return result{}, fmt.Errorf("broker CPU: %w", err)
	}
	self1, _ := self.CPU()
	r.close()
	wg.Wait()
	return r.result(t0, cpu1-cpu0, self1-self0, perr != nil), nil
}

var errIncomplete = errors.New("not every message arrived")

// firstErr returns the first error a client goroutine reported, else err.
func firstErr(errs chan error, err error) error {
	select {
	case e := <-errs:
		return e
	default:
		return err
	}
}

// connect dials the subscribers (and subscribes them), then the
// publishers, and starts their read loops in wg, which report to errs.
func (r *run) connect(ctx context.Context, d dialer, wg *sync.WaitGroup, errs chan error) error {
	cfg := r.cfg
	pid := os.Getpid()
	for i := range cfg.subs {
		c, err := d.dial(ctx, i, fmt.Sprintf("mqttload-%d-s%d", pid, i), true)
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		s := &subscriber{c: c, run: r, last: make([]atomic.Int64, cfg.pubs), lat: make([]int64, 0, cfg.n)}
		for j := range s.last {
			s.last[j].Store(-1)
		}
		r.subs = append(r.subs, s)
		if err := c.subscribe(cfg.topic, cfg.qos); err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
	}
	for i := range cfg.pubs {
		c, err := d.dial(ctx, cfg.subs+i, fmt.Sprintf("mqttload-%d-p%d", pid, i), false)
		if err != nil {
			return fmt.Errorf("publisher %d: %w", i, err)
		}
		r.pubs = append(r.pubs, &publisher{c: c, run: r, index: uint32(i), gate: newGate(),
			sem: make(chan struct{}, max(cfg.inflight, 1)), buf: make([]byte, max(cfg.size, headerSize))})
	}
	for _, s := range r.subs {
		wg.Go(func() {
			if err := s.readLoop(); err != nil {
				errs <- err
			}
		})
	}
	for _, p := range r.pubs {
		wg.Go(func() {
			if err := p.ackLoop(); err != nil {
				errs <- err
			}
		})
	}
	return nil
}

// close disconnects every client; the read loops then end.
func (r *run) close() {
	if r.closing.Swap(true) {
		return
	}
	for _, p := range r.pubs {
		p.c.disconnect()
	}
	for _, s := range r.subs {
		s.c.disconnect()
	}
}

// result gathers the measured phase that began at t0 (ns since base).
func (r *run) result(t0 int64, brokerCPU, selfCPU time.Duration, stalled bool) result {
	res := result{brokerCPU: brokerCPU, selfCPU: selfCPU, stalled: stalled,
		expected: int64(r.cfg.n) * int64(r.cfg.subs) * int64(r.cfg.pubs)}
	var lastAt, pubAt int64
	for _, s := range r.subs {
		res.delivered += s.got.Load()
		lastAt = max(lastAt, s.lastAt.Load())
		res.lat = append(res.lat, s.lat...)
	}
	for _, p := range r.pubs {
		res.published += int64(r.cfg.n)
		res.acked += max(p.acked.Load()-int64(r.cfg.warmup), 0)
		pubAt = max(pubAt, p.sentAt, p.ackAt.Load())
	}
	res.elapsed = time.Duration(lastAt - t0)
	res.pubElapsed = time.Duration(pubAt - t0)
	slices.Sort(res.lat)
	return res
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted ns
// values in µs; 0 for none.
func percentile(sorted []int64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return float64(sorted[min(max(i, 0), len(sorted)-1)]) / 1e3
}

// line is the result as key=value pairs for proc.Line.
func (res result) line(cfg loadConfig) string {
	rate := func(n int64, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	kv := []any{"mode", "load", "qos", cfg.qos, "pubs", cfg.pubs, "subs", cfg.subs, "size", cfg.size,
		"published", res.published, "acked", res.acked, "expected", res.expected, "delivered", res.delivered,
		"lost", res.expected - res.delivered, "complete", !res.stalled,
		"elapsed_s", res.elapsed, "msg_per_s", rate(res.delivered, res.elapsed),
		"pub_per_s", rate(res.published, res.pubElapsed),
		"p50_us", percentile(res.lat, 50), "p99_us", percentile(res.lat, 99),
		"max_us", percentile(res.lat, 100),
		"client_cpu_us_per_msg", proc.PerOp(res.selfCPU, int(res.delivered))}
	if cfg.broker.PID != 0 {
		kv = append(kv, "broker_cpu_ms", proc.Ms(res.brokerCPU),
			"broker_cpu_us_per_msg", proc.PerOp(res.brokerCPU, int(res.delivered)))
	}
	return proc.Line(kv...)
}
