package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/bench"
	"github.com/piermq/pier/internal/stompclient"
)

// The connection flags and the helpers that produce, consume, browse and
// bench share.

const defaultURL = "tcp://127.0.0.1:61616"

// connFlags are the connection flags shared by produce, consume, browse and
// bench.
type connFlags struct {
	url, destination, login, passcode, clientID string
	tls                                         tlsFlags
	async                                       *asyncErrors // what the broker refused without being asked
}

func (c *connFlags) register(fs *flag.FlagSet, defaultDest string) {
	fs.StringVar(&c.url, "url", defaultURL,
		"broker URL: tcp://host:port[?...], ssl://host:port[?...] (TLS) or failover:(tcp://a:port,ssl://b:port)[?...] (OpenWire), "+
			"or stomp://host:port, stomp+ssl://host:port (STOMP)")
	fs.StringVar(&c.destination, "destination", defaultDest, "queue://NAME or topic://NAME (or /queue/NAME, /topic/NAME)")
	fs.StringVar(&c.login, "login", "", "user name (optional; overrides jms.userName in the URL)")
	fs.StringVar(&c.passcode, "passcode", "", "password (optional; overrides jms.password in the URL)")
	fs.StringVar(&c.clientID, "client-id", "", "JMS client id (needed for --durable; overrides jms.clientID in the URL)")
	c.tls.register(fs, "ssl:// and stomp+ssl:// URLs")
	c.async = &asyncErrors{}
}

// tlsFlags are the TLS flags of the commands that dial a broker or its
// console.
type tlsFlags struct {
	caFile, certFile, keyFile string
	insecure                  bool
}

func (f *tlsFlags) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of the CAs to trust for "+what+" (default: the system's)")
	fs.StringVar(&f.certFile, "cert-file", "", "PEM client certificate to present over TLS (with --key-file)")
	fs.StringVar(&f.keyFile, "key-file", "", "PEM private key of --cert-file")
	fs.BoolVar(&f.insecure, "insecure-skip-verify", false,
		"do not verify the server's certificate: for tests only, anyone on the path can then read and change the traffic")
}

// set reports whether any TLS flag was given.
func (f *tlsFlags) set() bool {
	return f.caFile != "" || f.certFile != "" || f.keyFile != "" || f.insecure
}

