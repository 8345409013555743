// Package replication is the replicated store: a group of replicas that
// agree through Raft (hashicorp/raft) on one log of store batches, each
// replica applying the log to its own journal. Every batch is committed by a
// quorum, written and fsynced to their Raft logs, before Apply returns. The
// Raft leader is the group's master: only it may serve clients (Await), and
// only it can write.
package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/replication/raftlog"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/journal"
	"github.com/piermq/pier/internal/store/vfs"
)

// Config configures one replica.
type Config struct {
	NodeID string
	// Bind is the host:port the replication port listens on.
	Bind string
	// Peers maps every replica of the group, this one included, to its
	// replication address (host:port).
	Peers map[string]string
	// Dir holds the Raft log and snapshots (in Dir/raft) and, unless
	// JournalDir says otherwise, the journal (Dir/journal).
	Dir        string
	JournalDir string
	// ClientURL is the URL OpenWire clients reach this replica at when it
	// is master; the master tells its clients the URLs of all members.
	ClientURL string
	// ConsoleURL is where this member's web console answers (empty:
	// none); its status tells the others, whose consoles link to it.
	ConsoleURL string
	// SizeLimit bounds the live messages, as journal.Options.SizeLimit;
	// the master refuses adds beyond it. 0: none.
	SizeLimit int64
	// Journal configures the local journal (its SizeLimit is ignored).
	Journal journal.Options
	// TLS, when set, makes the replication port mutually authenticated
	// TLS: only members holding a certificate of the group's CA can
	// connect, join or ask for status (see TLS). Nil: plain TCP, which
	// anyone who reaches the port can use.
	TLS *TLS

	// Raft timing; zero values take the defaults below.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	// Meter, when set, counts the Raft log's writes (syncs, entries per
	// write) and how long the master's batches wait to be committed by a
	// quorum (for /metrics). The journal's own Meter is not used: its
	// writes are a copy of the log's.
	Meter *store.Meter
	// SnapshotThreshold is how many log entries trigger a snapshot (and
	// log compaction); SnapshotInterval how often that is checked;
	// TrailingLogs how many entries a compaction keeps for slow followers.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// FS holds the Raft log, Raft's term and vote, and the journal; nil:
	// the operating system's. Tests give a vfs.MemFS to lose power.
	// (Snapshots are raft's FileSnapshotStore, always on the OS.)
	FS vfs.FS
	// SerialLeaderSync makes the leader sync its own log before it
	// replicates an entry, as hashicorp/raft does by itself; by default it
	// syncs while the followers do (docs/replication.md). For comparison.
	SerialLeaderSync bool

	Log *slog.Logger
}

// Defaults of the Raft timing. A follower that hears nothing from the
// leader for HeartbeatTimeout (randomised up to twice that) starts an
// election; a leader that cannot reach a quorum for LeaderLeaseTimeout steps
// down, before any other replica can have been elected.
const (
	DefaultHeartbeatTimeout   = 500 * time.Millisecond
	DefaultElectionTimeout    = 500 * time.Millisecond
	DefaultLeaderLeaseTimeout = 400 * time.Millisecond
	DefaultSnapshotThreshold  = 65536
	DefaultSnapshotInterval   = 5 * time.Second
	DefaultTrailingLogs       = 10240
)

// maxEntryBytes closes a merged entry (propose.go): the batches after it
// go in the next.
const maxEntryBytes = 4 << 20

// lazyDelay is how long a NoSync batch (acknowledgements) may wait for a
// synced one to share its entry (propose.go).
const lazyDelay = 5 * time.Millisecond

// gatherWait is how long an entry may be held open for the producers that
// recent entries carried (propose.go). It was 200 µs on a runtime timer,
// which fires after ~1.1 ms in a process waiting for I/O
// (internal/finetimer); a precise 200 µs (~300 µs) and 600 µs made
// entries smaller and the group slower at 4/4 (3,476–3,525 and
// 3,312–3,573 msg/s against 3,610–3,864 with ~1.1 ms, alternating runs),
// so the wait is what it was in effect, said as such.
const gatherWait = time.Millisecond

