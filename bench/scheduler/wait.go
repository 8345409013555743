package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/piermq/pier/bench/internal/proc"
	"net"
	"net/http"
	"time"
)

// waitFlags are the flags of the wait mode.
type waitFlags struct {
	addr, http  string
	sinceMS     int64
	timeout     time.Duration
	pid, clkTck int
}

// runWait polls until the broker listens (and, with --http, is ready) and
// prints when, counted from --since-ms.
func runWait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	var f waitFlags
	fs.StringVar(&f.addr, "addr", "127.0.0.1:61616", "host:port to connect to")
	fs.StringVar(&f.http, "http", "", "a URL that answers 200 once the broker is ready, e.g. Pier's /readyz (empty: none)")
	fs.Int64Var(&f.sinceMS, "since-ms", 0, "unix ms the times are counted from (0: now)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.IntVar(&f.pid, "pid", 0, "the broker process: give up if it exits; its CPU time and memory are reported (0: none)")
	fs.IntVar(&f.clkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.clkTck <= 0 {
		return fmt.Errorf("%w: --clk-tck must be positive", errUsage)
	}
	since := time.Now()
	if f.sinceMS != 0 {
		since = time.UnixMilli(f.sinceMS)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	broker := proc.Proc{PID: f.pid, ClkTck: f.clkTck}
	listenAt, err := poll(ctx, broker, func() bool { return dialable(f.addr) })
	if err != nil {
		return fmt.Errorf("%s: %w", f.addr, err)
	}
	cpuListen, err := broker.CPU()
	if err != nil {
		return err
	}
	readyAt := listenAt
	if f.http != "" {
		if readyAt, err = poll(ctx, broker, func() bool { return answers200(ctx, f.http) }); err != nil {
			return fmt.Errorf("%s: %w", f.http, err)
		}
	}
	rss, err := broker.RSSKB()
	if err != nil {
		return err
	}
	result("listen_s", listenAt.Sub(since), "ready_s", readyAt.Sub(since), "listen_ms", listenAt.UnixMilli(),
		"cpu_ms", proc.Ms(cpuListen), "rss_kb", rss)
	return nil
}

// poll calls ok every 5 ms until it is true and returns when; it fails
// when ctx ends or the process exits.
func poll(ctx context.Context, p proc.Proc, ok func() bool) (time.Time, error) {
	for {
		if ok() {
			return time.Now(), nil
		}
		if !p.Alive() {
			return time.Time{}, fmt.Errorf("process %d exited", p.PID)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func answers200(ctx context.Context, url string) bool {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
