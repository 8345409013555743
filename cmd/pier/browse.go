package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/piermq/pier/client"
)

const browseUsage = `Prints the messages waiting on a queue, oldest first, one body per line,
without consuming them (a JMS QueueBrowser over OpenWire: tcp://, ssl://
and failover: URLs). --selector picks messages, --count caps how many are
printed. The broker may cap how many one browse shows (Pier and ActiveMQ:
400).` + connUsage

// runBrowse implements `pier browse`.
func runBrowse(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("browse", browseUsage, stderr)
	var conn connFlags
	conn.register(fs, "queue://pier.test")
	count := fs.Int("count", 0, "print at most this many messages (0 = all)")
	selector := fs.String("selector", "", "JMS message selector")
	if done, err := parseCommandFlags(fs, args); done {
		return err
	}
	if *count < 0 {
		return errors.New("--count must not be negative")
	}
	e, err := conn.resolve()
	if err != nil {
		return err
	}
	if e.stomp() {
		return errors.New("browse speaks OpenWire: use a tcp://, ssl:// or failover: URL")
	}
	if e.dest.Topic {
		return fmt.Errorf("browse needs a queue, not %s", e.dest)
	}
	c, err := conn.dialOpenWire(ctx, e, stderr)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	s, err := c.Session(ctx, client.AutoAck) // browsing acknowledges nothing
	if err != nil {
		return err
	}
	msgs, err := s.Browse(ctx, e.clientDest(), *selector)
	if err != nil {
		return err
	}
	if *count > 0 && len(msgs) > *count {
		msgs = msgs[:*count]
	}
	out := bufio.NewWriter(stdout)
	for _, m := range msgs {
		out.Write(messageBody(m))
		out.WriteByte('\n')
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	fmt.Fprintf(stderr, "browsed %d messages on %s\n", len(msgs), e.dest)
	if err := c.Close(ctx); err != nil {
		return err
	}
	return conn.async.err()
}