// Errors.
var (
	// ErrNotMaster is returned by Apply on a replica that is not (or no
	// longer) the leader: nothing was written. If leadership was lost
	// while the batch was in flight, the error wraps ErrUnknown instead.
	ErrNotMaster = fmt.Errorf("replication: not the master (%w)", store.ErrUnavailable)
	// ErrUnknown: leadership was lost after the batch was handed to
	// Raft; it may or may not be committed by the next leader.
	ErrUnknown = fmt.Errorf("replication: leadership lost; the write may or may not be kept (%w)", store.ErrUnavailable)
)

// Node is one running replica.
type Node struct {
	cfg    Config
	log    *slog.Logger
	fsm    *fsm
	raft   *raft.Raft
	ready  atomic.Pointer[raft.Raft] // raft, once started (for Status)
	logs   *raftlog.Log
	stable *raftlog.Stable
	snaps  *raft.FileSnapshotStore
	trans  *raft.NetworkTransport
	layer  *muxLayer
	notify chan bool
	// repeats holds back raft's lines that repeat while a member is away
	// (hclog.go); observe resets it when the member answers again.
	repeats  *repeats
	observer *raft.Observer

	quit     chan struct{}
	wg       sync.WaitGroup
	fatalCh  chan struct{}
	fatalErr error
	fatal    sync.Once
	closing  sync.Once
	closed   atomic.Bool

	// The lease guard (lease.go).
	lastTick  atomic.Int64 // unix nanoseconds of the guard's last tick
	suspect   atomic.Bool  // stalled since leadership was last confirmed
	verifying atomic.Bool

	handingOff atomic.Bool // Handoff was called: leadership is given away at a stop

	peers peerPolls // the other members' last status polls (metrics.go)
	prop  *proposer // merges concurrent batches into entries (propose.go)

	mu struct {
		sync.Mutex
		term     context.Context // non-nil while leader
		cancel   context.CancelFunc
		changed  chan struct{} // closed at every leadership change
		urls     map[string]string
		onChange func()
		// For the state lines and TakeoverStart (observe.go).
		leader     string    // the leader raft last reported; "" while there is none
		lostAt     time.Time // when a leader other than this member was last lost
		electedAt  time.Time // when this member last became leader
		followedAt time.Time // when this member last began to follow another
		seenMaster bool      // another member has led, or this one lost the lead, while it ran
	}
}

