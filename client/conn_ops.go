package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// AckMode is a session's acknowledgement mode.
type AckMode int

const (
	// AutoAck acknowledges each message as Receive returns it.
	AutoAck AckMode = iota + 1
	// ClientAck: Message.Ack acknowledges every message the session has
	// delivered so far (JMS CLIENT_ACKNOWLEDGE).
	ClientAck
	// DupsOKAck acknowledges lazily, in batches; after a failure some
	// messages may be delivered twice.
	DupsOKAck
	// IndividualAck: Message.Ack acknowledges that message only (ActiveMQ's
	// INDIVIDUAL_ACKNOWLEDGE).
	IndividualAck
	// Transacted: sends and receipts form a local transaction ended by
	// Session.Commit or Session.Rollback.
	Transacted
)

func (m AckMode) String() string {
	switch m {
	case AutoAck:
		return "auto"
	case ClientAck:
		return "client"
	case DupsOKAck:
		return "dups-ok"
	case IndividualAck:
		return "individual"
	case Transacted:
		return "transacted"
	}
	return "AckMode(" + strconv.Itoa(int(m)) + ")"
}

// Session opens a session. As in JMS, a session (and its producers and
// consumers) is meant for one goroutine at a time; its methods are
// nevertheless safe to call concurrently.
func (c *Conn) Session(ctx context.Context, mode AckMode) (*Session, error) {
	if mode < AutoAck || mode > Transacted {
		return nil, fmt.Errorf("client: session: %w: unknown mode %v", ErrWrongMode, mode)
	}
	s := &Session{conn: c, mode: mode, lastDelivered: -1,
		id: &wire.SessionID{ConnectionID: c.connID.Value, Value: c.ids.session.Add(1)}}
	c.mu.Lock()
	if c.mu.closed || c.mu.err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("client: session: %w", ErrClosed)
	}
	s.mu.producers = map[int64]*Producer{}
	c.mu.sessions[s.id.Value] = s
	c.mu.Unlock()
	// SessionInfo is sent without waiting for an answer, as Java does.
	if err := c.oneway(&wire.SessionInfo{SessionID: s.id}); err != nil {
		c.forgetSession(s)
		return nil, fmt.Errorf("client: session: %w", err)
	}
	return s, nil
}

func (c *Conn) forgetSession(s *Session) {
	c.mu.Lock()
	delete(c.mu.sessions, s.id.Value)
	c.mu.Unlock()
}

// TempQueue creates a temporary queue that lives as long as this
// connection (or until DeleteTemp).
func (c *Conn) TempQueue(ctx context.Context) (*Destination, error) {
	return c.createTemp(ctx, wire.TypeTempQueue)
}

// TempTopic creates a temporary topic that lives as long as this
// connection (or until DeleteTemp).
func (c *Conn) TempTopic(ctx context.Context) (*Destination, error) {
	return c.createTemp(ctx, wire.TypeTempTopic)
}

func (c *Conn) createTemp(ctx context.Context, kind byte) (*Destination, error) {
	d := &Destination{kind: kind, name: c.connID.Value + ":" + strconv.FormatInt(c.ids.temp.Add(1), 10)}
	info := &wire.DestinationInfo{ConnectionID: c.connID, Destination: d.toWire(), OperationType: wire.DestinationAdd}
	if _, err := c.request(ctx, info); err != nil {
		return nil, fmt.Errorf("client: create %s: %w", d, err)
	}
	c.mu.Lock()
	c.mu.temps[d.String()] = true
	c.mu.Unlock()
	return d, nil
}

// DeleteTemp deletes a temporary destination this connection created.
func (c *Conn) DeleteTemp(ctx context.Context, d *Destination) error {
	if !d.IsTemporary() {
		return fmt.Errorf("client: delete %s: %w: not temporary", d, ErrInvalidDestination)
	}
	info := &wire.DestinationInfo{ConnectionID: c.connID, Destination: d.toWire(), OperationType: wire.DestinationRemove}
	if _, err := c.request(ctx, info); err != nil {
		return fmt.Errorf("client: delete %s: %w", d, err)
	}
	c.mu.Lock()
	delete(c.mu.temps, d.String())
	c.mu.Unlock()
	return nil
}

// Close closes the connection as the Java client does: its sessions are
// disposed locally, then RemoveInfo for the advisory consumer, RemoveInfo
// for the connection (waiting up to CloseTimeout for the broker, which
// cascades: consumers, producers, temporary destinations, open
// transactions), ShutdownInfo, and the socket. Close waits for the
// connection's goroutines; it returns nil if the connection had already
// failed. Calling it again returns nil.
func (c *Conn) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() { err = c.close(ctx) })
	return err
}

func (c *Conn) close(ctx context.Context) error {
	c.mu.Lock()
	c.mu.closed = true
	sessions := make([]*Session, 0, len(c.mu.sessions))
	for _, s := range c.mu.sessions {
		sessions = append(sessions, s)
	}
	failed := c.mu.err != nil
	c.mu.Unlock()
	slices.SortFunc(sessions, func(a, b *Session) int { return int(a.id.Value - b.id.Value) })
	last := c.lastSeqMax.Load()
	for _, s := range sessions {
		last = max(last, s.dispose(ErrClosed))
	}
	var err error
	if !failed {
		if c.advisory != nil {
			c.oneway(&wire.RemoveInfo{ObjectID: c.advisory.ConsumerID, LastDeliveredSequenceID: -1})
		}
		rctx, cancel := context.WithTimeout(ctx, c.opts.CloseTimeout)
		_, err = c.request(rctx, &wire.RemoveInfo{ObjectID: c.connID, LastDeliveredSequenceID: last})
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = nil // Java ignores the close timeout
		}
		c.oneway(&wire.ShutdownInfo{})
	}
	c.shutdown(ErrClosed)
	if err != nil && !errors.Is(err, ErrConnectionLost) {
		return fmt.Errorf("client: close: %w", err)
	}
	return nil
}

// shutdown ends the transport and waits for its goroutines.
func (c *Conn) shutdown(why error) {
	c.mu.Lock()
	if c.mu.err == nil {
		c.mu.err = fmt.Errorf("client: connection: %w", why)
		close(c.lost)
	}
	c.mu.closed = true
	c.mu.Unlock()
	if c.fo != nil {
		c.fo.stop() // no new socket after this
	}
	c.mu.Lock()
	t := c.mu.t
	c.mu.Unlock()
	if t != nil {
		t.close()
	}
}
