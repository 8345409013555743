package admin

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/piermq/pier/internal/store"
)

var (
	descStoreBytes = prometheus.NewDesc("pier_store_bytes",
		"Bytes of live messages in the store (what its size limit counts).", nil, nil)
	descStoreLimit = prometheus.NewDesc("pier_store_limit_bytes",
		"The store's size limit (store.journal.max_size); 0: none.", nil, nil)
	descStoreMessages = prometheus.NewDesc("pier_store_messages",
		"Messages in the store.", nil, nil)
	descStoreDisk = prometheus.NewDesc("pier_store_disk_bytes",
		"Bytes of the store's files on disk (journal segments, checkpoints, Raft log and snapshots).", nil, nil)
	descStoreSyncs = prometheus.NewDesc("pier_store_syncs_total",
		"Durable writes: fsyncs of the journal or Raft log, or database commits that waited for the log flush.", nil, nil)
	descStoreCommit = prometheus.NewDesc("pier_store_commit_seconds",
		"Time a batch that waits for durability takes from hand-over to durable (replicated: committed by a quorum).", nil, nil)
	descStoreGroup = prometheus.NewDesc("pier_store_group_batches",
		"Batches (replicated: Raft entries) written together by one group commit.", nil, nil)

	descReplState = prometheus.NewDesc("pier_replication_state",
		"1 for this member's Raft state: Leader, Follower, Candidate or Shutdown.", []string{"state"}, nil)
	descReplLeader = prometheus.NewDesc("pier_replication_leader",
		"1 while this member is the group's Raft leader (its master).", nil, nil)
	descReplMembers = prometheus.NewDesc("pier_replication_members",
		"Voting members of the group, this one included.", nil, nil)
	descReplTerm = prometheus.NewDesc("pier_replication_term",
		"The Raft term this member is in (it rises at every election).", nil, nil)
	descReplLast = prometheus.NewDesc("pier_replication_last_index",
		"Index of the last entry of this member's Raft log.", nil, nil)
	descReplCommit = prometheus.NewDesc("pier_replication_commit_index",
		"Index of the last entry this member knows a quorum holds.", nil, nil)
	descReplApplied = prometheus.NewDesc("pier_replication_applied_index",
		"Index of the last entry this member applied to its journal.", nil, nil)
	descReplContact = prometheus.NewDesc("pier_replication_last_contact_seconds",
		"On a follower: seconds since it last heard from the leader.", nil, nil)
	descFollowerUp = prometheus.NewDesc("pier_replication_follower_up",
		"On the leader: 1 if the follower answered the leader's last status poll (every 3 s).", []string{"peer"}, nil)
	descFollowerLag = prometheus.NewDesc("pier_replication_follower_lag_entries",
		"On the leader: entries the leader's Raft log was ahead of the follower's at the last poll.", []string{"peer"}, nil)
)

// raftStates are the values of pier_replication_state's label, each
// reported (0 or 1) so that a change of state shows as a change of value.
var raftStates = []string{"Leader", "Follower", "Candidate", "Shutdown"}

func describeStore(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStoreBytes, descStoreLimit, descStoreMessages, descStoreDisk,
		descStoreSyncs, descStoreCommit, descStoreGroup, descReplState, descReplLeader, descReplMembers,
		descReplTerm, descReplLast, descReplCommit, descReplApplied, descReplContact, descFollowerUp, descFollowerLag} {
		ch <- d
	}
}

// collectStore sends the store's and the replica's series.
func collectStore(ch chan<- prometheus.Metric, src MetricsSources) {
	if src.Store != nil {
		u := src.Store()
		sendGauge(ch, descStoreBytes, float64(u.Bytes))
		sendGauge(ch, descStoreLimit, float64(u.Limit))
		sendGauge(ch, descStoreMessages, float64(u.Messages))
	}
	if len(src.DataDirs) > 0 {
		sendGauge(ch, descStoreDisk, float64(dirBytes(src.DataDirs)))
	}
	if src.Meter != nil {
		m := src.Meter.Metrics()
		sendCounter(ch, descStoreSyncs, m.Syncs)
		ch <- constHistogram(descStoreCommit, m.Commit)
		ch <- constHistogram(descStoreGroup, m.Group)
	}
	if src.Replica == nil {
		return
	}
	r := src.Replica()
	if r == nil {
		return
	}
	m := r.Metrics()
	for _, s := range raftStates {
		sendGauge(ch, descReplState, boolValue(m.State == s), s)
	}
	sendGauge(ch, descReplLeader, boolValue(m.State == "Leader"))
	sendGauge(ch, descReplMembers, float64(m.Members))
	sendGauge(ch, descReplTerm, float64(m.Term))
	sendGauge(ch, descReplLast, float64(m.LastIndex))
	sendGauge(ch, descReplCommit, float64(m.CommitIndex))
	sendGauge(ch, descReplApplied, float64(m.AppliedIndex))
	if m.State != "Leader" && m.SinceContact > 0 {
		sendGauge(ch, descReplContact, m.SinceContact.Seconds())
	}
	for _, f := range m.Followers {
		sendGauge(ch, descFollowerUp, boolValue(f.Up), f.ID)
		if f.Up {
			sendGauge(ch, descFollowerLag, float64(f.Lag), f.ID)
		}
	}
}

func constHistogram(d *prometheus.Desc, h store.Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Counts[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets)
}

// dirBytes is the size of the regular files under dirs, each counted once
// when one directory is inside another; what cannot be read (a directory
// not created yet, a file removed meanwhile) counts nothing.
func dirBytes(dirs []string) int64 {
	var walk []string
	for _, d := range dirs {
		if d == "" {
			continue // not the working directory
		}
		if d, err := filepath.Abs(d); err == nil {
			walk = append(walk, d)
		}
	}
	// Shorter first: a directory comes before any inside it.
	slices.SortStableFunc(walk, func(a, b string) int { return len(a) - len(b) })
	var n int64
	for i, dir := range walk {
		if slices.ContainsFunc(walk[:i], func(p string) bool {
			return dir == p || strings.HasPrefix(dir, p+string(filepath.Separator))
		}) {
			continue // counted with p
		}
		filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return nil
			}
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
			return nil
		})
	}
	return n
}