// config returns the TLS configuration the flags describe, nil when none
// was given (the system's roots, no client certificate).
func (f *tlsFlags) config() (*tls.Config, error) {
	if !f.set() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.insecure}
	if f.caFile != "" {
		pool, err := loadCAs(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		cfg.RootCAs = pool
	}
	switch {
	case (f.certFile == "") != (f.keyFile == ""):
		return nil, errors.New("--cert-file and --key-file go together")
	case f.certFile != "":
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert-file, --key-file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// asyncErrors keeps what a broker refused of the commands sent without
// waiting (a non-persistent send, say), reported by the client's
// OnAsyncError, so that the command fails instead of claiming success.
type asyncErrors struct {
	mu    sync.Mutex
	first error
	n     int
}

func (a *asyncErrors) add(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.first == nil {
		a.first = err
	}
	a.n++
}

// err returns nil, or an error that counts the refusals and wraps the
// first.
func (a *asyncErrors) err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.n {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("the broker refused a command sent without waiting: %w", a.first)
	}
	return fmt.Errorf("the broker refused %d commands sent without waiting; the first: %w", a.n, a.first)
}

// endpoint is a resolved --url and --destination: either a STOMP address
// or an OpenWire URL.
type endpoint struct {
	stompAddr string      // for stomp:// (host:port) and stomp+ssl:// (the URL)
	stompCred stompCred   // for STOMP: the URL's jms.* options, then the flags
	url       *client.URL // otherwise
	dest      bench.Destination
	tls       *tls.Config // from the TLS flags; nil: the defaults
}

func (e *endpoint) stomp() bool { return e.url == nil }

// secure reports whether e dials over TLS (any broker of a failover URL).
func (e *endpoint) secure() bool {
	if e.stomp() {
		return strings.HasPrefix(e.stompAddr, "stomp+ssl://")
	}
	return slices.ContainsFunc(e.url.Brokers, client.BrokerURL.TLS)
}

// resolve parses --url, --destination and the TLS flags. A URL error is
// the parser's. TLS flags with a URL that has no TLS are an error: the
// user thinks the connection is protected.
func (c *connFlags) resolve() (*endpoint, error) {
	e, err := c.resolveURL()
	if err != nil {
		return nil, err
	}
	if c.tls.set() && !e.secure() {
		return nil, fmt.Errorf("--ca-file, --cert-file, --key-file and --insecure-skip-verify apply to ssl:// and stomp+ssl:// URLs, and %s has none", c.url)
	}
	return e, nil
}

// resolveURL is resolve without the check of the TLS flags.
func (c *connFlags) resolveURL() (*endpoint, error) {
	var e endpoint
	var err error
	if e.dest, err = bench.ParseDestination(c.destination); err != nil {
		return nil, err
	}
	if e.tls, err = c.tls.config(); err != nil {
		return nil, err
	}
	if lower := strings.ToLower(strings.TrimSpace(c.url)); strings.HasPrefix(lower, "stomp://") || strings.HasPrefix(lower, "stomp+ssl://") {
		addr, query, _ := strings.Cut(strings.TrimSpace(c.url), "?")
		if e.stompAddr, err = stompclient.ParseAddr(addr); err != nil {
			return nil, err
		}
		if e.stompCred, err = c.stompCred(query); err != nil {
			return nil, err
		}
		return &e, nil
	}
	if e.url, err = client.ParseURL(c.url); err != nil {
		return nil, err
	}
	return &e, nil
}

// stompCred is what a STOMP connection logs in with.
type stompCred struct{ login, passcode, clientID string }

// stompCred reads the query of a STOMP URL, where jms.userName,
// jms.password and jms.clientID may stand, as in an OpenWire URL (other
// options are an error), and applies the flags over them.
func (c *connFlags) stompCred(query string) (stompCred, error) {
	var cr stompCred
	q, err := url.ParseQuery(query)
	if err != nil {
		return cr, fmt.Errorf("STOMP URL %s: %w", c.url, err)
	}
	for k, v := range q {
		var into *string
		switch k {
		case "jms.userName":
			into = &cr.login
		case "jms.password":
			into = &cr.passcode
		case "jms.clientID":
			into = &cr.clientID
		default:
			return cr, fmt.Errorf("STOMP URL %s: unknown option %q (a STOMP URL takes jms.userName, jms.password and jms.clientID)", c.url, k)
		}
		if len(v) != 1 {
			return cr, fmt.Errorf("STOMP URL %s: option %q given twice", c.url, k)
		}
		*into = v[0]
	}
	for _, f := range []struct{ flag, into *string }{{&c.login, &cr.login}, {&c.passcode, &cr.passcode}, {&c.clientID, &cr.clientID}} {
		if *f.flag != "" {
			*f.into = *f.flag
		}
	}
	return cr, nil
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

// stompURL names a STOMP endpoint in messages.
func (e *endpoint) stompURL() string {
	if e.secure() {
		return e.stompAddr
	}
	return "stomp://" + e.stompAddr
}

// dialSTOMP connects to a STOMP endpoint.
func (c *connFlags) dialSTOMP(ctx context.Context, e *endpoint) (*stompclient.Conn, error) {
	conn, err := stompclient.Dial(ctx, e.stompAddr, stompclient.Options{Login: e.stompCred.login,
		Passcode: e.stompCred.passcode, ClientID: e.stompCred.clientID, TLS: e.tls})
	var se *stompclient.ServerError
	switch {
	case errors.As(err, &se): // an ERROR frame instead of CONNECTED
		return nil, fmt.Errorf("connect to %s: the broker refused the connection: %w", e.stompURL(), se)
	case err != nil:
		return nil, fmt.Errorf("connect to %s: %w", e.stompURL(), err)
	}
	return conn, nil
}

// clientOptions turns the URL's jms.* options and the flags into client
// options.
func (c *connFlags) clientOptions(e *endpoint) client.Options {
	u := e.url
	o := client.Options{TLS: e.tls}
	if c.async != nil {
		o.OnAsyncError = c.async.add
	}
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

// dialOpenWire connects to the broker of a tcp:// or ssl:// URL, or
// through the client's failover transport for a failover: URL (start-up
// attempts, reconnection with ActiveMQ's back-off, state replay); losing
// and regaining the broker is reported on stderr.
func (c *connFlags) dialOpenWire(ctx context.Context, e *endpoint, stderr io.Writer) (*client.Conn, error) {
	u := e.url
	opts := c.clientOptions(e)
	if !u.Failover {
		b := u.Brokers[0]
		conn, err := client.Dial(ctx, b.String(), withTransport(opts, u.Effective(b)))
		if err != nil {
			return nil, connectError(b.Scheme+"://"+b.Host, err)
		}
		return conn, nil
	}
	opts.OnInterrupted = func(err error) { fmt.Fprintf(stderr, "pier: connection lost (%s); reconnecting\n", plainError(err)) }
	opts.OnResumed = func(broker string) { fmt.Fprintf(stderr, "pier: reconnected to %s\n", broker) }
	waiting := sayAfter(2*time.Second, stderr, "waiting for a broker of %s to answer (the failover URL's startupMaxReconnectAttempts bounds the wait)", u)
	conn, err := client.Dial(ctx, u.String(), opts)
	waiting.stop()
	if err != nil {
		if errors.Is(err, client.ErrSecurity) {
			return nil, connectError(u.String(), err)
		}
		return nil, fmt.Errorf("no broker of %s answered: %w", u, err)
	}
	return conn, nil
}

// connectError says why connecting to where failed; a refused login in
// the broker's own words.
func connectError(where string, err error) error {
	var be *client.BrokerError
	if errors.Is(err, client.ErrSecurity) && errors.As(err, &be) {
		return &loginRefused{where: where, be: be}
	}
	return fmt.Errorf("connect to %s: %w", where, err)
}

// loginRefused is a login the broker refused; it matches
// client.ErrSecurity.
type loginRefused struct {
	where string
	be    *client.BrokerError
}

func (e *loginRefused) Error() string {
	return fmt.Sprintf("connect to %s: the broker refused the login: %s (%s)", e.where, e.be.Message, e.be.Class)
}

func (e *loginRefused) Unwrap() error { return e.be }

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
