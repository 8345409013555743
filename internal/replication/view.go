package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/journal"
)

// Store returns the store.Store the master's broker writes through: reads
// (Recover, Scan, Usage) come from the local journal, Apply goes through
// the Raft log and returns once a quorum has the batch fsynced and this
// replica has applied it. The Node itself is the server's gate (it serves
// while it is the leader). Its Close closes the Node.
func (n *Node) Store() store.Store { return view{n} }

type view struct{ n *Node }

// applyTimeout bounds the wait for the Raft leader loop to take a batch;
// a leader without quorum steps down well before.
const applyTimeout = 10 * time.Second

// journal returns the local journal, or nil once the node is closed.
func (v view) journal() *journal.Store {
	if v.n.closed.Load() {
		return nil
	}
	return v.n.fsm.journal()
}

func (v view) Recover(ctx context.Context) (*store.State, error) {
	js := v.journal()
	if js == nil {
		return nil, store.ErrClosed
	}
	st, err := js.Recover(ctx)
	if st != nil {
		st.Mark = 0 // the replica's own: the log index applied
	}
	return st, err
}

func (v view) Apply(ctx context.Context, b *store.Batch) error {
	js := v.journal()
	if js == nil {
		return store.ErrClosed
	}
	if len(b.Ops) == 0 {
		return nil
	}
	data, add, err := encodeBatch(b)
	if err != nil {
		return err
	}
	if lim := v.n.cfg.SizeLimit; lim > 0 && add > 0 && js.Usage().Bytes+add > lim {
		return store.ErrFull
	}
	start := time.Now()
	if err := v.n.prop.propose(data, b.NoSync); err != nil {
		return err
	}
	v.n.cfg.Meter.Committed(time.Since(start))
	return nil
}

// applyEntry hands one entry to Raft and waits until a quorum has it and
// this replica has applied it.
func (n *Node) applyEntry(data []byte) error {
	f := n.raft.Apply(data, applyTimeout)
	closed, err := n.wait(f)
	if closed {
		return store.ErrClosed
	}
	if err != nil {
		switch {
		case n.closed.Load():
			return store.ErrClosed
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, raft.ErrEnqueueTimeout),
			errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return fmt.Errorf("%w: %v", ErrNotMaster, err)
		case errors.Is(err, raft.ErrLeadershipLost):
			return ErrUnknown
		}
		return err
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return err
	}
	return nil
}

func (v view) Scan(ctx context.Context, dest string, after uint64, max int, maxBytes int64) ([]store.Record, error) {
	js := v.journal()
	if js == nil {
		return nil, store.ErrClosed
	}
	return js.Scan(ctx, dest, after, max, maxBytes)
}

func (v view) Usage() store.Usage {
	js := v.journal()
	if js == nil {
		return store.Usage{Limit: v.n.cfg.SizeLimit}
	}
	u := js.Usage()
	u.Limit = v.n.cfg.SizeLimit
	return u
}

func (v view) Close() error {
	if v.n.closed.Load() {
		return store.ErrClosed
	}
	return v.n.Close()
}
