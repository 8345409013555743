package replication

import (
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/replication/raftlog"
	"github.com/piermq/pier/internal/store"
)

// Metrics is what a replica reports for /metrics.
type Metrics struct {
	Status
	Members int // voters of the group, this one included
	// SinceContact is how long ago a follower last heard from its leader
	// (0 on the leader, or before any contact).
	SinceContact time.Duration
	// Followers are, on the leader, the other members as it last polled
	// them (every few seconds); empty on the others.
	Followers []Follower
}

// Follower is another member as the leader last polled it.
type Follower struct {
	ID string
	Up bool // it answered the poll
	// LastIndex is the last entry of its Raft log, and Lag how many
	// entries the leader's log was ahead of that, when it answered.
	LastIndex uint64
	Lag       uint64
}

// pollFresh is how old a poll may be to be reported: a leader polls every
// member every 3 s, and a member that does not answer takes a second more.
const pollFresh = 10 * time.Second

// peerPolls keeps the last poll of every other member.
type peerPolls struct {
	mu   sync.Mutex
	last map[string]peerPoll
}

type peerPoll struct {
	at       time.Time
	follower Follower
}

// polled records a member's answer to a status poll (err: none).
func (n *Node) polled(id string, st Status, err error) {
	f := Follower{ID: id, Up: err == nil}
	if err == nil {
		f.LastIndex = st.LastIndex
		if r := n.ready.Load(); r != nil {
			f.Lag = max(r.LastIndex(), st.LastIndex) - st.LastIndex
		}
	}
	p := &n.peers
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]peerPoll{}
	}
	p.last[id] = peerPoll{at: time.Now(), follower: f}
}

// Metrics reports this replica's state, and on the leader its followers'.
func (n *Node) Metrics() Metrics {
	m := Metrics{Status: n.Status(), Members: len(n.cfg.Peers)}
	r := n.ready.Load()
	if r == nil {
		return m
	}
	if r.State() != raft.Leader {
		if t := r.LastContact(); !t.IsZero() {
			m.SinceContact = time.Since(t)
		}
		return m
	}
	p := &n.peers
	p.mu.Lock()
	for _, pp := range p.last {
		if time.Since(pp.at) < pollFresh {
			m.Followers = append(m.Followers, pp.follower)
		}
	}
	p.mu.Unlock()
	sort.Slice(m.Followers, func(i, j int) bool { return m.Followers[i].ID < m.Followers[j].ID })
	return m
}

// meteredLog is the Raft log as Raft writes it, counting into a Meter:
// every StoreLogs is one write of a group of entries. Its fsyncs are
// counted by the log itself (raftlog Options.OnSync): on the leader they
// run behind the writes, one for several of them.
type meteredLog struct {
	*raftlog.Log
	meter *store.Meter
}

// StoreLogs implements raft.LogStore.
func (l meteredLog) StoreLogs(logs []*raft.Log) error {
	err := l.Log.StoreLogs(logs)
	if err == nil && len(logs) > 0 {
		l.meter.Grouped(len(logs))
	}
	return err
}

// StoreLog implements raft.LogStore.
func (l meteredLog) StoreLog(e *raft.Log) error { return l.StoreLogs([]*raft.Log{e}) }
