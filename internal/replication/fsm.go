package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/journal"
	"github.com/piermq/pier/internal/store/vfs"
)

// fsm is the Raft state machine: a local journal store to which committed
// entries are applied, in log order, on every replica.
//
// The journal records the index of the last entry applied (store.Batch.Mark)
// atomically with the entry's changes, so after a restart the entries it
// already holds are skipped: Raft replays from its last snapshot, and the
// journal may be ahead of that. Entries are applied without their own fsync
// (the Raft log is the durable copy); the journal syncs within milliseconds
// and always before a snapshot lets Raft drop log entries.
type fsm struct {
	dir   string // the journal's directory
	fs    vfs.FS
	jopts journal.Options
	log   *slog.Logger
	jlog  *slog.Logger // the journal's (it names its component itself)
	fatal func(error)  // called once the journal cannot go on

	mu sync.RWMutex // held for writing while js is replaced (Restore)
	js *journal.Store

	// mark is the index of the last entry the journal holds; entries up to
	// it are skipped. Owned by the FSM goroutine (and Open before it).
	mark uint64
	// applied is the index of the last entry handled (applied or skipped).
	applied atomic.Uint64
	// failed is set once the journal failed: nothing more is applied.
	failed error
	// waitDurable waits until the Raft log holds every entry up to an
	// index on disk (raftlog.Log.WaitDurable); nil: it always does.
	waitDurable func(index uint64) bool
}

var (
	_ raft.BatchingFSM = (*fsm)(nil)
	// errLogClosed: the Raft log failed or closed before the entries it
	// holds were synced; the replica is stopping.
	errLogClosed = errors.New("the Raft log failed or closed before they were synced")
)

// openFSM opens (recovering) the journal in dir; log is the FSM's, jlog
// the journal's.
func openFSM(ctx context.Context, dir string, fsys vfs.FS, jopts journal.Options, log, jlog *slog.Logger, fatal func(error)) (*fsm, error) {
	js, err := journal.Open(ctx, dir, fsys, jopts, jlog)
	if err != nil {
		return nil, err
	}
	st, err := js.Recover(ctx)
	if err != nil {
		js.Close()
		return nil, err
	}
	f := &fsm{dir: dir, fs: fsys, jopts: jopts, log: log, jlog: jlog, fatal: fatal, js: js, mark: st.Mark}
	f.applied.Store(st.Mark)
	return f, nil
}

// journal returns the current journal store.
func (f *fsm) journal() *journal.Store {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.js
}

// maxApplyBytes bounds how many bytes of entries are applied as one
// journal batch.
const maxApplyBytes = 8 << 20

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM: consecutive entries are written to
// the journal as one batch. A response is nil or an error.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	resp := make([]any, len(logs))
	if f.failed != nil {
		for i := range resp {
			resp[i] = f.failed
		}
		return resp
	}
	// A leader's own copy of an entry may still be on its way to disk
	// when a follower's answer commits it (clamp.go): apply nothing that
	// is not on a quorum's disks.
	if last := logs[len(logs)-1].Index; f.waitDurable != nil && !f.waitDurable(last) {
		f.failed = fmt.Errorf("replication: entries up to %d not applied: %w", last, errLogClosed)
		for i := range resp {
			resp[i] = f.failed
		}
		return resp
	}
	var ops []store.Op
	var size int
	from := 0 // first entry of the pending batch
	flush := func(upto int, mark uint64) {
		if mark <= f.mark {
			return
		}
		err := f.journal().Apply(context.Background(), &store.Batch{Ops: ops, Mark: mark, NoSync: true})
		if err != nil {
			err = fmt.Errorf("replication: apply entries up to %d to the journal: %w", mark, err)
			for i := from; i < len(resp); i++ {
				if resp[i] == nil {
					resp[i] = err
				}
			}
			f.failed = err
			f.fatal(err)
			return
		}
		f.mark = mark
		ops, size, from = ops[:0], 0, upto
	}
	for i, l := range logs {
		if l.Index > f.mark && l.Type == raft.LogCommand {
			n := len(ops)
			var err error
			if ops, err = decodeBatch(ops, l.Data); err != nil {
				// Every replica decodes the same bytes the same way:
				// the entry is refused everywhere, nothing of it applied.
				ops = ops[:n]
				resp[i] = err
				f.log.Error("log entry refused", "index", l.Index, "err", err)
			}
			size += len(l.Data)
		}
		if size >= maxApplyBytes {
			flush(i+1, l.Index)
		}
		if f.failed != nil {
			return resp
		}
	}
	if last := logs[len(logs)-1].Index; len(ops) > 0 || last > f.mark {
		flush(len(logs), last)
	}
	f.applied.Store(max(f.applied.Load(), logs[len(logs)-1].Index))
	return resp
}

// sync makes everything the journal holds durable, with the current mark.
func (f *fsm) sync(ctx context.Context) error {
	return f.journal().Apply(ctx, &store.Batch{Mark: f.mark})
}

// Snapshot implements raft.FSM. It runs on the FSM goroutine, between
// applies: it syncs the journal (so the log entries a snapshot lets Raft
// drop are durable in it) and captures what to write. The content is read
// by Persist while entries go on being applied, so it may include changes
// of entries after the snapshot's index; that is harmless because every
// operation is a blind write (add, remove, put, delete, raise a mark), so
// replaying those entries over it yields the same state.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	ctx := context.Background()
	if err := f.sync(ctx); err != nil {
		return nil, err
	}
	js := f.journal()
	st, err := js.Recover(ctx)
	if err != nil {
		return nil, err
	}
	return &snapshot{js: js, state: st, index: f.mark}, nil
}

// Restore implements raft.FSM: the journal is emptied and refilled from a
// snapshot (written by snapshot.Persist).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	ctx := context.Background()
	if f.js != nil {
		if err := f.js.Close(); err != nil {
			f.log.Warn("closing the journal before a restore", "err", err)
		}
		f.js = nil
	}
	if err := f.wipe(); err != nil {
		return err
	}
	jopts := f.jopts
	js, err := journal.Open(ctx, f.dir, f.fs, jopts, f.jlog)
	if err != nil {
		return fmt.Errorf("replication: reopen the journal for a restore: %w", err)
	}
	f.js = js
	index, err := readSnapshot(ctx, rc, js)
	if err != nil {
		// The journal holds part of a snapshot and mark 0: a restart
		// restores the snapshot again.
		return fmt.Errorf("replication: restore snapshot: %w", err)
	}
	f.mark = index
	f.applied.Store(index)
	f.log.Info("restored from a snapshot", "index", index)
	return nil
}

// wipe removes every file of the journal directory.
func (f *fsm) wipe() error {
	names, err := f.fs.ReadDir(f.dir)
	if err != nil {
		return fmt.Errorf("replication: wipe journal: %w", err)
	}
	for _, n := range names {
		if err := f.fs.Remove(filepath.Join(f.dir, n)); err != nil {
			return fmt.Errorf("replication: wipe journal: %w", err)
		}
	}
	return f.fs.SyncDir(f.dir)
}

// close closes the journal.
func (f *fsm) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.js == nil {
		return nil
	}
	err := f.js.Close()
	f.js = nil
	return err
}
