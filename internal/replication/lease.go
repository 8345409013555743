package replication

import (
	"time"
)

// The lease guard. Raft's leader steps down when it has not heard from a
// quorum for LeaderLeaseTimeout, but only when its own goroutines run: a
// leader that was paused (SIGSTOP, a VM stall, a long GC) for longer than an
// election takes, and then resumes, still believes it leads for the moment
// it takes Raft to notice — long enough to accept a connection or answer
// /readyz. The guard closes that gap: a goroutine notes the time every
// guardTick; Valid is false whenever that note is stale (the process has
// been stalled, whatever runs first after resuming), and after a stall it
// stays false until Raft confirms leadership with a quorum (a committed
// barrier, see reverify).

// stallLimit is the longest gap between guard ticks that is not a stall:
// well under the heartbeat timeout, the shortest time in which the others
// can elect a new leader.
func (n *Node) stallLimit() time.Duration { return n.cfg.HeartbeatTimeout / 4 }

// guardTick is how often the guard notes the time: at most 20 ms, and often
// enough that a few ticks fit in the stall limit.
func (n *Node) guardTick() time.Duration { return min(20*time.Millisecond, n.stallLimit()/4) }

// guard runs the guard goroutine.
func (n *Node) guard() {
	defer n.wg.Done()
	t := time.NewTicker(n.guardTick())
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-t.C:
		case <-n.quit:
			return
		}
		now := time.Now()
		if now.Sub(last) > n.stallLimit() {
			n.suspect.Store(true)
			n.log.Warn("this process stalled; serving only once leadership is confirmed",
				"stalled", now.Sub(last).Round(time.Millisecond).String())
			n.wg.Add(1)
			go n.reverify()
		}
		n.lastTick.Store(now.UnixNano())
		last = now
	}
}

// reverify asks Raft to confirm leadership with a quorum after a stall,
// by committing a barrier entry: a quorum must acknowledge an entry
// appended after the stall. (VerifyLeader is not enough: a heartbeat
// answer that arrived during the stall, from before the others elected a
// new leader, is read after it and counts as a confirmation; a paused
// master test caught the resumed old master answering /readyz 200 that
// way.)
func (n *Node) reverify() {
	defer n.wg.Done()
	if !n.verifying.CompareAndSwap(false, true) {
		return
	}
	defer n.verifying.Store(false)
	for {
		r := n.ready.Load()
		if r == nil {
			return
		}
		closed, err := n.wait(r.Barrier(n.cfg.HeartbeatTimeout))
		if closed {
			return
		}
		if err == nil {
			n.suspect.Store(false)
			return
		}
		// Not the leader (or shutting down): Raft steps down and ends the
		// span; a later election clears the suspicion (setLeader).
		select {
		case <-n.quit:
			return
		case <-time.After(n.guardTick()):
		}
		n.mu.Lock()
		leader := n.mu.term != nil
		n.mu.Unlock()
		if !leader {
			return
		}
	}
}

// Valid reports whether this replica may serve clients at this instant:
// it is the leader, it has not stalled since Raft last confirmed that, and
// its guard is current.
func (n *Node) Valid() bool {
	n.mu.Lock()
	leader := n.mu.term != nil && n.mu.term.Err() == nil
	n.mu.Unlock()
	return leader && !n.suspect.Load() &&
		time.Since(time.Unix(0, n.lastTick.Load())) <= n.stallLimit()
}
