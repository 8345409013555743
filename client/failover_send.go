package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// pendingReq is a request awaiting its response: an entry of Java's
// failover requestMap.
type pendingReq struct {
	cmd    wire.BaseCommand
	ch     chan wire.Command
	sentOn *transport // the socket it was last written to (under Conn.mu)
}

// socketSink feeds one socket's reads to its Conn, so that the failure of
// an old socket is told apart from that of the current one. Its fields
// other than c and t belong to the socket's read loop.
type socketSink struct {
	c *Conn
	t *transport
	// reported is a ConnectionError that is the last thing the broker
	// sent: the socket's end wraps it, so that a broker that says why
	// before it closes the connection (a SecurityException, say) is heard.
	reported *BrokerError
}

// errLoginRefused marks the end of a socket whose broker refused the
// connection's replayed ConnectionInfo for its credentials.
var errLoginRefused = errors.New("client: the broker refused the connection's credentials")

func (s *socketSink) onCommand(cmd wire.Command) {
	s.reported = nil
	switch x := cmd.(type) {
	case *wire.ConnectionError:
		s.reported = brokerError(x.Exception)
	case *wire.ExceptionResponse:
		// A broker that refuses the credentials will refuse them again:
		// as Java's ActiveMQConnection, give up instead of reconnecting
		// (and do not report the socket the broker then closes as an
		// outage). The ConnectionInfo is Dial's request, or replayed
		// after a failover with its original id, answered to nobody.
		if be := brokerError(x.Exception); s.c.fo != nil && errors.Is(be, ErrSecurity) && s.c.isLogin(x.CorrelationID) {
			s.c.fo.lost(s.t, fmt.Errorf("%w: %w", errLoginRefused, be))
		}
	}
	s.c.onCommand(cmd)
}

// isLogin reports whether id is the command id of the connection's
// ConnectionInfo: awaited by Dial, or accepted before.
func (c *Conn) isLogin(id int32) bool {
	if id != 0 && id == c.loginID.Load() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.mu.pending[id]; p != nil {
		_, ok := p.cmd.(*wire.ConnectionInfo)
		return ok
	}
	return false
}

func (s *socketSink) onTransportError(err error) {
	if s.reported != nil {
		err = fmt.Errorf("%w (the broker had reported: %w)", err, s.reported)
	}
	if s.c.fo == nil {
		s.c.onTransportError(err)
		return
	}
	s.c.fo.lost(s.t, err)
}

// dropWhileDown reports the commands that are not sent while failover has
// no socket, as Java's FailoverTransport.oneway: acknowledgements and
// RemoveInfo (the tracker forgets the removed state; the broker
// redelivers and cascades when the old connection goes) and ShutdownInfo.
func dropWhileDown(cmd wire.Command) bool {
	switch cmd.(type) {
	case *wire.MessageAck, *wire.RemoveInfo, *wire.ShutdownInfo:
		return true
	}
	return false
}

// replayed reports whether the tracker restores cmd on a new socket (with
// its command id), so that it must not be sent again as well.
func replayed(cmd wire.Command) bool {
	switch x := cmd.(type) {
	case *wire.ConnectionInfo, *wire.SessionInfo, *wire.ProducerInfo, *wire.ConsumerInfo:
		return true
	case *wire.DestinationInfo:
		return x.OperationType == wire.DestinationAdd && x.Destination != nil && x.Destination.IsTemporary()
	case *wire.TransactionInfo:
		return x.Type == wire.TxBegin
	case *wire.Message:
		return x.TransactionID != nil
	}
	return false
}

// send sends cmd without asking for a response. With failover, while no
// socket is up it waits (bounded by ctx and the failover timeout), except
// for commands the restore replays anyway and those dropped while down;
// a command whose write fails is retried on the next socket unless the
// restore replays it.
func (c *Conn) send(ctx context.Context, cmd wire.BaseCommand) error {
	cmd.SetCommandID(c.cmdID.Add(1))
	cmd.SetResponseRequired(false)
	c.mu.Lock()
	if err := c.mu.err; err != nil {
		c.mu.Unlock()
		return err
	}
	c.track.track(cmd)
	t := c.mu.t
	if t == nil && (dropWhileDown(cmd) || replayed(cmd) && !c.mu.snap) {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	var timeout <-chan time.Time
	for {
		if t == nil {
			if timeout == nil {
				timeout = c.fo.timeoutC()
			}
			var err error
			if t, err = c.waitUp(ctx, timeout); err != nil {
				return err
			}
		}
		err := t.send(cmd)
		if err == nil || c.fo == nil || !errors.Is(err, ErrConnectionLost) {
			return err
		}
		c.detach(t)
		if replayed(cmd) || dropWhileDown(cmd) {
			return nil
		}
		t = nil
	}
}

// waitUp waits until failover has a socket up.
func (c *Conn) waitUp(ctx context.Context, timeout <-chan time.Time) (*transport, error) {
	for {
		c.mu.Lock()
		t, up, err := c.mu.t, c.mu.up, c.mu.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if t != nil {
			return t, nil
		}
		select {
		case <-up:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.lost:
			return nil, c.Err()
		case <-timeout:
			return nil, c.fo.timeoutErr()
		}
	}
}

// connected reports whether a socket is up.
func (c *Conn) connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.t != nil
}

