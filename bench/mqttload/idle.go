package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/bench/internal/proc"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// idleConfig is what an idle run does.
type idleConfig struct {
	conns, dialers int
	settle, hold   time.Duration
	broker         proc.Proc
	out            io.Writer
}

// runIdle opens cfg.conns connections (CONNECT, CONNACK, then nothing but
// a PINGREQ every half keep-alive), reads the broker's RSS before and
// after cfg.settle, prints a line, holds them for cfg.hold (0: until ctx
// ends), checks each still answers a PINGREQ, prints a second line and
// closes them.
func runIdle(ctx context.Context, d dialer, cfg idleConfig) error {
	rss0, err := cfg.broker.RSSKB()
	if err != nil {
		return fmt.Errorf("broker RSS: %w", err)
	}
	start := time.Now()
	conns, failed, ferr := dialAll(ctx, d, cfg.conns, cfg.dialers)
	took := time.Since(start)
	defer func() {
		for _, c := range conns {
			c.nc.Close()
		}
	}()
	if len(conns) == 0 {
		return fmt.Errorf("no connection opened: %w", ferr)
	}
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(cfg.settle):
	}
	rss1, err := cfg.broker.RSSKB()
	if err != nil {
		return fmt.Errorf("broker RSS: %w", err)
	}
	kv := []any{"mode", "idle", "conns", len(conns), "failed", failed, "connect_s", took,
		"rss_before_kb", rss0, "rss_after_kb", rss1}
	if cfg.broker.PID != 0 {
		kv = append(kv, "kib_per_conn", float64(rss1-rss0)/float64(len(conns)))
	}
	if ferr != nil {
		kv = append(kv, "first_error", fmt.Sprintf("%q", ferr.Error()))
	}
	fmt.Fprintln(cfg.out, proc.Line(kv...))
	hold(ctx, conns, d.keepAlive, cfg.hold)
	alive := pingAll(conns, cfg.dialers)
	fmt.Fprintln(cfg.out, proc.Line("mode", "idle", "held", len(conns), "alive", alive))
	return nil
}

// dialAll opens n connections with workers dialing at once; it returns
// those opened, how many failed and the first failure.
func dialAll(ctx context.Context, d dialer, n, workers int) ([]*conn, int, error) {
	var (
		mu     sync.Mutex
		conns  []*conn
		first  error
		failed int
		next   atomic.Int64
		wg     sync.WaitGroup
	)
	pid := os.Getpid()
	for range max(workers, 1) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				c, err := d.dial(ctx, i, fmt.Sprintf("mqttload-%d-i%d", pid, i), false)
				mu.Lock()
				if err != nil {
					failed++
					if first == nil {
						first = err
					}
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return conns, failed, first
}

// hold keeps the connections for d (0: until ctx ends), sending each a
// PINGREQ every half keep-alive; their PINGRESPs wait in the socket
// buffers until pingAll reads them.
func hold(ctx context.Context, conns []*conn, keepAlive uint16, d time.Duration) {
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tick := time.NewTicker(max(time.Duration(keepAlive)*time.Second/2, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, c := range conns {
			c.nc.SetWriteDeadline(time.Now().Add(time.Second))
			_ = c.write(&packet.Pingreq{})
		}
	}
}

// pingAll sends each connection a PINGREQ and counts those that answer
// with a PINGRESP within 10 s.
func pingAll(conns []*conn, workers int) int {
	var alive, next atomic.Int64
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(conns)); i = next.Add(1) - 1 {
				if ping(conns[i]) == nil {
					alive.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(alive.Load())
}

// ping sends a PINGREQ and reads a PINGRESP (perhaps one of hold's).
func ping(c *conn) error {
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := c.write(&packet.Pingreq{}); err != nil {
		return err
	}
	_, err := readReply[*packet.Pingresp](c)
	return err
}
