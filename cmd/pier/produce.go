package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/bench"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/stompclient"
)

const defaultURL = "tcp://127.0.0.1:61616"

// connFlags are the connection flags shared by produce, consume, browse and
// bench.
type connFlags struct {
	url, destination, login, passcode, clientID string
}

func (c *connFlags) register(fs *flag.FlagSet, defaultDest string) {
	fs.StringVar(&c.url, "url", defaultURL,
		"broker URL: tcp://host:port[?...] or failover:(tcp://a:port,tcp://b:port)[?...] (OpenWire), or stomp://host:port (STOMP)")
	fs.StringVar(&c.destination, "destination", defaultDest, "queue://NAME or topic://NAME (or /queue/NAME, /topic/NAME)")
	fs.StringVar(&c.login, "login", "", "user name (optional; OpenWire: overrides jms.userName)")
	fs.StringVar(&c.passcode, "passcode", "", "password (optional; OpenWire: overrides jms.password)")
	fs.StringVar(&c.clientID, "client-id", "", "JMS client id (needed for --durable; OpenWire: overrides jms.clientID)")
}

// endpoint is a resolved --url and --destination: either a STOMP address
// or an OpenWire URL.
type endpoint struct {
	stompAddr string      // host:port for stomp://
	url       *client.URL // otherwise
	dest      bench.Destination
}

func (e *endpoint) stomp() bool { return e.url == nil }

// resolve parses --url and --destination. A URL error is the parser's.
func (c *connFlags) resolve() (*endpoint, error) {
	var e endpoint
	var err error
	if e.dest, err = bench.ParseDestination(c.destination); err != nil {
		return nil, err
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(c.url)), "stomp://") {
		if e.stompAddr, err = stompclient.ParseAddr(strings.TrimSpace(c.url)); err != nil {
			return nil, err
		}
		return &e, nil
	}
	if e.url, err = client.ParseURL(c.url); err != nil {
		return nil, err
	}
	return &e, nil
}

// clientDest returns the destination for package client.
func (e *endpoint) clientDest() *client.Destination {
	if e.dest.Topic {
		return client.Topic(e.dest.Name)
	}
	return client.Queue(e.dest.Name)
}

// stompDest returns the destination for STOMP: /queue/NAME or /topic/NAME.
func (e *endpoint) stompDest() string {
	if e.dest.Topic {
		return "/topic/" + e.dest.Name
	}
	return "/queue/" + e.dest.Name
}

// dialSTOMP connects to a STOMP endpoint.
func (c *connFlags) dialSTOMP(ctx context.Context, e *endpoint) (*stompclient.Conn, error) {
	conn, err := stompclient.Dial(ctx, e.stompAddr, stompclient.Options{Login: c.login, Passcode: c.passcode, ClientID: c.clientID})
	if err != nil {
		return nil, fmt.Errorf("connect to stomp://%s: %w", e.stompAddr, err)
	}
	return conn, nil
}

