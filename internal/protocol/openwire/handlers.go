package openwire

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
	"github.com/piermq/pier/internal/store"
)

// errNotConnected: a command before ConnectionInfo.
var errNotConnected = errors.New("openwire: no ConnectionInfo yet")

// handle processes one command and answers it if the client asked;
// done means the connection ends.
func (c *conn) handle(cmd wire.Command) (done bool) {
	var err error
	switch x := cmd.(type) {
	case *wire.ConnectionInfo:
		err = c.onConnectionInfo(x)
		// A refused login ends the connection (after its answer): one
		// socket is not a place to try passwords in turn.
		done = errors.Is(err, auth.ErrAuthentication)
	case *wire.SessionInfo, *wire.FlushCommand, *wire.ControlCommand, *wire.MessageDispatchNotification:
		// Nothing to do: sessions exist implicitly.
	case *wire.ConsumerControl:
		// A failover client restores its consumers with prefetch 0, then
		// sends their real prefetch this way.
		if x.ConsumerID != nil && x.Prefetch >= 0 {
			if k := c.consumerOf(x.ConsumerID); k != nil && k.sub != nil {
				k.sub.SetPrefetch(int(x.Prefetch))
			}
		}
	case *wire.BrokerInfo:
		err = c.onBrokerInfo(x)
	case *wire.ConnectionControl:
		// A failover client says so first on every new socket.
		c.faultTolerant.Store(x.FaultTolerant)
	case *wire.KeepAliveInfo:
		if x.ResponseRequired() {
			c.send(&wire.KeepAliveInfo{})
			return false
		}
	case *wire.ShutdownInfo:
		return true
	case *wire.WireFormatInfo:
		err = errors.New("openwire: WireFormatInfo was already negotiated")
	default:
		if c.bc == nil {
			err = errNotConnected
			break
		}
		done, err = c.handleConnected(cmd)
	}
	if errors.Is(err, store.ErrUnavailable) {
		// This broker stopped being master under the command: close
		// without an answer, so a failover client resends it to the new
		// master (where a duplicate is recognised).
		c.log.Info("not the master any more; closing the connection", "err", err)
		return true
	}
	c.answer(cmd, err)
	for _, f := range c.pending {
		f()
	}
	c.pending = c.pending[:0]
	return done
}

// onBrokerInfo handles a network bridge's announcement of the broker it
// comes from; a duplex one asks this broker to bridge back, which is done
// only for an authenticated connection whose user may open bridges (a
// stranger's BrokerInfo must not make the broker dial anywhere). A bridge
// sends it before its ConnectionInfo: it waits for the login.
func (c *conn) onBrokerInfo(x *wire.BrokerInfo) error {
	if !x.DuplexConnection || c.duplex != nil {
		return nil
	}
	id := ""
	if x.BrokerID != nil {
		id = x.BrokerID.Value
	}
	if c.srv.cfg.Duplex == nil || x.BrokerURL == "" {
		c.log.Warn("duplex bridge not supported here; forwarding one way only", "remote_broker", id)
		return nil
	}
	c.duplex = &DuplexRequest{BrokerID: id, BrokerName: x.BrokerName, URL: x.BrokerURL, Properties: x.NetworkProperties}
	if c.bc != nil {
		c.duplex.Username, c.duplex.Password = c.login.user, c.login.password
		c.bridgeBack()
	}
	return nil
}

// bridgeBack acts on a held duplex request once the connection is
// authenticated.
func (c *conn) bridgeBack() {
	req := *c.duplex
	if s := c.bc.Subject(); !s.MayBridge() {
		c.log.Warn("duplex bridge refused: the user may not open network bridges (security.bridges)",
			"user", s.User, "remote_broker", req.BrokerID, "url", req.URL)
		return
	}
	if err := c.srv.cfg.Duplex(c.ctx, req); err != nil {
		c.log.Warn("cannot bridge back to a duplex bridge's broker", "remote_broker", req.BrokerID, "url", req.URL, "err", err)
	}
}

