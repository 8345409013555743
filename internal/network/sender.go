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

// SenderConfig holds a Sender's settings.
type SenderConfig struct {
	// Poll is how often the outbox is read when nobody called Notify.
	Poll time.Duration
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
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.MaxRefusals == 0 {
		c.MaxRefusals = 3
	}
}

// Validate reports settings that cannot work.
func (c *SenderConfig) Validate() error {
	if c.Poll <= 0 || c.Batch <= 0 || c.MaxRefusals <= 0 {
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
// acknowledged it. Pump runs it over one connection; after any failure
// the bridge connects again (with back-off) and Pump starts over from the
// first entry still in the outbox: what the remote stored already is
// dropped there by its producer marks.
type Sender struct {
	cfg    SenderConfig
	ob     Outbox
	log    *slog.Logger
	notify chan struct{}

	sent, dead, connects atomic.Int64
	refused              struct{ seq, n uint64 } // the entry refused last, and how often in a row (pump's goroutine)
}

// NewSender creates a Sender; Pump runs it over a connection. log is the
// bridge's (it names the component already).
func NewSender(cfg SenderConfig, ob Outbox, log *slog.Logger) (*Sender, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{cfg: cfg, ob: ob, log: log,
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
	tx, err := conn.Session(ctx, client.Transacted)
	if err != nil {
		return fmt.Errorf("network: session: %w", err)
	}
	txProd, err := tx.Producer(ctx, nil)
	if err != nil {
		return fmt.Errorf("network: producer: %w", err)
	}
	return s.pump(ctx, conn, prod, &batcher{tx, txProd})
}

// batcher sends several outbox entries in one transaction: the remote
// broker stores them with one write, where one synchronous send each
// would cost a write each.
type batcher struct {
	sess *client.Session
	prod *client.Producer
}

// pump sends the outbox from its first entry, then each new one: what it
// reads at once in one transaction, falling back to one send each when
// the remote broker refuses the transaction (to find the entry it
// refuses).
func (s *Sender) pump(ctx context.Context, conn *client.Conn, prod *client.Producer, b *batcher) error {
	var after uint64
	for {
		recs, err := s.ob.Read(ctx, after, s.cfg.Batch)
		if err != nil {
			return err
		}
		if len(recs) > 1 {
			sent, err := s.sendBatch(ctx, b, recs)
			if err != nil {
				return err
			}
			if sent {
				after = recs[len(recs)-1].Seq
				continue
			}
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

// sendBatch sends recs in one transaction and removes them in one batch.
// sent is false, with no error, when one of them cannot go or the remote
// broker refused the transaction: they are then sent one by one.
func (s *Sender) sendBatch(ctx context.Context, b *batcher, recs []store.Record) (sent bool, err error) {
	seqs := make([]uint64, 0, len(recs))
	for _, r := range recs {
		m, dest, err := toClient(r.Msg)
		if err == nil {
			err = b.prod.Send(ctx, m, client.To(dest), client.Forward(r.Msg.ProducerID, r.Msg.ProducerSeq))
		}
		if err != nil {
			if rerr := b.sess.Rollback(ctx); rerr != nil {
				return false, fmt.Errorf("network: rollback: %w", rerr)
			}
			if errors.Is(err, errCannotForward) || refusal(err) {
				return false, nil
			}
			return false, fmt.Errorf("network: send %d: %w", r.Seq, err)
		}
		seqs = append(seqs, r.Seq)
	}
	if err := b.sess.Commit(ctx); err != nil {
		if refusal(err) {
			return false, nil
		}
		return false, fmt.Errorf("network: commit %d..%d: %w", seqs[0], seqs[len(seqs)-1], err)
	}
	s.sent.Add(int64(len(seqs)))
	return true, s.ob.Remove(ctx, seqs...)
}

// refusal reports whether err is the remote broker (or the client on its
// behalf) refusing what was sent, rather than a failed connection.
func refusal(err error) bool {
	var be *client.BrokerError
	return errors.As(err, &be) || errors.Is(err, client.ErrInvalidDestination)
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
	if refusal(err) {
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