// Open starts a replica: it recovers the journal (from the local snapshot
// if the journal is behind it), opens the Raft log, listens on the
// replication port, and joins the group, bootstrapping it on first start.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if _, ok := cfg.Peers[cfg.NodeID]; !ok || cfg.NodeID == "" {
		return nil, fmt.Errorf("replication: node id %q is not one of the peers", cfg.NodeID)
	}
	if cfg.TLS != nil {
		if err := cfg.TLS.validate(); err != nil {
			return nil, err
		}
	}
	setDefaults(&cfg)
	// The journal and the Raft log name their own component.
	partLog := cfg.Log.With("node", cfg.NodeID)
	n := &Node{cfg: cfg, log: cfg.Log.With("component", "replication", "node", cfg.NodeID),
		notify: make(chan bool, 16), quit: make(chan struct{}), fatalCh: make(chan struct{}),
		repeats: newRepeats(repeatInterval, nil)}
	n.mu.changed = make(chan struct{})
	n.mu.urls = map[string]string{}
	n.prop = &proposer{apply: n.applyEntry, maxBytes: maxEntryBytes, lazyDelay: lazyDelay,
		gatherWait: gatherWait}
	ok := false
	defer func() {
		if !ok {
			n.Close()
		}
	}()
	raftDir, jdir := filepath.Join(cfg.Dir, "raft"), cfg.JournalDir
	if jdir == "" {
		jdir = filepath.Join(cfg.Dir, "journal")
	}
	for _, d := range []string{raftDir, jdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("replication: %w", err)
		}
	}
	hlog := newRaftLogger(n.log, n.repeats, n.memberAt)
	jopts := cfg.Journal
	jopts.SizeLimit = 0  // the master enforces the limit before proposing
	jopts.GroupWait = -1 // one writer (the FSM): never wait for more
	// The FSM applies every entry NoSync and waits for it: the journal
	// must write it at once, not hold it for a synced batch.
	jopts.WriteNoSyncAtOnce = true
	// A follower's journal holds what its Raft log holds and is read
	// back only if it becomes master: its pages are not worth the page
	// cache once written (vfs.DropBehind). The master keeps its own, to
	// read back the messages it pages out of memory.
	jopts.DropBehind = func() bool { return !n.leading() }
	jopts.Meter = nil
	var err error
	fsys := cfg.FS
	if fsys == nil {
		fsys = vfs.OS{}
	}
	if n.fsm, err = openFSM(ctx, jdir, fsys, jopts, n.log, partLog, n.fail); err != nil {
		return nil, err
	}
	if n.snaps, err = raft.NewFileSnapshotStoreWithLogger(raftDir, 2, hlog); err != nil {
		return nil, fmt.Errorf("replication: snapshots: %w", err)
	}
	if err := n.catchUpFromSnapshot(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(raftDir, "raft.db")); err == nil {
		return nil, fmt.Errorf("replication: %s holds a Raft log in the bolt format of earlier versions, which is no longer read; "+
			"remove this replica's data directory so that it catches up from the group", filepath.Join(raftDir, "raft.db"))
	}
	logOpts := raftlog.Options{OnFail: func(err error) { n.fail(fmt.Errorf("replication: raft log: %w", err)) },
		OnSync: cfg.Meter.Synced}
	if !cfg.SerialLeaderSync {
		// The leader syncs its own log while the followers sync theirs
		// (clamp.go says how that stays safe).
		logOpts.Async = n.leading
	}
	if n.logs, err = raftlog.Open(ctx, filepath.Join(raftDir, "log"), fsys, logOpts, partLog); err != nil {
		return nil, fmt.Errorf("replication: raft log: %w", err)
	}
	if n.stable, err = raftlog.OpenStable(ctx, filepath.Join(raftDir, "stable"), fsys); err != nil {
		return nil, fmt.Errorf("replication: raft stable store: %w", err)
	}
	if n.layer, err = listenMux(cfg.Bind, cfg.Peers[cfg.NodeID], n.Status, cfg.TLS, openTimeout, n.log); err != nil {
		return nil, err
	}
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: n.layer, MaxPool: 4, Timeout: 5 * time.Second, Logger: hlog,
	})
	n.fsm.waitDurable = n.logs.WaitDurable
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.NoSnapshotRestoreOnStart = true // the journal is the state; see fsm
	rc.NotifyCh = n.notify
	rc.Logger = hlog
	existing, err := raft.HasExistingState(n.logs, n.stable, n.snaps)
	if err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	if !existing {
		if err := raft.BootstrapCluster(rc, n.logs, n.stable, n.snaps, n.trans, n.configuration()); err != nil {
			return nil, fmt.Errorf("replication: bootstrap: %w", err)
		}
		n.log.Info("group bootstrapped", "members", len(cfg.Peers))
	}
	mark := n.fsm.mark // the FSM goroutine owns it from here on
	if n.raft, err = raft.NewRaft(rc, n.fsm, meteredLog{n.logs, cfg.Meter}, n.stable, n.snaps,
		clampTransport{n.trans, n.logs.Durable}); err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	obs := make(chan raft.Observation, 64)
	n.observer = raft.NewObserver(obs, false, observed)
	n.raft.RegisterObserver(n.observer)
	n.ready.Store(n.raft)
	n.lastTick.Store(time.Now().UnixNano())
	n.wg.Add(5)
	go n.guard()
	go n.watch()
	go n.pollMembers()
	go n.observe(obs)
	go n.catchUp()
	ok = true
	n.log.Info("replica started", "bind", cfg.Bind, "tls", cfg.TLS != nil, "journal_mark", mark)
	return n, nil
}

func setDefaults(c *Config) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&c.ElectionTimeout, DefaultElectionTimeout)
	def(&c.LeaderLeaseTimeout, min(DefaultLeaderLeaseTimeout, c.HeartbeatTimeout))
	def(&c.SnapshotInterval, DefaultSnapshotInterval)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		// A small threshold (tests, tiny groups) keeps few entries too.
		c.TrailingLogs = min(DefaultTrailingLogs, max(c.SnapshotThreshold/4, 1))
	}
}

// configuration is the group's initial membership: every peer votes.
func (n *Node) configuration() raft.Configuration {
	ids := make([]string, 0, len(n.cfg.Peers))
	for id := range n.cfg.Peers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var c raft.Configuration
	for _, id := range ids {
		c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(n.cfg.Peers[id])})
	}
	return c
}