func (c *conn) handleConnected(cmd wire.Command) (done bool, err error) {
	switch x := cmd.(type) {
	case *wire.Message:
		return false, c.onMessage(x)
	case *wire.MessageAck:
		return false, c.onAck(x)
	case *wire.ConsumerInfo:
		return false, c.onConsumerInfo(x)
	case *wire.ProducerInfo:
		if x.Destination != nil {
			// A JMS createProducer for a destination the user may not
			// write to fails there, as in ActiveMQ.
			d, err := destToCore(x.Destination)
			if err != nil {
				return false, err
			}
			if err := c.bc.MaySend(d); err != nil {
				return false, err
			}
		}
		if x.ProducerID != nil {
			c.addProducer(x)
		}
		return false, nil
	case *wire.MessagePull:
		return false, c.onPull(x)
	case *wire.TransactionInfo:
		return false, c.onTransaction(x)
	case *wire.DestinationInfo:
		return false, c.onDestinationInfo(x)
	case *wire.RemoveInfo:
		return c.onRemove(x)
	case *wire.RemoveSubscriptionInfo:
		return false, c.bc.DeleteDurable(c.ctx, x.SubscriptionName)
	}
	return false, fmt.Errorf("openwire: command type %d is not supported", cmd.DataType())
}

// answer sends the Response or ExceptionResponse the client asked for. An
// error on a command that wants no answer is logged.
func (c *conn) answer(cmd wire.Command, err error) {
	bc, ok := cmd.(wire.BaseCommand)
	if !ok || !bc.ResponseRequired() {
		switch {
		case errors.Is(err, auth.ErrNotAuthorized):
			// An asynchronous send refused: the client hears of it
			// through its exception listener (the guard logged it).
			c.send(&wire.ConnectionError{Exception: throwable(err)})
		case err != nil:
			c.log.Warn("command failed", "type", cmd.DataType(), "err", err)
		}
		return
	}
	// The read loop writes the answer itself when nothing else is being
	// written (netserve.Outbox.Write): a synchronous send's receipt
	// without the hand-over to the writer goroutine.
	if err != nil {
		c.out.Write(&wire.ExceptionResponse{CorrelationID: bc.CommandID(), Exception: throwable(err)})
		return
	}
	c.out.Write(&wire.Response{CorrelationID: bc.CommandID()})
}

// throwable maps core errors onto the JMS exception classes the client
// recreates (one place for every mapping).
func throwable(err error) *wire.Throwable {
	class := "javax.jms.JMSException"
	switch {
	case errors.Is(err, broker.ErrClientIDInUse):
		class = "javax.jms.InvalidClientIDException"
	case errors.Is(err, broker.ErrNoSuchTemp), errors.Is(err, broker.ErrTempNotOwner), errors.Is(err, broker.ErrNoSuchDurable),
		errors.Is(err, broker.ErrWildcardSend), errors.Is(err, message.ErrBadDestination):
		class = "javax.jms.InvalidDestinationException"
	case errors.Is(err, broker.ErrSelector):
		class = "javax.jms.InvalidSelectorException"
	case errors.Is(err, broker.ErrMemoryLimit), errors.Is(err, broker.ErrStoreFull):
		class = "javax.jms.ResourceAllocationException"
	case errors.Is(err, errTxRolledBack):
		class = "javax.jms.TransactionRolledBackException"
	case errors.Is(err, broker.ErrBadSchedule):
		class = "javax.jms.MessageFormatException"
	case errors.Is(err, auth.ErrAuthentication), errors.Is(err, auth.ErrNotAuthorized):
		// As ActiveMQ sends them; the JMS client raises JMSSecurityException.
		class = "java.lang.SecurityException"
	}
	return &wire.Throwable{Class: class, Message: err.Error()}
}

var errTxRolledBack = errors.New("transaction rolled back")

func (c *conn) onConnectionInfo(info *wire.ConnectionInfo) error {
	if c.bc != nil {
		return errors.New("openwire: this socket already carries a connection")
	}
	if info.ConnectionID == nil || info.ConnectionID.Value == "" {
		return errors.New("openwire: ConnectionInfo without a connection id")
	}
	cred := auth.Credentials{Username: info.UserName, Password: info.Password, Remote: c.nc.RemoteAddr().String(),
		Protocol: "openwire", Certificates: netserve.PeerCertificates(c.nc)}
	subject, err := c.srv.b.Authenticate(c.ctx, cred)
	if err != nil {
		return err
	}
	// Only now may the client's connection id close a stale connection
	// of its own (a failover client back before the broker noticed).
	c.connID = info.ConnectionID.Value
	c.srv.claim(c.connID, c)
	bc, err := c.srv.b.Connect(c.ctx, broker.ConnOptions{ClientID: info.ClientID, Subject: subject, Credentials: cred, Sink: c})
	if err != nil {
		c.srv.release(c.connID, c)
		return err
	}
	c.bc = bc
	if c.srv.cfg.Duplex != nil && bc.Subject().MayBridge() {
		// Kept for a duplex BrokerInfo that comes after the login: the
		// bridge back presents them.
		c.login.user, c.login.password = info.UserName, info.Password
	}
	if c.duplex != nil {
		c.duplex.Username, c.duplex.Password = info.UserName, info.Password
		c.bridgeBack()
	}
	c.faultTolerant.Store(info.FaultTolerant)
	manageable := info.Manageable
	c.pending = append(c.pending, func() { c.greetCluster(manageable) })
	return nil
}

