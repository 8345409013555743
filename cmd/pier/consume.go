package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/piermq/pier/internal/stompclient"
)

const consumeUsage = `Receives messages from a destination over STOMP 1.2 and prints each body
on its own line (or only counts them with --quiet). Stops after --count
messages, after --timeout without a message, or on interrupt. With a client
ack mode every message is acknowledged after it is printed.`

// runConsume implements `pier consume`.
func runConsume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("consume", consumeUsage, stderr)
	var conn stompConnFlags
	conn.register(fs, "queue://pier.test")
	count := fs.Int("count", 0, "stop after this many messages (0 = no limit)")
	ackFlag := fs.String("ack", "auto", "ack mode: auto, client or client-individual")
	timeout := fs.Duration("timeout", 0, "stop when no message arrived for this long (0 = wait forever)")
	quiet := fs.Bool("quiet", false, "do not print bodies, only the count")
	prefetch := fs.Int("prefetch", 0, "activemq.prefetchSize (0 = broker default)")
	selector := fs.String("selector", "", "JMS message selector")
	if done, err := parseCommandFlags(fs, args); done {
		return err
	}
	ack, err := stompclient.ParseAckMode(*ackFlag)
	if err != nil {
		return err
	}
	if *count < 0 || *timeout < 0 || *prefetch < 0 {
		return errors.New("--count, --timeout and --prefetch must not be negative")
	}
	addr, dest, err := conn.resolve()
	if err != nil {
		return err
	}
	c, err := stompclient.Dial(ctx, addr, stompclient.Options{Login: conn.login, Passcode: conn.passcode})
	if err != nil {
		return err
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, dest, stompclient.SubscribeOptions{Ack: ack, Prefetch: *prefetch, Selector: *selector})
	if err != nil {
		return err
	}

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	n, err := consumeLoop(ctx, c, sub, out, *count, *timeout, *quiet, ack != stompclient.AckAuto)
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write: %w", ferr)
	}
	fmt.Fprintf(stderr, "received %d messages from %s\n", n, dest)
	if err != nil {
		return err
	}
	if derr := c.Disconnect(ctx); derr != nil && ctx.Err() == nil {
		return derr
	}
	return nil
}

// consumeLoop receives until count, idle timeout, connection end or ctx
// end, and returns how many messages it handled.
func consumeLoop(ctx context.Context, c *stompclient.Conn, sub *stompclient.Subscription, out *bufio.Writer,
	count int, timeout time.Duration, quiet, ack bool) (int, error) {
	var idle <-chan time.Time
	var timer *time.Timer
	if timeout > 0 {
		timer = time.NewTimer(timeout)
		defer timer.Stop()
		idle = timer.C
	}
	n := 0
	for count == 0 || n < count {
		// Flush what we printed before blocking, so output is live.
		if len(sub.C) == 0 && out.Buffered() > 0 {
			if err := out.Flush(); err != nil {
				return n, fmt.Errorf("write: %w", err)
			}
		}
		select {
		case m, ok := <-sub.C:
			if !ok {
				return n, fmt.Errorf("connection ended: %w", c.Err())
			}
			n++
			if !quiet {
				out.Write(m.Body)
				out.WriteByte('\n')
			}
			if ack {
				// Acknowledge only what has reached the output.
				if err := out.Flush(); err != nil {
					return n, fmt.Errorf("write: %w", err)
				}
				if err := c.Ack(ctx, m); err != nil {
					return n, err
				}
			}
			if timer != nil {
				timer.Reset(timeout)
			}
		case <-idle:
			return n, nil
		case <-ctx.Done():
			return n, nil
		}
	}
	return n, nil
}
