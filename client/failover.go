package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// errReconnectRequested is why a broker's ConnectionControl moved us.
var errReconnectRequested = errors.New("client: the broker asked the client to reconnect")

// failover is the reconnecting layer of a failover: URL (ActiveMQ's
// FailoverTransport): it owns one goroutine, which connects with back-off,
// and after a lost socket interrupts the consumers, reconnects and has the
// Conn restore its state on the new socket.
type failover struct {
	c      *Conn
	url    *URL
	rng    *rand.Rand // goroutine (or Dial) only
	sleep  func(ctx context.Context, d time.Duration) error
	kick   chan struct{} // capacity 1: an event is waiting
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine returned

	installed *transport // the socket restored last (goroutine only)
	// tlsOnly: every broker of the URL is dialled over TLS, so brokers the
	// broker names (connectedBrokers, reconnectTo) must be too; a plain
	// tcp:// one would carry the credentials and messages in clear.
	tlsOnly bool

	mu struct {
		sync.Mutex
		static  []BrokerURL // the URL's brokers, plus reconnectTo ones
		updated []BrokerURL // pushed by the broker (connectedBrokers)
		target  *BrokerURL  // reconnectTo: try first on the next pass
		down    *transport  // a socket that failed
		why     error
		force   bool   // reconnect although the socket is fine
		current string // host:port of the socket
	}
}

func newFailover(c *Conn, u *URL) *failover {
	f := &failover{c: c, url: u, kick: make(chan struct{}, 1), done: make(chan struct{}),
		rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), sleep: c.opts.sleep}
	if f.sleep == nil {
		f.sleep = sleepCtx
	}
	f.tlsOnly = true
	for _, b := range u.Brokers {
		f.mu.static = append(f.mu.static, u.Effective(b))
		f.tlsOnly = f.tlsOnly && b.TLS()
	}
	return f
}

// pushed parses a broker list the broker sent (what names it in the log),
// keeping the entries this connection may dial.
func (f *failover) pushed(what, s string) []BrokerURL {
	list, err := ParseBrokerList(s)
	if err != nil {
		f.c.log.Warn("ignoring bad entries of a broker list from the broker", "list", what, "err", err)
	}
	if !f.tlsOnly {
		return list
	}
	return slices.DeleteFunc(list, func(b BrokerURL) bool {
		if !b.TLS() {
			f.c.log.Warn("ignoring a broker without TLS named by the broker: this connection uses TLS only",
				"list", what, "broker", b.String())
		}
		return !b.TLS()
	})
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dialFailover connects to the first reachable broker of u (within
// startupMaxReconnectAttempts passes), opens the JMS connection and starts
// the failover goroutine.
func dialFailover(ctx context.Context, u *URL, opts Options) (*Conn, error) {
	if u.Options.PriorityBackup {
		opts.Logger.Warn("failover option priorityBackup is not supported by Pier's client yet and is ignored")
	}
	c := newConn(opts)
	f := newFailover(c, u)
	c.fo = f
	b := newBackoff(u.Options)
	t, err := f.connect(ctx, b, "")
	if err != nil {
		return nil, fmt.Errorf("client: dial: %w", err)
	}
	f.installed = t
	c.attach(t)
	gctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() {
		defer close(f.done)
		f.run(gctx, b)
	}()
	if err := c.handshake(ctx); err != nil {
		c.shutdown(err)
		return nil, err
	}
	return c, nil
}

// stop ends the goroutine, waits for it and closes the last socket it
// installed (which a failure may have detached already). It must not be
// called from the goroutine (OnInterrupted, OnResumed).
func (f *failover) stop() {
	if f.cancel == nil {
		return
	}
	f.cancel()
	<-f.done
	if f.installed != nil {
		f.installed.close()
	}
}

func (f *failover) wake() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// refusal returns why socket t was lost if its broker refused the
// connection's credentials, else nil.
func (f *failover) refusal(t *transport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.down == t && errors.Is(f.mu.why, errLoginRefused) {
		return f.mu.why
	}
	return nil
}

// lost records that socket t failed (its read loop, or a failed write). A
// socket may be reported twice (a refused login, then its end): the first
// reason stays.
func (f *failover) lost(t *transport, err error) {
	f.c.detach(t)
	f.mu.Lock()
	if f.mu.down != t || f.mu.why == nil {
		f.mu.down, f.mu.why = t, err
	}
	f.mu.Unlock()
	f.wake()
}

func (f *failover) timeoutC() <-chan time.Time {
	if f == nil || f.url.Options.Timeout <= 0 {
		return nil
	}
	return time.After(f.url.Options.Timeout)
}

func (f *failover) timeoutErr() error {
	return fmt.Errorf("%w: no broker connected within %v: %w", ErrFailoverTimeout, f.url.Options.Timeout, ErrConnectionLost)
}

// run handles lost sockets and reconnect requests until ctx ends or the
// connection gives up.
func (f *failover) run(ctx context.Context, b *backoff) {
	c := f.c
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.kick:
		}
		f.mu.Lock()
		down, why, force := f.mu.down, f.mu.why, f.mu.force
		f.mu.down, f.mu.why, f.mu.force = nil, nil, false
		f.mu.Unlock()
		c.mu.Lock()
		closed := c.mu.closed || c.mu.err != nil
		c.mu.Unlock()
		if closed {
			continue // Close is under way: nothing to restore
		}
		switch {
		case down != nil && down == f.installed:
			c.detach(down)
		case force && c.detach(f.installed):
			down, why = f.installed, errReconnectRequested
		default:
			continue // an old socket, already replaced
		}
		if !f.outage(ctx, b, down, why) {
			return
		}
	}
}