// catchUpFromSnapshot restores the newest local snapshot into the journal
// if the journal is behind it (e.g. it was lost, or a restore did not
// finish): Raft replays only the entries after its snapshot.
func (n *Node) catchUpFromSnapshot() error {
	list, err := n.snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	if list[0].Index <= n.fsm.mark {
		return nil
	}
	n.log.Info("the journal is behind the last snapshot; restoring it", "journal_mark", n.fsm.mark, "snapshot", list[0].Index)
	_, rc, err := n.snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("replication: open snapshot %s: %w", list[0].ID, err)
	}
	return n.fsm.Restore(rc)
}

// watch follows leadership changes.
func (n *Node) watch() {
	defer n.wg.Done()
	for {
		select {
		case leader := <-n.notify:
			n.setLeader(leader)
		case <-n.quit:
			n.setLeader(false)
			return
		}
	}
}

func (n *Node) setLeader(leader bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if leader == (n.mu.term != nil) {
		return
	}
	n.repeats.reset() // what the old leader or candidate saw is over
	if leader {
		n.suspect.Store(false) // an election was just won: a quorum follows
		n.mu.term, n.mu.cancel = context.WithCancel(context.Background())
		n.mu.electedAt = time.Now()
		n.log.Info("became master", "term", n.raft.CurrentTerm())
	} else {
		n.mu.cancel()
		n.mu.term, n.mu.cancel = nil, nil
		// Leading again later is a takeover, which counts from now.
		n.mu.lostAt, n.mu.seenMaster = time.Now(), true
		switch {
		case n.closed.Load():
			n.log.Info("no longer master: stopping")
		case n.handingOff.Load():
			n.log.Info("no longer master: handed over")
		case n.Err() != nil:
			// fail has said why.
		default:
			n.log.Info("no longer master: lost contact with a quorum of the group")
		}
	}
	close(n.mu.changed)
	n.mu.changed = make(chan struct{})
}

// Await waits until this replica is the leader and has applied every entry
// committed before, and returns a context that ends when it stops being
// the leader: the span in which it may serve clients as master.
func (n *Node) Await(ctx context.Context) (context.Context, error) {
	for {
		if err := n.Err(); err != nil {
			return nil, err
		}
		n.mu.Lock()
		term, changed := n.mu.term, n.mu.changed
		n.mu.Unlock()
		if term != nil && term.Err() == nil {
			err := n.raft.Barrier(10 * time.Second).Error()
			if err == nil && term.Err() == nil {
				return term, nil
			}
			if err != nil {
				n.log.Warn("leader could not catch up", "err", err)
			}
		}
		select {
		case <-changed:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.fatalCh:
			return nil, n.fatalErr
		}
	}
}

// wait waits for a Raft future, or for the node to close: Raft can leave a
// future unanswered when it shuts down with it in flight (it has no
// shutdown channel), and a wait for it must not hang Close.
func (n *Node) wait(f raft.Future) (closed bool, err error) {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err = <-done:
		return false, err
	case <-n.quit:
		return true, nil
	}
}

