package client

import (
	"slices"
	"sync"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// tracker records, from the commands a Conn sends, the broker-side state
// that a new socket would need to be given again: the connection, its
// temporary destinations, sessions with their producers and consumers, and
// open local transactions with their sends. It is ActiveMQ's
// ConnectionStateTracker; replay returns the commands in its order.
// In-flight synchronous requests are not here: the Conn's correlator holds
// them (Java's failover requestMap) and resends them with their ids.
type tracker struct {
	mu struct {
		sync.Mutex
		conn     *wire.ConnectionInfo
		temps    []*wire.DestinationInfo
		sessions []*sessionState
		txs      []*txState
	}
}

type sessionState struct {
	info      *wire.SessionInfo
	producers []*wire.ProducerInfo
	consumers []*wire.ConsumerInfo
}

type txState struct {
	id        *wire.LocalTransactionID
	begin     *wire.TransactionInfo
	sends     []*wire.Message
	committed bool // a COMMIT_ONE_PHASE is in flight
}

// track updates the state from one outgoing command.
func (t *tracker) track(cmd wire.Command) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch x := cmd.(type) {
	case *wire.ConnectionInfo:
		t.mu.conn = x
	case *wire.SessionInfo:
		t.mu.sessions = append(t.mu.sessions, &sessionState{info: x})
	case *wire.ProducerInfo:
		if s := t.session(x.ProducerID.SessionID); s != nil {
			s.producers = append(s.producers, x)
		}
	case *wire.ConsumerInfo:
		// The advisory consumer (session -1) has no SessionInfo; keep it
		// under a pseudo session so it is replayed too.
		s := t.session(x.ConsumerID.SessionID)
		if s == nil {
			s = &sessionState{}
			if x.ConsumerID.SessionID == -1 {
				t.mu.sessions = append(t.mu.sessions, s)
			}
		}
		s.consumers = append(s.consumers, x)
	case *wire.DestinationInfo:
		t.trackDest(x)
	case *wire.TransactionInfo:
		t.trackTx(x)
	case *wire.Message:
		if tx := t.tx(x.TransactionID); tx != nil {
			tx.sends = append(tx.sends, x)
		}
	case *wire.RemoveInfo:
		t.trackRemove(x)
	}
}

func (t *tracker) trackDest(x *wire.DestinationInfo) {
	if x.Destination == nil || !x.Destination.IsTemporary() {
		return
	}
	t.mu.temps = slices.DeleteFunc(t.mu.temps, func(d *wire.DestinationInfo) bool {
		return *d.Destination == *x.Destination
	})
	if x.OperationType == wire.DestinationAdd {
		t.mu.temps = append(t.mu.temps, x)
	}
}

func (t *tracker) trackTx(x *wire.TransactionInfo) {
	id, ok := x.TransactionID.(*wire.LocalTransactionID)
	if !ok {
		return
	}
	switch x.Type {
	case wire.TxBegin:
		t.mu.txs = append(t.mu.txs, &txState{id: id, begin: x})
	case wire.TxCommitOnePhase:
		if tx := t.tx(id); tx != nil {
			tx.committed = true
		}
	case wire.TxRollback:
		t.mu.txs = slices.DeleteFunc(t.mu.txs, func(s *txState) bool { return s.id.Value == id.Value })
	}
}

// txDone forgets a transaction once its commit was answered.
func (t *tracker) txDone(id *wire.LocalTransactionID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.txs = slices.DeleteFunc(t.mu.txs, func(s *txState) bool { return s.id.Value == id.Value })
}

func (t *tracker) trackRemove(x *wire.RemoveInfo) {
	switch id := x.ObjectID.(type) {
	case *wire.ConnectionID:
		t.mu.conn, t.mu.temps, t.mu.sessions, t.mu.txs = nil, nil, nil, nil
	case *wire.SessionID:
		t.mu.sessions = slices.DeleteFunc(t.mu.sessions, func(s *sessionState) bool {
			return s.info != nil && s.info.SessionID.Value == id.Value
		})
	case *wire.ProducerID:
		if s := t.session(id.SessionID); s != nil {
			s.producers = slices.DeleteFunc(s.producers, func(p *wire.ProducerInfo) bool {
				return *p.ProducerID == *id
			})
		}
	case *wire.ConsumerID:
		for _, s := range t.mu.sessions {
			s.consumers = slices.DeleteFunc(s.consumers, func(c *wire.ConsumerInfo) bool {
				return *c.ConsumerID == *id
			})
		}
	}
}

func (t *tracker) session(id int64) *sessionState {
	for _, s := range t.mu.sessions {
		if s.info != nil && s.info.SessionID.Value == id || s.info == nil && id == -1 {
			return s
		}
	}
	return nil
}

func (t *tracker) tx(id wire.TransactionID) *txState {
	l, ok := id.(*wire.LocalTransactionID)
	if !ok || l == nil {
		return nil
	}
	for _, s := range t.mu.txs {
		if s.id.Value == l.Value {
			return s
		}
	}
	return nil
}

// replay returns the commands that restore the tracked state on a new
// socket, in ConnectionStateTracker.restore's order: ConnectionInfo
// (marked failoverReconnect), temporary destinations, each session with
// its producers and consumers, then each open transaction's BEGIN and
// sends. Commands keep their original ids and responseRequired flags. A
// transaction whose commit was in flight is not replayed: its outcome is
// unknown and the caller must report it as rolled back (returned in
// inDoubt).
func (t *tracker) replay() (cmds []wire.Command, inDoubt []*wire.LocalTransactionID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.conn == nil {
		return nil, nil
	}
	ci := *t.mu.conn
	ci.FailoverReconnect = true
	cmds = append(cmds, &ci)
	for _, d := range t.mu.temps {
		cmds = append(cmds, d)
	}
	for _, s := range t.mu.sessions {
		if s.info != nil {
			cmds = append(cmds, s.info)
		}
		for _, p := range s.producers {
			cmds = append(cmds, p)
		}
		for _, c := range s.consumers {
			cmds = append(cmds, c)
		}
	}
	for _, tx := range t.mu.txs {
		if tx.committed {
			inDoubt = append(inDoubt, tx.id)
			continue
		}
		cmds = append(cmds, tx.begin)
		for _, m := range tx.sends {
			cmds = append(cmds, m)
		}
	}
	return cmds, inDoubt
}
