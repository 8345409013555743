// Package zkgroup finds the members of a replicated group through a
// ZooKeeper ensemble, as ActiveMQ's replicatedLevelDB does (zkAddress,
// zkPath, replicas): each member registers under a path, the first
// Replicas members to register form the group, and the group is written to
// ZooKeeper and saved beside the member's data. ZooKeeper only introduces
// the members: Raft (internal/replication) elects the master and
// replicates, so a group that has formed needs ZooKeeper no more. A member
// that restarts uses the group it saved, at once, and registers again in
// the background whenever ZooKeeper is reachable, so that the others see
// it.
//
// Under Path:
//
//	member-0000000007  ephemeral, sequential: a Member (JSON), one per running member
//	group              persistent: a Group (JSON), written once by the member that saw it complete
package zkgroup

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"
)

// Member is one broker's registration: the content of its member- znode.
type Member struct {
	// ID is the member's Raft id (store.replicated.node_id).
	ID string `json:"id"`
	// Replication is its replication URL, tcp://host:port.
	Replication string `json:"replication"`
	// Client and Console are its OpenWire URL and console URL, for
	// people and tools looking at ZooKeeper.
	Client  string `json:"client,omitempty"`
	Console string `json:"console,omitempty"`
	// Broker is its broker name: one group per path.
	Broker string `json:"broker"`
}

// Group is the membership that formed: the content of the group znode.
type Group struct {
	Broker string `json:"broker,omitempty"`
	// Members maps each member's id to its replication URL.
	Members map[string]string `json:"members"`
}

// Options say where to register and what.
type Options struct {
	// Servers are the ensemble's host:port addresses.
	Servers []string
	// Path is the znode under which members register, e.g. /default.
	Path string
	// SessionTimeout is the ZooKeeper session's timeout; 0: 2s.
	SessionTimeout time.Duration
	// Password, when set, authenticates with the digest
	// "fabric:<Password>" (ActiveMQ's zkPassword), and the znodes created
	// are readable and writable only with it.
	Password string
	// Replicas is the size of the group to form.
	Replicas int
	// Self is what this member registers.
	Self Member
	// SaveFile is where the group is saved once formed; a member that
	// finds it at start uses it without asking ZooKeeper.
	SaveFile string
}

// Errors that Discover returns; ZooKeeper being unreachable is not one of
// them (it waits).
var (
	// ErrNotMember: the group formed without this member.
	ErrNotMember = errors.New("zkgroup: not a member of the group")
	// ErrForeign: another broker name, or a znode that is not what Pier
	// writes, under the path.
	ErrForeign = errors.New("zkgroup: unexpected content under the path")
	// ErrSaved: the saved group does not match the configuration.
	ErrSaved = errors.New("zkgroup: saved group does not match")
)

// Membership is this member's place in its group, and its registration in
// ZooKeeper, kept up in the background until Close.
type Membership struct {
	// NodeID is this member's id, Peers every member's (this one
	// included) replication URL.
	NodeID string
	Peers  map[string]string
	// Saved reports whether the group came from the saved file (without
	// waiting for ZooKeeper).
	Saved bool

	s      *session
	cancel context.CancelFunc
	done   chan struct{}
}

// Discover returns this member's group: the saved one if SaveFile exists,
// else the one that forms in ZooKeeper, waiting (for ZooKeeper, for enough
// members) until ctx ends. Either way the member stays registered in
// ZooKeeper until Close.
func Discover(ctx context.Context, opts Options, log *slog.Logger) (*Membership, error) {
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = 2 * time.Second
	}
	if len(opts.Servers) == 0 || opts.Path == "" || opts.Replicas < 1 || opts.Self.ID == "" {
		return nil, errors.New("zkgroup: servers, path, replicas and an id are required")
	}
	log = log.With("component", "zookeeper", "path", opts.Path)
	saved, err := load(opts)
	if err != nil {
		return nil, err
	}
	s := newSession(opts, log)
	if saved != nil {
		log.Info("replicated group from the saved file; registering in zookeeper in the background",
			"file", opts.SaveFile, "members", ids(saved.Members))
		s.setGroup(saved)
		return start(s, saved, true), nil
	}
	if err := s.dial(ctx); err != nil {
		return nil, err
	}
	m := start(s, nil, false)
	g, err := s.form(ctx)
	if err == nil {
		err = save(opts, g)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	s.setGroup(g)
	m.Peers = maps.Clone(g.Members)
	log.Info("replicated group formed", "members", ids(g.Members))
	return m, nil
}

// start runs the registration in the background.
func start(s *session, g *Group, saved bool) *Membership {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Membership{NodeID: s.opts.Self.ID, Saved: saved, s: s, cancel: cancel, done: make(chan struct{})}
	if g != nil {
		m.Peers = maps.Clone(g.Members)
	}
	go func() {
		defer close(m.done)
		s.run(ctx)
	}()
	return m
}

// Close ends the registration: the session is closed, so this member's
// znode goes at once.
func (m *Membership) Close() error {
	m.cancel()
	<-m.done
	return nil
}

// onceErr logs an error the first time it is seen in a row.
type onceErr struct {
	mu   sync.Mutex
	last string
}

// changed reports whether err differs from the last one noted, and notes it
// (nil clears).
func (o *onceErr) changed(err error) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := ""
	if err != nil {
		s = err.Error()
	}
	if s == o.last {
		return false
	}
	o.last = s
	return err != nil
}

func ids(m map[string]string) string { return strings.Join(sortedKeys(m), ",") }
