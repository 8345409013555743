package replication

import "github.com/hashicorp/raft"

// The leader's own log is synced behind its writes (raftlog.Options.Async,
// docs/replication.md): the leader replicates an entry while it syncs it,
// and counts itself towards the quorum as soon as it has written it. So
// the commit index Raft computes may run ahead of what is on a quorum's
// disks by the leader's pending sync. Nothing may act on such an entry:
// the leader's state machine waits until its own copy is synced (fsm,
// WaitDurable), and clampTransport tells the followers no commit index
// beyond what the leader has synced, so they apply an entry only once it
// is on the leader's disk and on the follower's whose answer committed it.

// clampTransport is the Raft transport with the commit index that the
// leader sends (AppendEntries and heartbeats) held to its synced log.
type clampTransport struct {
	*raft.NetworkTransport
	durable func() uint64
}

func (t clampTransport) clamp(args *raft.AppendEntriesRequest) {
	args.LeaderCommitIndex = min(args.LeaderCommitIndex, t.durable())
}

// AppendEntries implements raft.Transport.
func (t clampTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest,
	resp *raft.AppendEntriesResponse) error {
	t.clamp(args)
	return t.NetworkTransport.AppendEntries(id, target, args, resp)
}

// AppendEntriesPipeline implements raft.Transport.
func (t clampTransport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	p, err := t.NetworkTransport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	return clampPipeline{p, t}, nil
}

type clampPipeline struct {
	raft.AppendPipeline
	t clampTransport
}

// AppendEntries implements raft.AppendPipeline.
func (p clampPipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	p.t.clamp(args)
	return p.AppendPipeline.AppendEntries(args, resp)
}

var (
	_ raft.Transport = clampTransport{}
	_ raft.WithClose = clampTransport{}
)
