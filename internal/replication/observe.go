package replication

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
)

// The group's state changes, one INFO line each: whom this member follows
// (at every change of leader), a master lost, a member that stops
// answering the leader and comes back (the heartbeat errors in between
// are held back, see repeats), and a member catching up with the group
// (catchUp). Becoming and no longer being master are logged by setLeader.

// observe follows raft's observations until the node closes.
func (n *Node) observe(ch <-chan raft.Observation) {
	defer n.wg.Done()
	for {
		select {
		case o := <-ch:
			switch d := o.Data.(type) {
			case raft.LeaderObservation:
				n.leaderChanged(d)
			case raft.ResumedHeartbeatObservation:
				n.memberBack(string(d.PeerID))
			}
		case <-n.quit:
			return
		}
	}
}

// observed reports whether an observation is one observe wants.
func observed(o *raft.Observation) bool {
	switch o.Data.(type) {
	case raft.LeaderObservation, raft.ResumedHeartbeatObservation:
		return true
	}
	return false
}

// leaderChanged logs whom this member follows, or that the group has no
// master; it notes when a master was lost, from which a takeover counts.
func (n *Node) leaderChanged(o raft.LeaderObservation) {
	id := string(o.LeaderID)
	n.mu.Lock()
	prev := n.mu.leader
	n.mu.leader = id
	switch {
	case id == "" && prev != "" && prev != n.cfg.NodeID:
		n.mu.lostAt = time.Now()
	case id != "" && id != n.cfg.NodeID:
		n.mu.seenMaster, n.mu.followedAt = true, time.Now()
	}
	n.mu.Unlock()
	if n.closed.Load() {
		return
	}
	switch {
	case id == n.cfg.NodeID:
		// setLeader says so once the notification arrives.
	case id != "":
		n.log.Info("following", "master", id, "master_addr", string(o.LeaderAddr), "term", n.raft.CurrentTerm())
	case prev != "" && prev != n.cfg.NodeID:
		n.log.Info("master lost; electing a new one", "last_master", prev)
	}
}

// memberBack logs a member that answers the leader again after failing
// to, with how long it was away.
func (n *Node) memberBack(id string) {
	ok, since, failed := n.repeats.resetPeer(id)
	if !ok {
		return
	}
	n.log.Info("member answers again", "peer", id, "away", time.Since(since).Round(time.Millisecond).String(),
		"failed_heartbeats", failed)
}

// TakeoverStart reports when the takeover that made this member master
// began: when it saw the previous master go (or, if it did not see that,
// when it was elected), and whether there was a previous master at all
// (false on the first start of a group: that is a start, not a takeover).
func (n *Node) TakeoverStart() (time.Time, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	from := n.mu.electedAt
	if lost := n.mu.lostAt; !lost.IsZero() && lost.Before(from) && !lost.Before(n.mu.followedAt) {
		from = lost
	}
	return from, n.mu.seenMaster
}

// catchUpEvery is how often a follower compares its applied index with
// the master's commit index; catchUpMin how far behind it must be to say
// it is catching up.
const (
	catchUpEvery = 2 * time.Second
	catchUpMin   = 1000
)

// catchUp logs when this follower starts catching up with the master (it
// is more than catchUpMin entries behind the master's commit index) and
// when it has caught up, with how far behind it was and how long it took.
func (n *Node) catchUp() {
	defer n.wg.Done()
	t := time.NewTicker(catchUpEvery)
	defer t.Stop()
	var since time.Time // non-zero while catching up
	var from uint64     // the applied index when catching up began
	for {
		select {
		case <-t.C:
		case <-n.quit:
			return
		}
		r := n.ready.Load()
		if r == nil || r.State() != raft.Follower {
			since = time.Time{}
			continue
		}
		addr, id := r.LeaderWithID()
		if addr == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := QueryStatus(ctx, string(addr), n.cfg.TLS)
		cancel()
		if err != nil {
			continue
		}
		applied := r.AppliedIndex()
		var behind uint64
		if st.CommitIndex > applied {
			behind = st.CommitIndex - applied
		}
		switch {
		case since.IsZero() && behind > catchUpMin:
			since, from = time.Now(), applied
			n.log.Info("catching up", "master", string(id), "behind", behind, "applied", applied, "master_commit", st.CommitIndex)
		case !since.IsZero() && behind <= catchUpMin/10:
			n.log.Info("caught up", "master", string(id), "entries", applied-from,
				"took", time.Since(since).Round(time.Millisecond).String())
			since = time.Time{}
		}
	}
}
