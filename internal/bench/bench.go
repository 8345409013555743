// Package bench generates load against a broker and measures it:
// producers and consumers on their own connections, a message count or a
// duration, an optional total send rate, and the end-to-end latency of
// every message (the send time travels in a header or property and is
// compared with the receive time), recorded in bounded-memory histograms.
// The load generator is protocol-neutral: a Transport opens the
// connections, with one implementation per protocol (STOMP, OpenWire). It
// backs `pier bench` and the comparison with ActiveMQ in
// bench/compare-activemq.sh.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one benchmark run.
type Config struct {
	Transport   Transport // required: STOMP or OpenWire
	Destination Destination
	Producers   int  // default 1
	Consumers   int  // 0 sends only
	Size        int  // body bytes, default 1024
	Persistent  bool // persistent sends wait for the broker
	Count       int  // total messages over all producers
	Duration    time.Duration
	Rate        float64 // total messages per second; 0 = as fast as possible
	Prefetch    int     // consumer prefetch; 0 = the default
	// DrainTimeout bounds how long consumers may go without a message once
	// the producers are done (default 10s).
	DrainTimeout time.Duration
	// Progress, when set, receives a live progress line (\r-rewritten).
	Progress io.Writer
	Logger   *slog.Logger
}

// EnsureDefaults fills zero fields: 1 producer, 1 KiB, 10,000 messages
// unless a duration is given, a 10 s drain timeout.
func (c Config) EnsureDefaults() Config {
	if c.Producers == 0 {
		c.Producers = 1
	}
	if c.Size == 0 {
		c.Size = 1024
	}
	if c.Count == 0 && c.Duration == 0 {
		c.Count = 10000
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	switch {
	case c.Transport == nil:
		return errors.New("bench: no transport")
	case c.Destination.Name == "":
		return errors.New("bench: no destination")
	case c.Producers < 1 || c.Consumers < 0:
		return fmt.Errorf("bench: need at least 1 producer and 0 or more consumers (got %d/%d)", c.Producers, c.Consumers)
	case c.Size < 0 || c.Count < 0 || c.Duration < 0 || c.Rate < 0 || c.Prefetch < 0:
		return errors.New("bench: size, count, duration, rate and prefetch must not be negative")
	case c.Count > 0 && c.Duration > 0:
		return errors.New("bench: give a count or a duration, not both")
	}
	return nil
}

func (c Config) topic() bool { return c.Destination.Topic }

// run is the shared state of one benchmark.
type run struct {
	cfg      Config
	id       string
	body     []byte
	start    time.Time
	sent     atomic.Int64
	received atomic.Int64
	lastRecv atomic.Int64 // Unix ns of the latest counted message
	target   atomic.Int64 // messages the consumers must get; 0 until known
	reached  chan struct{}
	once     sync.Once
}

// Run executes the benchmark and returns its result. It fails if a
// connection cannot be made or a send fails; a consumer shortfall is not an
// error but shows in Result.Received. If ctx ends during the run, Run
// returns the partial result together with ctx.Err().
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, id: runID(), body: makeBody(cfg.Size), reached: make(chan struct{})}

	consumers := make([]*consumer, 0, cfg.Consumers)
	defer func() {
		for _, c := range consumers {
			c.conn.Close()
		}
	}()
	for i := range cfg.Consumers {
		c := &consumer{}
		conn, err := cfg.Transport.Consumer(ctx, fmt.Sprintf("consumer-%d", i), cfg.Destination, cfg.Prefetch,
			func(d Delivery) { r.onMessage(c, d) })
		if err != nil {
			return nil, err
		}
		c.conn = conn
		consumers = append(consumers, c)
	}
	producers := make([]Producer, 0, cfg.Producers)
	defer func() {
		for _, p := range producers {
			p.Close()
		}
	}()
	for i := range cfg.Producers {
		p, err := cfg.Transport.Producer(ctx, fmt.Sprintf("producer-%d", i), cfg.Destination)
		if err != nil {
			return nil, err
		}
		producers = append(producers, p)
	}
	server := producers[0].Server()

	r.start = time.Now()
	stopProgress := r.startProgress()
	sendErr := r.produce(ctx, producers)
	sendDone := time.Now()
	if sendErr == nil {
		sendErr = r.finish(ctx, producers)
	}
	if sendErr == nil && cfg.Consumers > 0 {
		expected := r.sent.Load()
		if cfg.topic() {
			expected *= int64(cfg.Consumers)
		}
		r.setTarget(expected)
		r.drain(ctx, consumers)
	}
	stopProgress()
	if sendErr != nil && ctx.Err() == nil {
		return nil, sendErr
	}
	for _, c := range consumers {
		c.conn.Close() // no more deliveries after it, so c.hist is ours
	}
	// Interrupted: the partial result comes with the context's error.
	return r.result(server, sendDone, consumers), ctx.Err()
}