// detach takes t down as the connection's socket if it is the current
// one, so that senders wait for the next.
func (c *Conn) detach(t *transport) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.t != t || t == nil {
		return false
	}
	c.mu.t = nil
	c.mu.up = make(chan struct{})
	return true
}

// fail ends the connection for good (failover gave up).
func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.err == nil {
		c.mu.err = err
		close(c.lost)
	}
}

// sortedPending returns the pending requests by command id (under mu).
func (c *Conn) sortedPending() []*pendingReq {
	ps := slices.Collect(maps.Values(c.mu.pending))
	slices.SortFunc(ps, func(a, b *pendingReq) int { return int(a.cmd.CommandID() - b.cmd.CommandID()) })
	return ps
}

// restore makes t, a new socket, the connection's: it writes
// ConnectionControl{faultTolerant}, the tracker's replay
// (ConnectionInfo with failoverReconnect, temporary destinations,
// sessions, producers, consumers, open transactions) and every pending
// request not replayed as state, with their original command ids; only
// then are other senders let through. Commits in flight are not resent:
// they are returned, to be failed as rolled back (their outcome is
// unknown).
func (c *Conn) restore(t *transport) (inDoubt []*pendingReq, err error) {
	c.mu.Lock()
	if err := c.mu.err; err != nil {
		c.mu.Unlock()
		return nil, err
	}
	cmds, doubt := c.track.replay()
	c.mu.snap = true
	skip := make(map[int32]bool)
	for _, cmd := range cmds {
		if b, ok := cmd.(wire.BaseCommand); ok {
			skip[b.CommandID()] = true
		}
	}
	batch := []wire.Command{&wire.ConnectionControl{FaultTolerant: true}}
	if b := c.opts.Bridge; b != nil {
		batch = append(batch, b.command()) // before the ConnectionInfo, as in handshake
	}
	batch = append(batch, cmds...)
	for _, p := range c.sortedPending() {
		p.sentOn = t
		switch {
		case skip[p.cmd.CommandID()]:
		case isCommitOf(p.cmd, doubt):
			inDoubt = append(inDoubt, p)
		default:
			batch = append(batch, p.cmd)
		}
	}
	c.log.Debug("restoring the connection", "peer", t.addr, "replayed", len(cmds), "resent", len(batch)-1-len(cmds),
		"in_doubt", len(inDoubt))
	c.mu.Unlock()
	for len(batch) > 0 {
		for _, cmd := range batch {
			if err := t.send(cmd); err != nil {
				c.mu.Lock()
				c.mu.snap = false
				c.mu.Unlock()
				return nil, err
			}
		}
		// Requests made meanwhile, and not sent by their callers, go next.
		batch = batch[:0]
		c.mu.Lock()
		for _, p := range c.sortedPending() {
			if p.sentOn != t {
				p.sentOn = t
				batch = append(batch, p.cmd)
			}
		}
		if len(batch) == 0 {
			c.mu.t, c.mu.snap = t, false
			close(c.mu.up)
		}
		c.mu.Unlock()
	}
	return inDoubt, nil
}

func isCommitOf(cmd wire.Command, txs []*wire.LocalTransactionID) bool {
	ti, ok := cmd.(*wire.TransactionInfo)
	if !ok || ti.Type != wire.TxCommitOnePhase {
		return false
	}
	id, ok := ti.TransactionID.(*wire.LocalTransactionID)
	return ok && slices.ContainsFunc(txs, func(x *wire.LocalTransactionID) bool { return x.Value == id.Value })
}

// failInDoubt completes commits that were in flight when the socket was
// lost with TransactionRolledBackException, as Java does.
func failInDoubt(ps []*pendingReq) {
	for _, p := range ps {
		ex := &wire.ExceptionResponse{CorrelationID: p.cmd.CommandID(), Exception: &wire.Throwable{
			Class:   "javax.jms.TransactionRolledBackException",
			Message: "Transaction completion in doubt due to failover. Forcing rollback"}}
		select {
		case p.ch <- ex:
		default:
		}
	}
}

// interrupt drops what the consumers hold from the lost socket: the broker
// redelivers every unacknowledged message to the restored consumers (Java's
// clearMessagesInProgress). A transacted session that had consumed
// messages in its open transaction becomes rollback-only. It runs between
// sockets, when no read loop runs.
func (c *Conn) interrupt() {
	c.mu.Lock()
	ks := slices.Collect(maps.Values(c.mu.consumers))
	c.mu.Unlock()
	for _, k := range ks {
		k.interrupted()
	}
	c.advisoryN = 0
}

func (k *Consumer) interrupted() {
	k.mu.Lock()
	k.mu.queue = nil
	if len(k.mu.delivered) > 0 && k.sess.mode == Transacted {
		k.sess.rollbackOnly.Store(true)
	}
	k.mu.delivered = nil
	k.mu.pendingN, k.mu.pendingFirst = 0, nil
	if k.mu.pulls > 0 {
		k.mu.pulls, k.mu.repull = 0, true
	}
	k.mu.Unlock()
	k.wake()
}
