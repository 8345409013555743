package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/stompclient"
)

const consumeUsage = `Receives messages from a destination, over OpenWire (tcp://, ssl:// and
failover: URLs, the default) or STOMP 1.2 (stomp:// and stomp+ssl:// URLs),
and prints each body on its own line (or only counts them with --quiet).
Stops after --count messages, after --timeout without a message, or on
interrupt; with --count, getting fewer messages is an error (exit status 1).
With a client ack mode every message is acknowledged after it is
printed. --durable NAME makes a durable topic subscription; it needs
--client-id. --selector picks messages by their headers and properties
(see pier produce --help for setting them).` + connUsage

// consumeOptions are consume's flags after parsing.
type consumeOptions struct {
	count, prefetch int
	ack             string
	timeout         time.Duration
	quiet           bool
	selector        string
	durable         string
	stderr          io.Writer
	waiting         *notice // said when the first message is slow to come
}

// runConsume implements `pier consume`.
func runConsume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("consume", consumeUsage, stderr)
	var conn connFlags
	conn.register(fs, "queue://pier.test")
	var o consumeOptions
	fs.IntVar(&o.count, "count", 0, "stop after this many messages (0 = no limit)")
	fs.StringVar(&o.ack, "ack", "auto", "ack mode: auto, client, client-individual (or individual), dups-ok (OpenWire only)")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop when no message arrived for this long (0 = wait forever)")
	fs.BoolVar(&o.quiet, "quiet", false, "do not print bodies, only the count")
	fs.IntVar(&o.prefetch, "prefetch", 0, "prefetch size (0 = the default)")
	fs.StringVar(&o.selector, "selector", "", "JMS message selector")
	fs.StringVar(&o.durable, "durable", "", "durable subscription NAME on a topic (needs --client-id)")
	if done, err := parseCommandFlags(fs, args); done {
		return err
	}
	if o.count < 0 || o.timeout < 0 || o.prefetch < 0 {
		return errors.New("--count, --timeout and --prefetch must not be negative")
	}
	e, err := conn.resolve()
	if err != nil {
		return err
	}
	if o.durable != "" && !e.dest.Topic {
		return fmt.Errorf("--durable needs a topic, not %s", e.dest)
	}
	if o.durable != "" && (e.stomp() && e.stompCred.clientID == "" || !e.stomp() && conn.clientID == "" && e.url.JMS["clientID"] == "") {
		return errors.New("--durable needs --client-id (or jms.clientID in the URL)")
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	o.stderr = stderr
	defer o.got()
	var n int
	if e.stomp() {
		n, err = consumeSTOMP(ctx, &conn, e, &o, out)
	} else {
		n, err = consumeOpenWire(ctx, &conn, e, &o, out, stderr)
	}
	o.got() // the wait is over: nothing more to say of it
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write: %w", ferr)
	}
	fmt.Fprintf(stderr, "received %d messages from %s\n", n, e.dest)
	if err == nil && o.count > 0 && n < o.count {
		why := "interrupted"
		if ctx.Err() == nil {
			why = fmt.Sprintf("no message for --timeout %s", o.timeout)
		}
		err = fmt.Errorf("received %d of --count %d messages (%s)", n, o.count, why)
	}
	return err
}

// subscribed starts waiting for the first message, said on stderr if it
// is slow to come.
func (o *consumeOptions) subscribed(dest string) {
	if o.stderr != nil {
		o.waiting = sayAfter(time.Second, o.stderr, "subscribed; waiting for messages on %s%s", dest, o.waitingFor())
	}
}

// got notes a message received (or the end of the wait).
func (o *consumeOptions) got() {
	if o.waiting != nil {
		o.waiting.stop()
	}
}

// waitingFor says how long consume waits for a message.
func (o *consumeOptions) waitingFor() string {
	if o.timeout > 0 {
		return fmt.Sprintf(" (up to --timeout %s each)", o.timeout)
	}
	return " (until interrupted; --timeout bounds the wait)"
}

// parseAckMode reads --ack for OpenWire.
func parseAckMode(s string) (client.AckMode, error) {
	switch s {
	case "auto":
		return client.AutoAck, nil
	case "client":
		return client.ClientAck, nil
	case "client-individual", "individual":
		return client.IndividualAck, nil
	case "dups-ok":
		return client.DupsOKAck, nil
	}
	return 0, fmt.Errorf("unknown ack mode %q (want auto, client, client-individual or dups-ok)", s)
}