type consumer struct {
	conn Consumer
	hist Histogram // written only by the consumer's delivering goroutine
}

func (r *run) onMessage(c *consumer, d Delivery) {
	if d.Run != r.id {
		return // left over from another run
	}
	now := time.Now().UnixNano()
	if d.SentNs > 0 {
		c.hist.Record(time.Duration(now - d.SentNs))
	}
	r.lastRecv.Store(now)
	if n := r.received.Add(1); n == r.target.Load() {
		r.once.Do(func() { close(r.reached) })
	}
}

func (r *run) setTarget(n int64) {
	r.target.Store(n)
	if r.received.Load() >= n {
		r.once.Do(func() { close(r.reached) })
	}
}

// produce runs every producer and returns the first send error.
func (r *run) produce(ctx context.Context, producers []Producer) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i, p := range producers {
		quota := -1
		if r.cfg.Count > 0 {
			quota = r.cfg.Count / len(producers)
			if i < r.cfg.Count%len(producers) {
				quota++
			}
		}
		wg.Go(func() {
			if err := r.producer(ctx, p, quota); err != nil {
				cancel(fmt.Errorf("bench: producer-%d: %w", i, err))
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// producer sends quota messages (-1: until the duration ends). With a rate,
// message i is due at start+i/rate and is stamped with that due time, so
// stalls show as latency instead of hiding (coordinated omission).
func (r *run) producer(ctx context.Context, p Producer, quota int) error {
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(r.cfg.Producers) / r.cfg.Rate)
	}
	end := r.start.Add(r.cfg.Duration)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; quota < 0 || i < quota; i++ {
		stamp := time.Now()
		if interval > 0 {
			due := r.start.Add(time.Duration(i) * interval)
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return nil
				}
			}
			stamp = due
		}
		if quota < 0 && !time.Now().Before(end) {
			return nil
		}
		m := Message{Run: r.id, Sent: stamp, Body: r.body, Persistent: r.cfg.Persistent}
		if err := p.Send(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		r.sent.Add(1)
	}
	return nil
}

// finish makes sure the broker has every message, also those sent without
// waiting for it.
func (r *run) finish(ctx context.Context, producers []Producer) error {
	for i, p := range producers {
		if err := p.Finish(ctx); err != nil {
			return fmt.Errorf("bench: producer-%d: %w", i, err)
		}
	}
	return nil
}

// drain waits until the consumers have every message, or none arrived for
// DrainTimeout, or a consumer connection ended, or ctx ended.
func (r *run) drain(ctx context.Context, consumers []*consumer) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	idleSince := time.Now()
	last := r.received.Load()
	for {
		select {
		case <-r.reached:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n := r.received.Load(); n != last {
			last, idleSince = n, time.Now()
		} else if time.Since(idleSince) > r.cfg.DrainTimeout {
			r.cfg.Logger.Warn("consumers idle, giving up", "received", n, "want", r.target.Load())
			return
		}
		for _, c := range consumers {
			select {
			case <-c.conn.Done():
				r.cfg.Logger.Warn("consumer connection ended", "err", c.conn.Err())
				return
			default:
			}
		}
	}
}

func runID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func makeBody(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[i%len(alphabet)]
	}
	return b
}
