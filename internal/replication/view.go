package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store"
)

// Store returns the store.Store the master's broker writes through: reads
// (Recover, Scan, Usage) come from the local journal, Apply goes through
// the Raft log and returns once a quorum has the batch fsynced and this
// replica has applied it. It is also the server's gate (Await, Handoff):
// the replica serves while it is the leader. Its Close closes the Node.
func (n *Node) Store() store.Store { return view{n} }

type view struct{ n *Node }

// Await implements server.Gate.
func (v view) Await(ctx context.Context) (context.Context, error) { return v.n.Await(ctx) }

// Handoff implements server.Gate.
func (v view) Handoff() error { return v.n.Handoff() }

// applyTimeout bounds the wait for the Raft leader loop to take a batch;
// a leader without quorum steps down well before.
const applyTimeout = 10 * time.Second

func (v view) Recover(ctx context.Context) (*store.State, error) {
	return v.n.fsm.journal().Recover(ctx)
}

func (v view) Apply(ctx context.Context, b *store.Batch) error {
	if len(b.Ops) == 0 {
		return nil
	}
	if lim := v.n.cfg.SizeLimit; lim > 0 {
		var add int64
		for i := range b.Ops {
			if b.Ops[i].Kind == store.OpAdd {
				add += int64(b.Ops[i].Msg.Size())
			}
		}
		if add > 0 && v.n.fsm.journal().Usage().Bytes+add > lim {
			return store.ErrFull
		}
	}
	data, err := encodeBatch(b)
	if err != nil {
		return err
	}
	f := v.n.raft.Apply(data, applyTimeout)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, raft.ErrEnqueueTimeout):
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
	return v.n.fsm.journal().Scan(ctx, dest, after, max, maxBytes)
}

func (v view) Usage() store.Usage {
	u := v.n.fsm.journal().Usage()
	u.Limit = v.n.cfg.SizeLimit
	return u
}

func (v view) Close() error { return v.n.Close() }