func (c *conn) onMessage(m *wire.Message) error {
	cm, err := toCore(m, c.dec)
	if err != nil {
		return err
	}
	if err := c.bc.Send(c.ctx, cm, txKey(m.TransactionID)); err != nil {
		return err
	}
	if !m.ResponseRequired() && m.ProducerID != nil {
		var buf [96]byte
		if p := c.producers[string(m.ProducerID.Append(buf[:0]))]; p != nil && p.WindowSize > 0 {
			c.send(&wire.ProducerAck{ProducerID: m.ProducerID, Size: clientSize(m)})
		}
	}
	return nil
}

// clientSize is the size the Java client counts against its producer window
// for a message (ActiveMQMessage.getSize: a 1 KiB minimum plus properties
// and body); a ProducerAck gives that much back.
func clientSize(m *wire.Message) int32 {
	return int32(1024 + len(m.MarshalledProperties) + len(m.Content))
}

// txKey names a local transaction for the core ("" for none).
func txKey(id wire.TransactionID) string {
	if l, ok := id.(*wire.LocalTransactionID); ok && l != nil {
		conn := ""
		if l.ConnectionID != nil {
			conn = l.ConnectionID.Value
		}
		return "TX:" + conn + ":" + strconv.FormatInt(l.Value, 10)
	}
	return ""
}

func (c *conn) onTransaction(t *wire.TransactionInfo) error {
	if _, xa := t.TransactionID.(*wire.XATransactionID); xa {
		return errors.New("openwire: XA transactions are not supported")
	}
	key := txKey(t.TransactionID)
	if key == "" {
		return errors.New("openwire: TransactionInfo without a transaction id")
	}
	switch t.Type {
	case wire.TxBegin:
		return c.bc.Begin(key)
	case wire.TxCommitOnePhase:
		acks := c.txAcks[key]
		delete(c.txAcks, key)
		if err := c.bc.Commit(c.ctx, key); err != nil {
			return fmt.Errorf("%w: %w", errTxRolledBack, err)
		}
		for _, a := range acks {
			a.cons.forget(a.tags)
		}
		return nil
	case wire.TxRollback:
		delete(c.txAcks, key)
		// The JMS client redelivers what it consumed itself; the messages
		// stay with its consumers (as in ActiveMQ).
		if err := c.bc.Abort(key, false); err != nil && !errors.Is(err, broker.ErrNoSuchTx) {
			return err
		}
		return nil
	case wire.TxEnd, wire.TxForget:
		return nil
	}
	return fmt.Errorf("openwire: transaction operation %d is not supported (XA)", t.Type)
}

func (c *conn) onDestinationInfo(d *wire.DestinationInfo) error {
	if d.Destination == nil || !d.Destination.IsTemporary() {
		return nil // ordinary destinations exist on demand
	}
	dest, err := destToCore(d.Destination)
	if err != nil {
		return err
	}
	if d.OperationType == wire.DestinationAdd {
		_, err = c.bc.TempDestination(dest.Kind, dest.Name)
		return err
	}
	if err := c.bc.DeleteTemp(dest); err != nil && !errors.Is(err, broker.ErrNoSuchTemp) {
		return err
	}
	return nil
}

func (c *conn) onRemove(r *wire.RemoveInfo) (done bool, err error) {
	// The client says which dispatch it last handed to the application
	// (we set BrokerSequenceID to the delivery tag); later ones sat in its
	// prefetch buffer and are not redeliveries.
	seen := broker.AllSeen
	if r.LastDeliveredSequenceID >= 0 {
		seen = uint64(r.LastDeliveredSequenceID)
	}
	switch id := r.ObjectID.(type) {
	case *wire.ConsumerID:
		return false, c.removeConsumer(id.String(), seen)
	case *wire.SessionID:
		c.removeSessionProducers(id)
		for _, key := range c.consumersOfSession(id) {
			if err := c.removeConsumer(key, seen); err != nil {
				return false, err
			}
		}
		return false, nil
	case *wire.ProducerID:
		c.removeProducer(id.String())
		return false, nil
	case *wire.ConnectionID:
		c.bc.CloseAfter(seen)
		return false, nil
	}
	return false, errors.New("openwire: RemoveInfo for an unknown kind of object")
}
