//go:build crossprocess

package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/client"
)

// sendTimeout bounds one persistent send; a failover client keeps it
// waiting across an outage, so it must outlast the longest one a test makes.
const sendTimeout = 60 * time.Second

// ledger is the account of one queue: which sequence numbers a producer
// sent and which of those the broker acknowledged (Send returned nil), and
// every delivery a consumer got. check compares the two.
type ledger struct {
	queue string

	mu struct {
		sync.Mutex
		sent     int    // sends attempted: sequence numbers 0 .. sent-1
		acked    []bool // by sequence number
		nAcked   int
		sendErrs []string
		lastOK   time.Time // the last acknowledged send
		gap      time.Duration
		gapEnd   time.Time
		got      map[int][]*delivery
		bad      []string // deliveries without a sequence number
	}
}

// delivery is one message as the consumer got it.
type delivery struct {
	redelivered bool
	count       int // JMSXDeliveryCount
	epoch       int // failovers of the consumer's connection before it
	// ackEpoch is epoch at the time an acknowledgement covering it
	// returned nil, -1 if none did. An Ack after a failover returns nil
	// but covers nothing: the client dropped what it had delivered.
	ackEpoch int
}

func newLedger(queue string) *ledger {
	l := &ledger{queue: queue}
	l.mu.got = map[int][]*delivery{}
	return l
}

// ackedCount is how many sends the broker has acknowledged so far.
func (l *ledger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.nAcked
}

// longestGap is the longest time between two acknowledged sends, and when
// it ended.
// receivedCount returns how many distinct messages the consumer got.
func (l *ledger) receivedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.mu.got)
}

func (l *ledger) longestGap() (time.Duration, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.gap, l.mu.gapEnd
}

// send sends the next sequence number as a persistent text message with
// the property seq, and records the outcome.
func (l *ledger) send(p *client.Producer) error {
	l.mu.Lock()
	seq := l.mu.sent
	l.mu.sent++
	l.mu.acked = append(l.mu.acked, false)
	l.mu.Unlock()
	m := client.NewTextMessage(fmt.Sprintf("%s #%d", l.queue, seq))
	if err := m.SetProperty("seq", int64(seq)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	err := p.Send(ctx, m)
	cancel()
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.mu.sendErrs = append(l.mu.sendErrs, fmt.Sprintf("seq %d: %v", seq, err))
		return err
	}
	l.mu.acked[seq] = true
	l.mu.nAcked++
	if !l.mu.lastOK.IsZero() && now.Sub(l.mu.lastOK) > l.mu.gap {
		l.mu.gap, l.mu.gapEnd = now.Sub(l.mu.lastOK), now
	}
	l.mu.lastOK = now
	return nil
}

// dial opens a failover connection that counts its interruptions.
func dial(t *testing.T, url string, interruptions *atomic.Int32) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := client.Options{}
	if interruptions != nil {
		opts.OnInterrupted = func(error) { interruptions.Add(1) }
	}
	c, err := client.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

