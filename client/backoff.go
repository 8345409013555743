package client

import (
	"math"
	"math/rand/v2"
	"time"
)

// backoff reproduces the reconnect timing of ActiveMQ 5.17.6's
// FailoverTransport (doReconnect, doDelay, calculateReconnectAttemptLimit).
//
// The unit is a pass: one try of every broker in the connect list. Between
// passes the transport waits the current delay, which starts at
// initialReconnectDelay and, with useExponentialBackOff, is multiplied by
// reconnectDelayExponent after each wait (Java's long*=double, so whole
// milliseconds truncated toward zero) and capped at maxReconnectDelay. The
// first wait is not capped, as in Java.
//
// At startup the first pass is immediate. After a lost connection the first
// pass comes after initialReconnectDelay (Java: "we honor the
// initialReconnectDelay before trying a new connection"), and that wait
// consumes the first step of the sequence, so the next wait is already
// initialReconnectDelay*exponent.
//
// The number of failed passes is limited by startupMaxReconnectAttempts
// until the first connection succeeds (-1 there means "use
// maxReconnectAttempts") and by maxReconnectAttempts afterwards; -1 is no
// limit, and a limit n gives up after max(n, 1) failed passes. A lost
// connection is not retried at all when maxReconnectAttempts is 0.
//
// One deliberate difference: Java resets the delay to initialReconnectDelay
// whenever it happens to equal its compile-time default of 10 ms, so
// initialReconnectDelay=5 with exponent 2 waits 5 ms forever (5 -> 10 ->
// reset). That is a bug; here the sequence grows as documented.
type backoff struct {
	opts      FailoverOptions
	connected bool          // a connection has succeeded (Java: !firstConnection)
	failures  int           // failed passes since the last success (connectFailures)
	delay     time.Duration // the next wait (reconnectDelay)
}

func newBackoff(o FailoverOptions) *backoff {
	return &backoff{opts: o, delay: msFloor(o.InitialReconnectDelay)}
}

// limit is the pass limit in force (-1 none).
func (b *backoff) limit() int {
	if !b.connected && b.opts.StartupMaxReconnectAttempts != -1 {
		return b.opts.StartupMaxReconnectAttempts
	}
	return b.opts.MaxReconnectAttempts
}

// canReconnect reports whether a connection that was lost should be
// re-established at all (Java's canReconnect: the limit is not 0).
func (b *backoff) canReconnect() bool { return b.limit() != 0 }

// firstWait is the wait before the first pass of a connect sequence: none
// at startup, the current delay after a lost connection.
func (b *backoff) firstWait() time.Duration {
	if !b.connected || b.failures != 0 || b.opts.InitialReconnectDelay <= 0 {
		return 0
	}
	return b.take()
}

// failed records a failed pass. It returns the wait before the next pass,
// or ok=false when the attempt limit is reached and the connection must
// fail.
func (b *backoff) failed() (wait time.Duration, ok bool) {
	b.failures++
	if l := b.limit(); l != -1 && b.failures >= l {
		return 0, false
	}
	return b.take(), true
}

// succeeded records a successful connection: the delay and the failure
// count start over, and maxReconnectAttempts governs from now on.
func (b *backoff) succeeded() {
	b.connected = true
	b.failures = 0
	b.delay = msFloor(b.opts.InitialReconnectDelay)
}

// warn reports whether the failed pass just recorded should be logged as a
// warning (Java: the first, then every warnAfterReconnectAttempts-th).
func (b *backoff) warn() bool {
	n := b.opts.WarnAfterReconnectAttempts
	return n > 0 && b.failures > 0 && (b.failures == 1 || b.failures%n == 0)
}

// take returns the current delay and advances it (Java's doDelay).
func (b *backoff) take() time.Duration {
	d := b.delay
	if b.opts.UseExponentialBackOff {
		limit := msFloor(b.opts.MaxReconnectDelay)
		next := float64(d.Milliseconds()) * b.opts.ReconnectDelayExponent
		if next >= float64(limit.Milliseconds()) || next >= math.MaxInt64/float64(time.Millisecond) {
			b.delay = limit
		} else {
			b.delay = time.Duration(int64(next)) * time.Millisecond
		}
	}
	return d
}

// msFloor truncates d to whole milliseconds, the unit ActiveMQ counts in.
func msFloor(d time.Duration) time.Duration { return d.Truncate(time.Millisecond) }

// connectOrder returns the brokers to try in the next pass, as
// FailoverTransport.getConnectList builds it: brokers pushed by the broker
// (updated) first, then the URL's, without repeats of a host:port (Java
// compares URIs; Pier compares addresses); the broker whose connection just
// failed (failed, may be empty) is taken out and put last; the rest is
// shuffled when randomize is set. So the last connected broker is never
// tried first, unless it is the only one. Java shuffles the failed broker
// out before shuffling and appends it after; so does this. Java's shuffle is
// a biased swap loop over Math.random; rng.Shuffle is uniform.
func connectOrder(static, updated []BrokerURL, failed string, randomize bool, rng *rand.Rand) []BrokerURL {
	seen := make(map[string]bool)
	var list []BrokerURL
	var last *BrokerURL
	for _, group := range [][]BrokerURL{updated, static} {
		for i := range group {
			b := group[i]
			if seen[b.Host] {
				continue
			}
			seen[b.Host] = true
			if failed != "" && b.Host == failed {
				last = &b
				continue
			}
			list = append(list, b)
		}
	}
	if randomize && rng != nil {
		rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	}
	if last != nil {
		list = append(list, *last)
	}
	return list
}

// isPriority reports whether b is a priority broker of u for
// priorityBackup: one of PriorityURIs, or, when that is empty, the first
// broker of the URL (FailoverTransport.isPriority). Always false unless
// PriorityBackup is set. While connected to a non-priority broker, Java
// keeps trying the priority brokers in the background, waiting the same
// back-off delay between tries, and switches as soon as one connects.
func (u *URL) isPriority(b BrokerURL) bool {
	if !u.Options.PriorityBackup {
		return false
	}
	if len(u.Options.PriorityURIs) > 0 {
		for _, p := range u.Options.PriorityURIs {
			if p.Host == b.Host {
				return true
			}
		}
		return false
	}
	return len(u.Brokers) > 0 && u.Brokers[0].Host == b.Host
}