// outage closes the lost socket, interrupts the consumers, reconnects and
// restores. It returns false when the connection gave up or is closing.
func (f *failover) outage(ctx context.Context, b *backoff, down *transport, why error) bool {
	c := f.c
	c.log.Warn("connection interrupted, reconnecting", "peer", down.addr, "err", why)
	down.close()
	c.interrupt()
	if errors.Is(why, errLoginRefused) { // the Conn ends: Done, not OnInterrupted
		c.fail(fmt.Errorf("%w: %w", ErrConnectionLost, why))
		return false
	}
	if h := c.opts.OnInterrupted; h != nil {
		h(why)
	}
	failed := down.addr
	if errors.Is(why, errReconnectRequested) {
		failed = ""
	}
	for {
		if !b.canReconnect() {
			c.fail(fmt.Errorf("%w: maxReconnectAttempts is 0: %w", ErrConnectionLost, why))
			return false
		}
		t, err := f.connect(ctx, b, failed)
		if err != nil {
			if ctx.Err() == nil {
				c.fail(err)
			}
			return false
		}
		inDoubt, err := c.restore(t)
		if err != nil {
			t.close() // its read loop has returned: a refusal it read is known
			if why := f.refusal(t); why != nil {
				c.fail(fmt.Errorf("%w: %w", ErrConnectionLost, why))
				return false
			}
			if c.Err() != nil || ctx.Err() != nil {
				return false
			}
			failed = t.addr
			continue
		}
		f.installed = t
		failInDoubt(inDoubt)
		c.log.Info("connection resumed", "peer", t.addr)
		if h := c.opts.OnResumed; h != nil {
			h(t.addr)
		}
		return true
	}
}

// connect dials the brokers pass after pass with b's back-off until one
// accepts, and starts its socket. After a lost connection the first pass
// waits initialReconnectDelay. failed (host:port, or "") is tried last.
func (f *failover) connect(ctx context.Context, b *backoff, failed string) (*transport, error) {
	var lastErr error
	wait := b.firstWait()
	for {
		if wait > 0 {
			if err := f.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		for _, br := range f.connectList(failed) {
			t, err := dialBroker(ctx, br, &f.c.opts)
			if err == nil {
				b.succeeded()
				f.mu.Lock()
				f.mu.current = br.Host
				f.mu.Unlock()
				if f.installed != nil { // the first socket is started by attach
					t.start(&socketSink{c: f.c, t: t})
				}
				return t, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
		}
		var ok bool
		wait, ok = b.failed()
		if b.warn() {
			f.c.log.Warn("failed to connect to any broker", "attempts", b.failures, "url", f.url.String(), "err", lastErr)
		}
		if !ok {
			return nil, fmt.Errorf("%w: no broker reachable after %d attempt(s): %w", ErrConnectionLost, b.failures, lastErr)
		}
	}
}

// connectList is the brokers of the next pass (connectOrder), with a
// broker named by reconnectTo first.
func (f *failover) connectList(failed string) []BrokerURL {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := connectOrder(f.mu.static, f.mu.updated, failed, f.url.Options.Randomize, f.rng)
	if tg := f.mu.target; tg != nil {
		f.mu.target = nil
		list = slices.DeleteFunc(list, func(b BrokerURL) bool { return b.Host == tg.Host })
		list = append([]BrokerURL{*tg}, list...)
	}
	for i := range list {
		list[i] = f.url.Effective(list[i])
	}
	return list
}

// control applies a broker's ConnectionControl (read loop), as
// FailoverTransport.handleConnectionControl: reconnectTo adds that broker
// and moves the connection there (reconnectSupported); connectedBrokers
// replaces the broker-pushed list (updateURIsSupported), and with
// rebalanceConnection moves the connection unless it is on the first of
// them already.
func (f *failover) control(cc *wire.ConnectionControl) {
	o := f.url.Options
	f.mu.Lock()
	defer f.mu.Unlock()
	move := false
	if s := strings.TrimSpace(cc.ReconnectTo); s != "" && o.ReconnectSupported {
		if list := f.pushed("reconnectTo", s); len(list) > 0 {
			tg := f.url.Effective(list[0])
			if !slices.ContainsFunc(f.mu.static, func(b BrokerURL) bool { return b.Host == tg.Host }) {
				f.mu.static = append(f.mu.static, tg)
			}
			if tg.Host != f.mu.current {
				f.mu.target, move = &tg, true
			}
		}
	}
	if s := strings.TrimSpace(cc.ConnectedBrokers); s != "" && o.UpdateURIsSupported {
		if list := f.pushed("connectedBrokers", s); len(list) > 0 && !sameHosts(list, f.mu.updated) {
			f.mu.updated = list
			f.c.log.Info("broker list updated by the broker", "brokers", s)
			if cc.RebalanceConnection && o.ReconnectSupported && list[0].Host != f.mu.current {
				move = true
			}
		}
	}
	if move {
		f.mu.force = true
		f.wake()
	}
}

// sameHosts compares two broker lists as sets of scheme://host:port.
func sameHosts(a, b []BrokerURL) bool {
	hosts := func(l []BrokerURL) []string {
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = x.Scheme + "://" + x.Host
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(hosts(a), hosts(b))
}