// Handoff transfers leadership to another replica if this one is the
// leader, so that a planned stop costs clients a reconnection rather than
// an election timeout.
func (n *Node) Handoff() error {
	if n.raft == nil || n.raft.State() != raft.Leader {
		return nil
	}
	start := time.Now()
	// Set for good: Handoff comes at a stop, and the notification that
	// this replica no longer leads may come after it returns.
	n.handingOff.Store(true)
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		return fmt.Errorf("replication: leadership transfer: %w", err)
	}
	n.log.Info("leadership handed over", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// Err returns why the replica failed (its journal or Raft log), or nil.
func (n *Node) Err() error {
	select {
	case <-n.fatalCh:
		return n.fatalErr
	default:
		return nil
	}
}

func (n *Node) fail(err error) {
	n.fatal.Do(func() {
		n.log.Error("replica failed", "err", err)
		n.fatalErr = err
		close(n.fatalCh)
		n.setLeader(false) // ends the span of service, if any
	})
}

// Close stops the replica: Raft, the replication port and the journal.
func (n *Node) Close() error {
	var errs []error
	n.closing.Do(func() {
		n.closed.Store(true)
		close(n.quit)
		if n.raft != nil {
			errs = append(errs, n.raft.Shutdown().Error())
			n.raft.DeregisterObserver(n.observer)
		}
		n.wg.Wait()
		if n.trans != nil {
			errs = append(errs, n.trans.Close())
		} else if n.layer != nil {
			errs = append(errs, n.layer.Close())
		}
		if n.layer != nil {
			n.layer.Wait()
		}
		if n.logs != nil {
			errs = append(errs, n.logs.Close())
		}
		if n.stable != nil {
			errs = append(errs, n.stable.Close())
		}
		if n.fsm != nil {
			errs = append(errs, n.fsm.close())
		}
	})
	return errors.Join(errs...)
}

// Status is what a replica reports about itself.
type Status struct {
	ID           string `json:"id"`
	Address      string `json:"address"`
	State        string `json:"state"` // Leader, Follower, Candidate, Shutdown
	Term         uint64 `json:"term"`
	LastIndex    uint64 `json:"last_index"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	Leader       string `json:"leader"`
	LastContact  string `json:"last_contact"`
	ClientURL    string `json:"client_url"`
	ConsoleURL   string `json:"console_url,omitempty"`
}

// leading reports whether this replica's Raft has started and leads: the
// log store syncs behind its writes then (Options.Async), and the journal
// keeps its pages (a follower's drops them, journal.Options.DropBehind).
func (n *Node) leading() bool {
	r := n.ready.Load()
	return r != nil && r.State() == raft.Leader
}

// Status reports this replica's state.
func (n *Node) Status() Status {
	st := Status{ID: n.cfg.NodeID, Address: n.cfg.Peers[n.cfg.NodeID], ClientURL: n.cfg.ClientURL,
		ConsoleURL: n.cfg.ConsoleURL, State: "Starting"}
	r := n.ready.Load()
	if r == nil {
		return st
	}
	stats := r.Stats()
	u := func(k string) uint64 { v, _ := strconv.ParseUint(stats[k], 10, 64); return v }
	st.State = r.State().String()
	st.Term = u("term")
	st.LastIndex = r.LastIndex()
	st.CommitIndex = r.CommitIndex()
	st.AppliedIndex = r.AppliedIndex()
	st.LastContact = stats["last_contact"]
	_, id := r.LeaderWithID()
	st.Leader = string(id)
	return st
}

// ClusterURLs returns the client URLs of the group's members, this one
// first, then the others by id as last heard from them.
func (n *Node) ClusterURLs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.clusterURLsLocked()
}

func (n *Node) clusterURLsLocked() []string {
	var urls []string
	if n.cfg.ClientURL != "" {
		urls = append(urls, n.cfg.ClientURL)
	}
	ids := make([]string, 0, len(n.mu.urls))
	for id := range n.mu.urls {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if u := n.mu.urls[id]; u != "" && !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	return urls
}

// OnClusterChange sets a function called (on its own goroutine) when
// ClusterURLs changes.
func (n *Node) OnClusterChange(f func()) {
	n.mu.Lock()
	n.mu.onChange = f
	n.mu.Unlock()
}

// pollMembers asks the other replicas for their client URLs, every few
// seconds while this one is leader (and once at start).
func (n *Node) pollMembers() {
	defer n.wg.Done()
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	first := true
	for {
		if first || n.raft.State() == raft.Leader {
			first = false
			n.pollOnce()
		}
		select {
		case <-t.C:
		case <-n.quit:
			return
		}
	}
}

func (n *Node) pollOnce() {
	for id, addr := range n.cfg.Peers {
		if id == n.cfg.NodeID {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := QueryStatus(ctx, addr, n.cfg.TLS)
		cancel()
		n.polled(id, st, err)
		if err != nil || st.ClientURL == "" {
			continue
		}
		n.mu.Lock()
		before := n.clusterURLsLocked()
		n.mu.urls[id] = st.ClientURL
		changed := !slices.Equal(before, n.clusterURLsLocked())
		f := n.mu.onChange
		n.mu.Unlock()
		if changed && f != nil {
			go f()
		}
	}
}

// memberAt returns the id of the member at a replication address, "" when
// none is.
func (n *Node) memberAt(addr string) string {
	for id, a := range n.cfg.Peers {
		if a == addr {
			return id
		}
	}
	return ""
}