// idleTimer stops a receive loop after timeout without a message; a zero
// timeout never fires.
type idleTimer struct {
	timeout time.Duration
	t       *time.Timer
	C       <-chan time.Time
}

func newIdleTimer(timeout time.Duration) *idleTimer {
	it := &idleTimer{timeout: timeout}
	if timeout > 0 {
		it.t = time.NewTimer(timeout)
		it.C = it.t.C
	}
	return it
}

func (it *idleTimer) reset() {
	if it.t != nil {
		it.t.Reset(it.timeout)
	}
}

func (it *idleTimer) stop() {
	if it.t != nil {
		it.t.Stop()
	}
}

func consumeOpenWire(ctx context.Context, conn *connFlags, e *endpoint, o *consumeOptions, out *bufio.Writer, stderr io.Writer) (int, error) {
	mode, err := parseAckMode(o.ack)
	if err != nil {
		return 0, err
	}
	c, err := conn.dialOpenWire(ctx, e, stderr)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	s, err := c.Session(ctx, mode)
	if err != nil {
		return 0, err
	}
	var opts []client.ConsumerOption
	if o.selector != "" {
		opts = append(opts, client.Selector(o.selector))
	}
	if o.prefetch > 0 {
		opts = append(opts, client.Prefetch(o.prefetch))
	}
	if o.durable != "" {
		opts = append(opts, client.Durable(o.durable))
	}
	k, err := s.Consumer(ctx, e.clientDest(), opts...)
	if err != nil {
		return 0, err
	}
	o.subscribed(e.dest.String())
	// Receive in a goroutine-free loop: each Receive is bounded by the
	// idle timeout, and output is flushed before blocking.
	ack := mode == client.ClientAck || mode == client.IndividualAck
	n := 0
	for o.count == 0 || n < o.count {
		if err := out.Flush(); err != nil {
			return n, fmt.Errorf("write: %w", err)
		}
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if o.timeout > 0 {
			rctx, cancel = context.WithTimeout(ctx, o.timeout)
		}
		m, err := k.Receive(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				break // interrupted or idle
			}
			return n, err
		}
		n++
		o.got()
		if !o.quiet {
			out.Write(messageBody(m))
			out.WriteByte('\n')
		}
		if ack {
			// Acknowledge only what has reached the output.
			if err := out.Flush(); err != nil {
				return n, fmt.Errorf("write: %w", err)
			}
			if err := m.Ack(ctx); err != nil {
				return n, err
			}
		}
	}
	if err := c.Close(ctx); err != nil && ctx.Err() == nil {
		return n, err
	}
	return n, conn.async.err()
}

// messageBody renders a message's body for printing.
func messageBody(m *client.Message) []byte {
	switch m.Kind() {
	case client.TextBody:
		t, _ := m.Text()
		return []byte(t)
	case client.BytesBody:
		return m.Bytes()
	case client.MapBody:
		return fmt.Append(nil, m.Map())
	case client.StreamBody:
		return fmt.Append(nil, m.Stream())
	case client.ObjectBody:
		return fmt.Appendf(nil, "<ObjectMessage, %d bytes>", len(m.Object()))
	}
	return nil
}

func consumeSTOMP(ctx context.Context, conn *connFlags, e *endpoint, o *consumeOptions, out *bufio.Writer) (int, error) {
	ack, err := stompclient.ParseAckMode(o.ack)
	if err != nil {
		return 0, err
	}
	c, err := conn.dialSTOMP(ctx, e)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, e.stompDest(), stompclient.SubscribeOptions{
		Ack: ack, Prefetch: o.prefetch, Selector: o.selector, DurableName: o.durable,
	})
	if err != nil {
		return 0, err
	}
	o.subscribed(e.dest.String())
	n, err := consumeLoop(ctx, c, sub, out, o, ack != stompclient.AckAuto)
	if err != nil {
		return n, err
	}
	if derr := c.Disconnect(ctx); derr != nil && ctx.Err() == nil {
		return n, derr
	}
	return n, nil
}

// consumeLoop receives STOMP messages until count, idle timeout, connection
// end or ctx end, and returns how many messages it handled.
func consumeLoop(ctx context.Context, c *stompclient.Conn, sub *stompclient.Subscription, out *bufio.Writer,
	o *consumeOptions, ack bool) (int, error) {
	idle := newIdleTimer(o.timeout)
	defer idle.stop()
	n := 0
	for o.count == 0 || n < o.count {
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
			o.got()
			if !o.quiet {
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
			idle.reset()
		case <-idle.C:
			return n, nil
		case <-ctx.Done():
			return n, nil
		}
	}
	return n, nil
}
