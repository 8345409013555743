package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/piermq/pier/bench/internal/proc"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/client"
)

// runLogins opens and closes --count connections with --workers at once and
// prints logins per second and the broker's CPU per login.
func runLogins(args []string) error {
	fs := flag.NewFlagSet("logins", flag.ContinueOnError)
	var c common
	c.register(fs)
	count := fs.Int("count", 1000, "connections to open and close")
	from := fs.Int("from", 0, "with --prefix: the number of the first user")
	workers := fs.Int("workers", 1, "connections opened at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	if *count < 1 || *workers < 1 {
		return errors.New("--count and --workers must be at least 1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()

	cpu0, err := c.cpu()
	if err != nil {
		return err
	}
	var next, failed atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= *count || ctx.Err() != nil {
					return
				}
				if err := login(ctx, &c, c.userAt(*from+i)); err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	cpu1, err := c.cpu()
	if err != nil {
		return err
	}
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "security: %d of %d logins failed, the first: %v\n", failed.Load(), *count, firstErr)
	}
	ok := *count - int(failed.Load())
	c.result("logins", ok, "failed", failed.Load(), "workers", *workers, "seconds", took,
		"per_sec", float64(ok)/took.Seconds(), "cpu_ms", proc.Ms(cpu1-cpu0), "cpu_us_per_login", proc.PerOp(cpu1-cpu0, ok))
	if ok == 0 {
		return errors.New("no login succeeded")
	}
	return nil
}

// login opens one connection as user (ConnectionInfo answered) and closes
// it (RemoveInfo answered). No advisory consumer: the login alone.
func login(ctx context.Context, c *common, user string) error {
	conn, err := client.Dial(ctx, c.url, client.Options{Username: user, Password: c.password,
		TLS: c.tls, NoTopicAdvisories: true})
	if err != nil {
		return fmt.Errorf("%s: %w", user, err)
	}
	return conn.Close(ctx)
}