// clientOptions turns the URL's jms.* options and the flags into client
// options.
func (c *connFlags) clientOptions(u *client.URL) client.Options {
	var o client.Options
	jms := func(name string) (string, bool) { v, ok := u.JMS[name]; return v, ok }
	ms := func(name string, d *time.Duration) {
		if v, ok := jms(name); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			*d = time.Duration(n) * time.Millisecond
		}
	}
	num := func(name string, p *int) {
		if v, ok := jms(name); ok {
			*p, _ = strconv.Atoi(v)
		}
	}
	o.ClientID, _ = jms("clientID")
	o.Username, _ = jms("userName")
	o.Password, _ = jms("password")
	o.AlwaysSyncSend = u.JMS["alwaysSyncSend"] == "true"
	o.NoTopicAdvisories = u.JMS["watchTopicAdvisories"] == "false"
	ms("sendTimeout", &o.SendTimeout)
	ms("closeTimeout", &o.CloseTimeout)
	ms("redeliveryPolicy.initialRedeliveryDelay", &o.RedeliveryDelay)
	num("redeliveryPolicy.maximumRedeliveries", &o.MaxRedeliveries)
	num("prefetchPolicy.all", &o.Prefetch.Queue)
	o.Prefetch = client.PrefetchPolicy{Queue: o.Prefetch.Queue, Topic: o.Prefetch.Queue,
		DurableTopic: o.Prefetch.Queue, QueueBrowser: o.Prefetch.Queue}
	num("prefetchPolicy.queuePrefetch", &o.Prefetch.Queue)
	num("prefetchPolicy.topicPrefetch", &o.Prefetch.Topic)
	num("prefetchPolicy.durableTopicPrefetch", &o.Prefetch.DurableTopic)
	num("prefetchPolicy.queueBrowserPrefetch", &o.Prefetch.QueueBrowser)
	override := func(field *string, flagValue string) {
		if flagValue != "" {
			*field = flagValue
		}
	}
	override(&o.ClientID, c.clientID)
	override(&o.Username, c.login)
	override(&o.Password, c.passcode)
	return o
}

// withTransport applies one broker's transport options.
func withTransport(o client.Options, b client.BrokerURL) client.Options {
	t := b.Transport()
	o.ConnectTimeout = t.ConnectionTimeout
	o.MaxInactivity = t.MaxInactivityDuration
	if o.MaxInactivity == 0 || !t.UseInactivityMonitor {
		o.MaxInactivity = -1 // disabled on our side
	}
	o.InactivityInitialDelay = t.MaxInactivityDurationInitialDelay
	o.WriteTimeout = t.SoWriteTimeout
	return o
}

// dialOpenWire connects to the broker of a tcp:// URL, or through the
// client's failover transport for a failover: URL (start-up attempts,
// reconnection with ActiveMQ's back-off, state replay); losing and regaining
// the broker is reported on stderr.
func (c *connFlags) dialOpenWire(ctx context.Context, e *endpoint, stderr io.Writer) (*client.Conn, error) {
	u := e.url
	opts := c.clientOptions(u)
	if !u.Failover {
		b := u.Brokers[0]
		conn, err := client.Dial(ctx, b.Host, withTransport(opts, u.Effective(b)))
		if err != nil {
			return nil, fmt.Errorf("connect to %s://%s: %w", b.Scheme, b.Host, err)
		}
		return conn, nil
	}
	opts.OnInterrupted = func(err error) { fmt.Fprintf(stderr, "pier: connection lost (%v); reconnecting\n", err) }
	opts.OnResumed = func(broker string) { fmt.Fprintf(stderr, "pier: reconnected to %s\n", broker) }
	conn, err := client.Dial(ctx, u.String(), opts)
	if err != nil {
		return nil, fmt.Errorf("no broker of %s answered: %w", u, err)
	}
	return conn, nil
}

// newCommandFlags returns a FlagSet whose --help prints usage and summary.
func newCommandFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pier %s [flags]\n\n%s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseCommandFlags parses args. It reports done after --help (err nil) or
// a mistake, which the flag package has already printed along with the
// usage (err errUsage, see main.go).
func parseCommandFlags(fs *flag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return true, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "pier %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return true, errUsage
	}
	return false, nil
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pace sleeps until message i of a schedule at rate msgs/s from start is due.
func pace(ctx context.Context, start time.Time, i int, rate float64) error {
	if rate <= 0 {
		return nil
	}
	due := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
	if wait := time.Until(due); wait > 0 {
		return sleep(ctx, wait)
	}
	return nil
}

const produceUsage = `Sends messages to a destination: over OpenWire (tcp:// and failover: URLs,
the default) or STOMP 1.2 (stomp:// URLs). Persistent messages (the
default) are sent one at a time, each waiting for the broker. The body is
--body, or --size generated bytes, or "message N".`

