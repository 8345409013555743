package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/store"
)

// Outbox is the local side a Sender drains: a bridge's outbox in the
// store (*broker.Outbox).
type Outbox interface {
	// Read returns up to max entries with a sequence above after, in
	// sequence order.
	Read(ctx context.Context, after uint64, max int) ([]store.Record, error)
	// Remove deletes entries durably.
	Remove(ctx context.Context, seqs ...uint64) error
	// DeadLetter moves an entry to the dead letter queue, durably.
	DeadLetter(ctx context.Context, r store.Record, reason string) error
}

// Dialer connects to the remote broker. A failover: URI makes the client
// ride out a remote failover itself; Sender dials again only when a
// connection is lost for good.
type Dialer func(ctx context.Context) (*client.Conn, error)

// SenderConfig holds a Sender's settings.
type SenderConfig struct {
	// Poll is how often the outbox is read when nobody called Notify.
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait before dialling again after
	// a failure; it doubles from MinBackoff with each failure in a row.
	MinBackoff, MaxBackoff time.Duration
	// Batch is how many outbox entries are read at once.
	Batch int
	// MaxRefusals is how often in a row the remote broker may refuse an
	// entry (an error answer, not a lost connection) before it is
	// dead-lettered here, so that it does not hold up the rest.
	MaxRefusals int
}

// EnsureDefaults fills unset fields.
func (c *SenderConfig) EnsureDefaults() {
	if c.Poll == 0 {
		c.Poll = time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.MaxRefusals == 0 {
		c.MaxRefusals = 3
	}
}

// Validate reports settings that cannot work.
func (c *SenderConfig) Validate() error {
	if c.Poll <= 0 || c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff || c.Batch <= 0 || c.MaxRefusals <= 0 {
		return fmt.Errorf("network: sender: invalid config %+v", *c)
	}
	return nil
}

// SenderStats counts what a Sender did.
type SenderStats struct {
	Sent         int64 // entries the remote acknowledged (resends included)
	DeadLettered int64 // entries moved to the dead letter queue: no form on the remote broker, or refused
	Connects     int64 // connections made
}

// Sender sends an outbox to a remote broker: in sequence order, each
// message persistent and synchronous with the message id the outbox
// stamped on it (client.Forward), removing each entry once the remote
// acknowledged it. After any failure it connects again (with back-off) and
// starts over from the first entry still in the outbox: what the remote
// stored already is dropped there by its producer marks.
type Sender struct {
	cfg    SenderConfig
	ob     Outbox
	dial   Dialer
	log    *slog.Logger
	notify chan struct{}

	sent, dead, connects atomic.Int64
	refused              struct{ seq, n uint64 } // the entry refused last, and how often in a row (pump's goroutine)
}

// NewSender creates a Sender; Run runs it.
func NewSender(cfg SenderConfig, ob Outbox, dial Dialer, log *slog.Logger) (*Sender, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, ob: ob, dial: dial, log: log.With("component", "bridge"),
		notify: make(chan struct{}, 1)}, nil
}

// Notify tells the sender the outbox has new entries.
func (s *Sender) Notify() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Stats returns the counters.
func (s *Sender) Stats() SenderStats {
	return SenderStats{Sent: s.sent.Load(), DeadLettered: s.dead.Load(), Connects: s.connects.Load()}
}

// Run sends until ctx ends, then returns ctx's error.
func (s *Sender) Run(ctx context.Context) error {
	wait := s.cfg.MinBackoff
	for {
		progressed, err := s.connectAndSend(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if progressed {
			wait = s.cfg.MinBackoff
		}
		s.log.Warn("bridge send failed; connecting again", "err", err, "backoff", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, s.cfg.MaxBackoff)
	}
}

// connectAndSend dials, then sends until something fails. progressed says
// whether the connection was made.
func (s *Sender) connectAndSend(ctx context.Context) (progressed bool, err error) {
	conn, err := s.dial(ctx)
	if err != nil {
		return false, fmt.Errorf("network: dial: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		conn.Close(cctx)
		cancel()
	}()
	return true, s.Pump(ctx, conn)
}

// Pump sends the outbox over conn, from its first entry on, until ctx
// ends, conn is lost or a send fails; it does not close conn.
func (s *Sender) Pump(ctx context.Context, conn *client.Conn) error {
	s.connects.Add(1)
	sess, err := conn.Session(ctx, client.AutoAck)
	if err != nil {
		return fmt.Errorf("network: session: %w", err)
	}
	prod, err := sess.Producer(ctx, nil)
	if err != nil {
		return fmt.Errorf("network: producer: %w", err)
	}
	return s.pump(ctx, conn, prod)
}

// pump sends the outbox from its first entry, then each new one.
func (s *Sender) pump(ctx context.Context, conn *client.Conn, prod *client.Producer) error {
	var after uint64
	for {
		recs, err := s.ob.Read(ctx, after, s.cfg.Batch)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := s.send(ctx, prod, r); err != nil {
				return err
			}
			after = r.Seq
		}
		if len(recs) > 0 {
			continue
		}
		t := time.NewTimer(s.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-conn.Done():
			t.Stop()
			return fmt.Errorf("network: connection lost: %w", conn.Err())
		case <-s.notify:
			t.Stop()
		case <-t.C:
		}
	}
}

// send forwards one entry and removes it. An entry that has no form on
// the remote broker, or that it refused MaxRefusals times in a row, is
// dead-lettered here instead.
func (s *Sender) send(ctx context.Context, prod *client.Producer, r store.Record) error {
	m, dest, err := toClient(r.Msg)
	if errors.Is(err, errCannotForward) {
		return s.deadLetter(ctx, r, err.Error())
	}
	err = prod.Send(ctx, m, client.To(dest), client.Forward(r.Msg.ProducerID, r.Msg.ProducerSeq))
	var refused *client.BrokerError
	if errors.As(err, &refused) || errors.Is(err, client.ErrInvalidDestination) {
		if s.refused.seq != r.Seq {
			s.refused.seq, s.refused.n = r.Seq, 0
		}
		if s.refused.n++; s.refused.n >= uint64(s.cfg.MaxRefusals) {
			return s.deadLetter(ctx, r, fmt.Sprintf("refused by the remote broker %d times: %v", s.refused.n, err))
		}
	}
	if err != nil {
		return fmt.Errorf("network: send %d: %w", r.Seq, err)
	}
	s.sent.Add(1)
	return s.ob.Remove(ctx, r.Seq)
}

func (s *Sender) deadLetter(ctx context.Context, r store.Record, reason string) error {
	s.log.Warn("outbox entry cannot be forwarded; dead-lettered", "dest", r.Msg.Dest.String(), "seq", r.Seq, "reason", reason)
	if err := s.ob.DeadLetter(ctx, r, reason); err != nil {
		return err
	}
	s.dead.Add(1)
	return nil
}