// producer opens a failover connection, an AutoAck session and a producer
// of the ledger's queue.
func (l *ledger) producer(t *testing.T, url string) *client.Producer {
	t.Helper()
	c := dial(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Producer(ctx, client.Queue(l.queue))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sendN sends n messages, one after the other; every one must be
// acknowledged.
func (l *ledger) sendN(t *testing.T, url string, n int) {
	t.Helper()
	p := l.producer(t, url)
	for range n {
		if err := l.send(p); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
}

// background is a goroutine started by the ledger; stop ends it and waits.
type background struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (b *background) stop() {
	b.cancel()
	<-b.done
}

// startProducer sends on a failover connection, a message every interval
// (plus the send's own time), until stopped. A failed send is recorded and
// the producer goes on with the next sequence number.
func (l *ledger) startProducer(t *testing.T, url string, interval time.Duration) *background {
	t.Helper()
	p := l.producer(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for ctx.Err() == nil {
			l.send(p)
			select {
			case <-ctx.Done():
			case <-time.After(interval):
			}
		}
	}()
	t.Cleanup(b.stop)
	return b
}

// consumer receives from the ledger's queue on a failover connection.
type consumer struct {
	background
	l             *ledger
	interruptions atomic.Int32
	lastAt        atomic.Int64 // UnixNano of the last delivery
	err           error        // why it stopped early, once done
}

// startConsumer consumes until stopped. ackEvery 0 uses an AutoAck
// session; n > 0 a ClientAck session that acknowledges after every n
// messages and whenever the queue is idle for a moment, so that a failover
// usually finds messages delivered and not yet acknowledged: they must
// come again, marked redelivered.
func (l *ledger) startConsumer(t *testing.T, url string, ackEvery int) *consumer {
	t.Helper()
	k := &consumer{l: l}
	c := dial(t, url, &k.interruptions)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mode := client.AutoAck
	if ackEvery > 0 {
		mode = client.ClientAck
	}
	s, err := c.Session(ctx, mode)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := s.Consumer(ctx, client.Queue(l.queue), client.Prefetch(100))
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	k.background = background{cancel: rcancel, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		k.err = k.run(rctx, cons, ackEvery)
	}()
	t.Cleanup(k.stop)
	return k
}

func (k *consumer) run(ctx context.Context, cons *client.Consumer, ackEvery int) error {
	l := k.l
	var last *client.Message
	var unacked []*delivery
	ack := func() error {
		if last == nil {
			return nil
		}
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := last.Ack(actx); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
		epoch := int(k.interruptions.Load())
		l.mu.Lock()
		for _, d := range unacked {
			d.ackEpoch = epoch
		}
		l.mu.Unlock()
		last, unacked = nil, unacked[:0]
		return nil
	}
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		m, err := cons.Receive(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				if err := ack(); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("receive: %w", err)
		}
		k.lastAt.Store(time.Now().UnixNano())
		d := l.received(m, int(k.interruptions.Load()), ackEvery == 0)
		if ackEvery == 0 || d == nil {
			continue
		}
		last, unacked = m, append(unacked, d)
		if len(unacked) >= ackEvery {
			if err := ack(); err != nil {
				return err
			}
		}
	}
	return ack()
}

// received records a delivery and returns it (nil if the message has no
// sequence number or its body does not match it).
func (l *ledger) received(m *client.Message, epoch int, autoAck bool) *delivery {
	seq, err := m.LongProperty("seq")
	text, _ := m.Text()
	if want := fmt.Sprintf("%s #%d", l.queue, seq); err == nil && text != want {
		err = fmt.Errorf("body %q, want %q", text, want)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.mu.bad = append(l.mu.bad, fmt.Sprintf("message %s: %v", m.ID, err))
		return nil
	}
	d := &delivery{redelivered: m.Redelivered, count: m.DeliveryCount, epoch: epoch, ackEpoch: -1}
	if autoAck {
		d.ackEpoch = epoch
	}
	l.mu.got[int(seq)] = append(l.mu.got[int(seq)], d)
	return d
}

// complete reports whether every acknowledged send has been received.
func (l *ledger) complete() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for seq, ok := range l.mu.acked {
		if ok && len(l.mu.got[seq]) == 0 {
			return false
		}
	}
	return true
}

// drain waits (at most timeout) until every acknowledged send has been
// received, then until the queue has been quiet for a while (late
// duplicates), and stops the consumer. Call it after the producers stopped.
func (k *consumer) drain(t *testing.T, timeout time.Duration) {
	t.Helper()
	const quiet = 2 * time.Second
	deadline := time.Now().Add(timeout)
	for !k.l.complete() && time.Now().Before(deadline) && !k.exited() {
		time.Sleep(50 * time.Millisecond)
	}
	for time.Now().Before(deadline) && !k.exited() &&
		time.Since(time.Unix(0, k.lastAt.Load())) < quiet {
		time.Sleep(100 * time.Millisecond)
	}
	k.stop()
	if k.err != nil {
		t.Errorf("consumer stopped early: %v", k.err)
	}
	if !k.l.complete() {
		t.Errorf("consumer: not every acknowledged send arrived within %s", timeout)
	}
}

func (k *consumer) exited() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

// check compares what was sent with what was received: every acknowledged
// send arrived; nothing arrived that was never sent; a message that
// arrived more than once was marked redelivered on every later delivery —
// and, with exactlyOnce, no acknowledged send arrived twice at all. It
// logs the figures either way.
func (l *ledger) check(t *testing.T, exactlyOnce bool) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var lost, phantom, unmarked, twice, dupSeqs []int
	deliveries, dups, marked := 0, 0, 0
	for seq, ds := range l.mu.got {
		deliveries += len(ds)
		if seq < 0 || seq >= l.mu.sent {
			phantom = append(phantom, seq)
			continue
		}
		if len(ds) < 2 {
			continue
		}
		dups++
		dupSeqs = append(dupSeqs, seq)
		if exactlyOnce && l.mu.acked[seq] {
			twice = append(twice, seq)
		}
		ok := true
		for _, d := range ds[1:] {
			ok = ok && d.redelivered
		}
		if ok {
			marked++
		} else {
			unmarked = append(unmarked, seq)
		}
	}
	for seq, ok := range l.mu.acked {
		if ok && len(l.mu.got[seq]) == 0 {
			lost = append(lost, seq)
		}
	}
	t.Logf("ledger %s: sent %d, acknowledged %d, failed %d; received %d deliveries of %d messages; "+
		"duplicates %d (%d marked redelivered, %d not); lost %d; never sent %d; longest gap between acknowledged sends %s",
		l.queue, l.mu.sent, l.mu.nAcked, len(l.mu.sendErrs), deliveries, len(l.mu.got),
		dups, marked, len(unmarked), len(lost), len(phantom), l.mu.gap.Round(time.Millisecond))
	if len(dupSeqs) > 0 {
		slices.Sort(dupSeqs)
		t.Logf("duplicates:%s", l.describe(dupSeqs))
	}
	for _, e := range first(l.mu.sendErrs, 5) {
		t.Logf("failed send: %s", e)
	}
	if len(l.mu.bad) > 0 {
		t.Errorf("%d messages not as sent: %s", len(l.mu.bad), strings.Join(first(l.mu.bad, 10), "; "))
	}
	if len(lost) > 0 {
		t.Errorf("%d acknowledged sends never consumed: %v", len(lost), first(slices.Sorted(slices.Values(lost)), 20))
	}
	if len(phantom) > 0 {
		t.Errorf("%d messages consumed that were never sent: %v", len(phantom), first(phantom, 20))
	}
	if len(unmarked) > 0 {
		slices.Sort(unmarked)
		t.Errorf("%d messages consumed more than once without being marked redelivered: %s",
			len(unmarked), l.describe(unmarked))
	}
	if len(twice) > 0 {
		slices.Sort(twice)
		t.Errorf("%d acknowledged sends consumed more than once (want exactly once): %s", len(twice), l.describe(twice))
	}
}

// describe lists the deliveries of the first few sequence numbers.
func (l *ledger) describe(seqs []int) string {
	var b strings.Builder
	for _, seq := range first(seqs, 10) {
		fmt.Fprintf(&b, "\n  seq %d (send acknowledged %t):", seq, l.mu.acked[seq])
		for _, d := range l.mu.got[seq] {
			ack := "never acknowledged"
			if d.ackEpoch >= 0 {
				ack = fmt.Sprintf("acknowledged after failover %d", d.ackEpoch)
			}
			fmt.Fprintf(&b, " [received after failover %d, redelivered=%t, delivery count %d, %s]",
				d.epoch, d.redelivered, d.count, ack)
		}
	}
	return b.String()
}

func first[T any](s []T, n int) []T { return s[:min(n, len(s))] }

// median returns the median of ds (0 for none) and the largest.
func median(ds []time.Duration) (time.Duration, time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.SortedFunc(slices.Values(ds), cmp.Compare)
	return s[len(s)/2], s[len(s)-1]
}
