package raftlog

import (
	"fmt"
	"sync"
)

// Background syncing (Options.Async).
//
// A Raft leader need not have its own copy of an entry on disk before it
// sends the entry to its followers: the leader's fsync can run while the
// followers write theirs, so a commit waits for one sync, not two in a row
// (etcd-io/raft's asynchronous storage writes). hashicorp/raft writes the
// leader's log (StoreLogs) before it replicates; with Async answering true,
// StoreLogs writes and returns, and a goroutine of the log syncs behind it.
// Durable tells how far the log is synced; WaitDurable waits for it. What
// that asks of the log's user, to stay safe, is in docs/replication.md.
type syncState struct {
	mu      sync.Mutex
	cond    sync.Cond // WaitDurable waits on it: durable, err or closed changed
	work    sync.Cond // the syncer waits on it: pending or closed changed
	pending *segment  // holds entries written but not synced, or nil
	target  uint64    // the last index written to pending
	durable uint64    // every entry up to it is synced
	gen     uint64    // raised when entries are deleted from the end
	err     error     // a background sync failed (wraps ErrFailed)
	closed  bool
	done    chan struct{} // closed when the syncer has returned; nil: none
}

// Durable returns the index up to which every entry is synced.
func (l *Log) Durable() uint64 {
	l.sy.mu.Lock()
	defer l.sy.mu.Unlock()
	return l.sy.durable
}

// WaitDurable waits until every entry up to index is synced. It reports
// false if the log failed or was closed first.
func (l *Log) WaitDurable(index uint64) bool {
	l.sy.mu.Lock()
	defer l.sy.mu.Unlock()
	for l.sy.durable < index && l.sy.err == nil && !l.sy.closed {
		l.sy.cond.Wait()
	}
	return l.sy.durable >= index
}

// startSyncer starts the background syncer when the log has Options.Async.
func (l *Log) startSyncer() {
	l.sy.cond.L = &l.sy.mu
	l.sy.work.L = &l.sy.mu
	if l.opts.Async == nil || l.opts.ReadOnly {
		return
	}
	l.sy.done = make(chan struct{})
	go l.syncer()
}

// syncer syncs the pending segment whenever entries are written to it.
func (l *Log) syncer() {
	defer close(l.sy.done)
	for {
		l.sy.mu.Lock()
		for !l.sy.closed && l.sy.pending == nil {
			l.sy.work.Wait()
		}
		if l.sy.closed {
			l.sy.mu.Unlock()
			return
		}
		s, target, gen := l.sy.pending, l.sy.target, l.sy.gen
		l.sy.mu.Unlock()

		// fileMu keeps the file open while it is synced; a segment
		// that left meanwhile is not pending any more.
		l.fileMu.Lock()
		l.sy.mu.Lock()
		still := l.sy.pending == s
		l.sy.mu.Unlock()
		var err error
		if still {
			err = s.f.Sync()
		}
		l.fileMu.Unlock()

		l.sy.mu.Lock()
		if err != nil {
			l.sy.err = fmt.Errorf("%w: sync segment %d: %w", ErrFailed, s.num, err)
			l.sy.cond.Broadcast()
			l.sy.mu.Unlock()
			l.report(l.sy.err)
			return
		}
		if still && l.opts.OnSync != nil {
			l.opts.OnSync()
		}
		if still && gen == l.sy.gen {
			l.sy.durable = max(l.sy.durable, target)
			if l.sy.pending == s && l.sy.target == target {
				l.sy.pending = nil
			}
		}
		l.sy.cond.Broadcast()
		l.sy.mu.Unlock()
	}
}

// written records that entries up to last were written to s: synced
// (durable now) or left for the syncer. Each wakes only its own waiters: a
// follower's synced write must not wake the syncer for nothing (a wake-up
// per entry, ~5% of a follower's CPU).
func (l *Log) written(s *segment, last uint64, synced bool) {
	l.sy.mu.Lock()
	defer l.sy.mu.Unlock()
	if synced {
		l.sy.durable = max(l.sy.durable, last)
		if l.sy.pending == s {
			l.sy.pending = nil // the sync covered what was pending in s
		}
		l.sy.cond.Broadcast()
		return
	}
	l.sy.pending, l.sy.target = s, last
	l.sy.work.Signal()
}

// flushPending syncs what the syncer has not synced yet, in the caller's
// goroutine; wmu is held (so nothing is written meanwhile).
func (l *Log) flushPending() error {
	l.sy.mu.Lock()
	s, target := l.sy.pending, l.sy.target
	l.sy.mu.Unlock()
	if s == nil {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return l.fail(fmt.Errorf("sync segment %d: %w", s.num, err))
	}
	l.synced()
	l.written(s, target, true)
	return nil
}

// truncated lowers the durable index after the entries from `from` on
// were deleted; wmu is held and nothing is pending.
func (l *Log) truncated(from uint64) {
	l.sy.mu.Lock()
	defer l.sy.mu.Unlock()
	l.sy.gen++
	l.sy.durable = min(l.sy.durable, from-1)
}

// synced tells Options.OnSync of a sync of entries.
func (l *Log) synced() {
	if l.opts.OnSync != nil {
		l.opts.OnSync()
	}
}

// syncErr returns the background syncer's failure, if any.
func (l *Log) syncErr() error {
	l.sy.mu.Lock()
	defer l.sy.mu.Unlock()
	return l.sy.err
}

// closeFile closes a segment's file once the syncer is not syncing it.
func (l *Log) closeFile(s *segment) error {
	l.releaseFile(s)
	return s.f.Close()
}

// releaseFile makes the syncer forget s, whose file the caller then owns
// (a deleted segment: its file is closed, or kept for reuse).
func (l *Log) releaseFile(s *segment) {
	l.fileMu.Lock()
	defer l.fileMu.Unlock()
	l.sy.mu.Lock()
	if l.sy.pending == s {
		l.sy.pending = nil
	}
	l.sy.mu.Unlock()
}

// stopSyncer stops the syncer and waits for it.
func (l *Log) stopSyncer() {
	l.sy.mu.Lock()
	l.sy.closed = true
	l.sy.cond.Broadcast()
	l.sy.work.Broadcast()
	l.sy.mu.Unlock()
	if l.sy.done != nil {
		<-l.sy.done
	}
}
