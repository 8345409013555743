package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// Session is a JMS session: it creates producers and consumers, and owns
// their acknowledgements and, if Transacted, their transaction.
//
// Lock order: Session.mu, then Consumer.mu, then Conn.mu; socket writes
// last. The read loop takes only Consumer.mu and Conn.mu.
type Session struct {
	conn *Conn
	id   *wire.SessionID
	mode AckMode

	mu struct {
		sync.Mutex
		closed    bool
		consumers []*Consumer
		producers map[int64]*Producer
		tx        *wire.LocalTransactionID // open local transaction
	}
	lastDelivered int64 // highest lastDeliveredSequenceId of its closed consumers (under mu)
	// rollbackOnly: failover interrupted the open transaction after it
	// had consumed messages (Java's TransactionContext rollbackOnly).
	rollbackOnly atomic.Bool
}

// Mode returns the session's acknowledgement mode.
func (s *Session) Mode() AckMode { return s.mode }

func (s *Session) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	return s.conn.Err()
}

// ensureTx begins a local transaction if none is open (TransactionInfo
// BEGIN, asynchronous, as Java's TransactionContext.begin).
func (s *Session) ensureTx() (*wire.LocalTransactionID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ensureTxLocked()
}

func (s *Session) ensureTxLocked() (*wire.LocalTransactionID, error) {
	if s.mu.tx != nil {
		return s.mu.tx, nil
	}
	c := s.conn
	tx := &wire.LocalTransactionID{Value: c.ids.tx.Add(1), ConnectionID: c.connID}
	if err := c.oneway(&wire.TransactionInfo{ConnectionID: c.connID, TransactionID: tx, Type: wire.TxBegin}); err != nil {
		return nil, err
	}
	s.mu.tx = tx
	return tx, nil
}

// txID returns the open transaction (nil if none).
func (s *Session) txID() *wire.LocalTransactionID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.tx
}

func (s *Session) consumers() []*Consumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mu.consumers)
}

// Commit commits the session's transaction: a STANDARD ack (in the
// transaction) for what each consumer delivered, then COMMIT_ONE_PHASE,
// waiting for the broker. If the broker refuses, the transaction is rolled
// back: the error matches ErrTransactionRolledBack and the consumed
// messages are redelivered. With no transaction open it does nothing.
func (s *Session) Commit(ctx context.Context) error {
	if s.mode != Transacted {
		return fmt.Errorf("client: commit: %w: session is %v", ErrWrongMode, s.mode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.mu.tx
	if tx == nil {
		return nil
	}
	if s.rollbackOnly.Load() {
		if err := s.rollbackLocked(ctx); err != nil {
			return fmt.Errorf("client: commit: %w: %w", ErrTransactionRolledBack, err)
		}
		return fmt.Errorf("client: commit: %w: failover interrupted the transaction after it consumed messages; "+
			"it was rolled back and the broker redelivers them", ErrTransactionRolledBack)
	}
	c := s.conn
	for _, k := range s.mu.consumers {
		if ack := k.ackAll(wire.AckStandard, tx); ack != nil {
			if err := c.oneway(ack); err != nil {
				return fmt.Errorf("client: commit: %w", err)
			}
		}
	}
	_, err := c.request(ctx, &wire.TransactionInfo{ConnectionID: c.connID, TransactionID: tx, Type: wire.TxCommitOnePhase})
	s.mu.tx = nil
	s.rollbackOnly.Store(false)
	c.track.txDone(tx)
	if err != nil {
		for _, k := range s.mu.consumers {
			k.redeliver()
		}
		if !errors.Is(err, ErrTransactionRolledBack) {
			err = fmt.Errorf("%w: %w", ErrTransactionRolledBack, err)
		}
		return fmt.Errorf("client: commit: %w", err)
	}
	for _, k := range s.mu.consumers {
		k.settle()
	}
	return nil
}

// Rollback rolls the session's transaction back: the broker discards its
// sends, and the messages consumed in it are redelivered by this client
// (after a REDELIVERED ack, or a POISON ack past MaxRedeliveries), as the
// Java client does.
func (s *Session) Rollback(ctx context.Context) error {
	if s.mode != Transacted {
		return fmt.Errorf("client: rollback: %w: session is %v", ErrWrongMode, s.mode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rollbackLocked(ctx)
}

func (s *Session) rollbackLocked(ctx context.Context) error {
	tx := s.mu.tx
	if tx == nil {
		return nil
	}
	c := s.conn
	_, err := c.request(ctx, &wire.TransactionInfo{ConnectionID: c.connID, TransactionID: tx, Type: wire.TxRollback})
	s.mu.tx = nil
	s.rollbackOnly.Store(false)
	for _, k := range s.mu.consumers {
		k.redeliver()
	}
	if err != nil {
		return fmt.Errorf("client: rollback: %w", err)
	}
	return nil
}

// Recover redelivers every message the session delivered but that is not
// acknowledged yet, in order, marked redelivered (JMS Session.recover).
func (s *Session) Recover(ctx context.Context) error {
	if s.mode == Transacted {
		return fmt.Errorf("client: recover: %w: use Rollback", ErrWrongMode)
	}
	if err := s.checkOpen(); err != nil {
		return fmt.Errorf("client: recover: %w", err)
	}
	for _, k := range s.consumers() {
		k.redeliver()
	}
	return nil
}

// ack acknowledges m as the session's mode says.
func (s *Session) ack(ctx context.Context, m *Message) error {
	switch s.mode {
	case ClientAck:
		for _, k := range s.consumers() {
			if ack := k.ackAll(wire.AckStandard, nil); ack != nil {
				if err := s.conn.oneway(ack); err != nil {
					return fmt.Errorf("client: ack: %w", err)
				}
			}
			k.settle()
		}
	case IndividualAck:
		if ack := m.cons.ackOne(m.md); ack != nil {
			if err := s.conn.oneway(ack); err != nil {
				return fmt.Errorf("client: ack: %w", err)
			}
		}
	}
	return nil
}

// Close closes the session: a transaction still open is rolled back, its
// consumers and producers are disposed, and one RemoveInfo for the session
// tells the broker to remove them all (as Java does).
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	var err error
	if s.mode == Transacted {
		err = s.rollbackLocked(ctx)
	}
	s.mu.Unlock()
	last := s.dispose(ErrClosed)
	s.conn.forgetSession(s)
	if e := s.conn.oneway(&wire.RemoveInfo{ObjectID: s.id, LastDeliveredSequenceID: last}); e != nil && err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("client: close session: %w", err)
	}
	return nil
}

// dispose closes the session's consumers and producers locally (pending
// DupsOK acks are sent) and returns the highest lastDeliveredSequenceId.
func (s *Session) dispose(why error) int64 {
	s.mu.Lock()
	s.mu.closed = true
	cons := s.mu.consumers
	s.mu.consumers = nil
	prods := s.mu.producers
	s.mu.producers = nil
	last := s.lastDelivered
	s.mu.Unlock()
	for _, k := range cons {
		last = max(last, k.dispose(why))
	}
	for _, p := range prods {
		p.dispose()
	}
	return last
}
