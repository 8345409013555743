package main

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/piermq/pier/internal/admin"
	"github.com/piermq/pier/internal/replication"
)

// What the console's /api/v1/group reports, wired by serve: a replicated
// group's members as this one hears them, or a shared-directory or SQL
// member's role.

// claimGroup is the group of a shared-directory or SQL member (kind
// "shared-directory" or "sql"): master while it serves, else a slave
// waiting for the lock or lease; it does not know the other members.
func claimGroup(kind string, serving func() bool) func(context.Context) admin.Group {
	return func(context.Context) admin.Group {
		g := admin.Group{Kind: kind, Role: "slave"}
		if serving() {
			g.Role = "master"
		}
		return g
	}
}

// replicatedGroup is the group of a member of a replicated group: its own
// status (self, without a network call) and every other member's, asked
// on its replication port (with the group's TLS) within a second.
func replicatedGroup(self func() replication.Status, peers map[string]string, t *replication.TLS) func(context.Context) admin.Group {
	return func(ctx context.Context) admin.Group {
		st := self()
		members := []admin.GroupMember{memberOf(st, "")}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for id, addr := range peers {
			if id == st.ID {
				continue
			}
			wg.Go(func() {
				qctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				ps, err := replication.QueryStatus(qctx, addr, t)
				m := memberOf(ps, "")
				if err != nil {
					m = memberOf(replication.Status{ID: id, Address: addr}, err.Error())
				}
				mu.Lock()
				members = append(members, m)
				mu.Unlock()
			})
		}
		wg.Wait()
		sort.Slice(members, func(i, j int) bool { return members[i].ID < members[j].ID })
		var top uint64
		for _, m := range members {
			top = max(top, m.AppliedIndex)
		}
		g := admin.Group{Kind: "replicated", Role: roleOf(st.State), Self: st.ID, Master: st.Leader, Term: st.Term}
		for i := range members {
			if members[i].Error == "" {
				members[i].Lag = top - members[i].AppliedIndex
			}
			if members[i].ID == st.Leader && members[i].ClientURL != "" {
				g.Master = st.Leader + " (" + members[i].ClientURL + ")"
			}
		}
		g.Members = members
		return g
	}
}

// roleOf names a Raft state as a role.
func roleOf(state string) string {
	if state == "Leader" {
		return "master"
	}
	return "replica"
}

func memberOf(st replication.Status, errText string) admin.GroupMember {
	m := admin.GroupMember{ID: st.ID, Address: st.Address, State: st.State, Term: st.Term,
		LastIndex: st.LastIndex, CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex,
		ClientURL: st.ClientURL, Console: st.ConsoleURL, Error: errText}
	if errText == "" {
		m.Role = roleOf(st.State)
	}
	return m
}