// produceOptions are produce's flags after parsing.
type produceOptions struct {
	count, size int
	persistent  bool
	rate        float64
	body        string
}

// bodyOf returns message i's body (from 0) and whether it is text.
func (o *produceOptions) bodyOf(i int, generated []byte) ([]byte, bool) {
	switch {
	case o.body != "":
		return []byte(o.body), true
	case generated != nil:
		return generated, false
	}
	return []byte("message " + strconv.Itoa(i+1)), true
}

// runProduce implements `pier produce`.
func runProduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("produce", produceUsage, stderr)
	var conn connFlags
	conn.register(fs, "queue://pier.test")
	var o produceOptions
	fs.IntVar(&o.count, "count", 1, "number of messages to send")
	fs.IntVar(&o.size, "size", 0, "generated body size in bytes (ignored with --body)")
	fs.BoolVar(&o.persistent, "persistent", true, "send persistent messages, each waiting for the broker")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second (0 = as fast as possible)")
	fs.StringVar(&o.body, "body", "", "literal message body")
	if done, err := parseCommandFlags(fs, args); done {
		return err
	}
	if o.count < 0 || o.size < 0 || o.rate < 0 {
		return errors.New("--count, --size and --rate must not be negative")
	}
	e, err := conn.resolve()
	if err != nil {
		return err
	}
	var generated []byte
	if o.body == "" && o.size > 0 {
		generated = make([]byte, o.size)
		for i := range generated {
			generated[i] = 'a' + byte(i%26)
		}
	}
	start := time.Now()
	var sent int
	if e.stomp() {
		sent, err = produceSTOMP(ctx, &conn, e, &o, generated)
	} else {
		sent, err = produceOpenWire(ctx, &conn, e, &o, generated, stderr)
	}
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "sent %d messages to %s in %s (%.0f msg/s)\n",
		sent, e.dest, elapsed.Round(time.Millisecond), float64(sent)/max(elapsed.Seconds(), 1e-9))
	return ctx.Err()
}

func produceOpenWire(ctx context.Context, conn *connFlags, e *endpoint, o *produceOptions, generated []byte, stderr io.Writer) (int, error) {
	c, err := conn.dialOpenWire(ctx, e, stderr)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		return 0, err
	}
	p, err := s.Producer(ctx, e.clientDest())
	if err != nil {
		return 0, err
	}
	start := time.Now()
	sent := 0
	for ; sent < o.count; sent++ {
		if err := pace(ctx, start, sent, o.rate); err != nil {
			break
		}
		b, text := o.bodyOf(sent, generated)
		m := client.NewBytesMessage(b)
		if text {
			m = client.NewTextMessage(string(b))
		}
		m.Persistent = o.persistent
		if err := p.Send(ctx, m); err != nil {
			return sent, fmt.Errorf("after %d messages: %w", sent, err)
		}
	}
	// Close waits for the broker's answer, which follows every send.
	if err := c.Close(ctx); err != nil && ctx.Err() == nil {
		return sent, err
	}
	return sent, nil
}

func produceSTOMP(ctx context.Context, conn *connFlags, e *endpoint, o *produceOptions, generated []byte) (int, error) {
	c, err := conn.dialSTOMP(ctx, e)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var headers []stomp.Header
	if o.persistent {
		headers = append(headers, stompclient.Persistent())
	}
	dest := e.stompDest()
	start := time.Now()
	sent := 0
	for ; sent < o.count; sent++ {
		if err := pace(ctx, start, sent, o.rate); err != nil {
			break
		}
		b, _ := o.bodyOf(sent, generated)
		if err := c.Send(ctx, dest, b, headers...); err != nil {
			return sent, fmt.Errorf("after %d messages: %w", sent, err)
		}
	}
	if err := c.Disconnect(ctx); err != nil && ctx.Err() == nil {
		return sent, err
	}
	return sent, nil
}
