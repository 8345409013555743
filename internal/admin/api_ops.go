package admin

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// The broker as a whole, its group, connections and durable
// subscriptions.

// Group is this member's role and what it knows of its master/slave group
// (GET /api/v1/group).
type Group struct {
	// Kind is how the group shares its state: single (no group),
	// shared-directory, sql or replicated.
	Kind string `json:"kind"`
	// Role is this member's: master, slave (waiting for a shared
	// directory's lock or a database lease) or replica (a follower of a
	// replicated group).
	Role string `json:"role"`
	// Self is this member's id in the group, when it has one.
	Self string `json:"self,omitempty"`
	// Master is the master this member follows (id or address), when
	// known.
	Master string `json:"master,omitempty"`
	// Term is the replicated group's Raft term.
	Term    uint64        `json:"term,omitempty"`
	Members []GroupMember `json:"members"`
}

// GroupMember is one member of a replicated group as this member last
// heard from it.
type GroupMember struct {
	ID           string `json:"id"`
	Address      string `json:"address"` // its replication port
	Role         string `json:"role"`    // master or replica; "" when unreachable
	State        string `json:"state"`   // Raft's: Leader, Follower, Candidate
	Term         uint64 `json:"term"`
	LastIndex    uint64 `json:"last_index"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// Lag is how many entries it has applied fewer than the most advanced
	// member.
	Lag       uint64 `json:"lag"`
	ClientURL string `json:"client_url,omitempty"`
	Console   string `json:"console,omitempty"` // its web console's URL, when it has one
	Error     string `json:"error,omitempty"`   // why it did not answer
}

// group returns what Options.Group reports, or, without it, a lone broker
// that is master while it serves.
func (s *Server) group(ctx context.Context) Group {
	if s.opts.Group != nil {
		g := s.opts.Group(ctx)
		if g.Members == nil {
			g.Members = []GroupMember{}
		}
		return g
	}
	g := Group{Kind: "single", Role: "slave", Members: []GroupMember{}}
	if s.opts.Ready() {
		g.Role = "master"
	}
	return g
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, _ *principal) {
	writeJSON(w, http.StatusOK, s.group(r.Context()))
}

// brokerJSON is GET /api/v1/broker. A member that is not master answers
// the first fields, and zeros.
type brokerJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Role    string `json:"role"`
	Master  string `json:"master,omitempty"`
	Serving bool   `json:"serving"`

	ID            string         `json:"id,omitempty"`
	Started       *time.Time     `json:"started,omitempty"` // this span of service
	UptimeSeconds int64          `json:"uptime_seconds"`
	Connections   map[string]int `json:"connections"` // by protocol
	MemoryUsed    int64          `json:"memory_used"`
	MemoryLimit   int64          `json:"memory_limit"`
	StoreUsed     int64          `json:"store_used"`
	StoreLimit    int64          `json:"store_limit"` // 0: none
	StoreMessages int64          `json:"store_messages"`
	Queues        int            `json:"queues"`
	Topics        int            `json:"topics"`
	ScheduledJobs int            `json:"scheduled_jobs"`
	Enqueued      uint64         `json:"enqueued"`
	Dequeued      uint64         `json:"dequeued"`
}

func (s *Server) getBroker(w http.ResponseWriter, r *http.Request, _ *principal) {
	g := s.group(r.Context())
	out := brokerJSON{Name: s.opts.Name, Version: s.opts.Version, Role: g.Role, Master: g.Master,
		Serving: s.opts.Ready(), Connections: map[string]int{}}
	var c Core
	if s.opts.Core != nil {
		c = s.opts.Core()
	}
	if c != nil {
		o := c.Overview()
		if o.Name != "" {
			out.Name = o.Name
		}
		started := o.Started.UTC()
		out.ID, out.Started = o.ID, &started
		out.UptimeSeconds = int64(s.now().Sub(o.Started) / time.Second)
		if o.Connections != nil {
			out.Connections = o.Connections
		}
		out.MemoryUsed, out.MemoryLimit = o.MemoryUsed, o.MemoryLimit
		out.StoreUsed, out.StoreLimit, out.StoreMessages = o.StoreUsed, o.StoreLimit, o.StoreMessages
		out.Queues, out.Topics, out.ScheduledJobs = o.Queues, o.Topics, o.ScheduledJobs
		out.Enqueued, out.Dequeued = o.Enqueued, o.Dequeued
	}
	writeJSON(w, http.StatusOK, out)
}

// ConnJSON is one client connection.
type ConnJSON struct {
	ID        string    `json:"id"`
	Protocol  string    `json:"protocol"`
	Remote    string    `json:"remote"`
	User      string    `json:"user"`
	ClientID  string    `json:"client_id"`
	Since     time.Time `json:"since"`
	Consumers int       `json:"consumers"`
	Producers int       `json:"producers"`
}

func (s *Server) getConnections(w http.ResponseWriter, r *http.Request, _ *principal) {
	c := s.core(w, r)
	if c == nil {
		return
	}
	cs := c.Connections()
	out := PageJSON[ConnJSON]{Total: len(cs), Items: make([]ConnJSON, 0, len(cs))}
	for _, ci := range cs {
		out.Items = append(out.Items, ConnJSON{ID: ci.ID, Protocol: ci.Protocol, Remote: ci.Remote, User: ci.User,
			ClientID: ci.ClientID, Since: ci.Since.UTC(), Consumers: ci.Consumers, Producers: ci.Producers})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request, _ *principal) {
	id := r.PathValue("id")
	if id == "" || len(id) > 4096 {
		writeError(w, http.StatusBadRequest, "bad connection id")
		return
	}
	c := s.core(w, r)
	if c == nil {
		return
	}
	if err := c.CloseConnection(id); err != nil {
		if statusOf(err) == http.StatusNotFound {
			writeError(w, http.StatusNotFound, "no such connection "+id)
			return
		}
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// durableJSON is one durable topic subscription.
type durableJSON struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	Topic    string `json:"topic"`
	Selector string `json:"selector"`
	Backlog  int64  `json:"backlog"`
	Online   bool   `json:"online"`
}

func (s *Server) getDurables(w http.ResponseWriter, r *http.Request, _ *principal) {
	c := s.core(w, r)
	if c == nil {
		return
	}
	ds := c.DurableSubscriptions()
	out := PageJSON[durableJSON]{Total: len(ds), Items: make([]durableJSON, 0, len(ds))}
	for _, d := range ds {
		out.Items = append(out.Items, durableJSON(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteDurable(w http.ResponseWriter, r *http.Request, _ *principal) {
	client, name := r.PathValue("client"), r.PathValue("name")
	if client == "" || name == "" || len(client)+len(name) > 8192 {
		writeError(w, http.StatusBadRequest, "bad client id or subscription name")
		return
	}
	c := s.core(w, r)
	if c == nil {
		return
	}
	if err := c.DeleteDurable(r.Context(), client, name); err != nil {
		if statusOf(err) == http.StatusNotFound {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no such durable subscription %s of client %s", name, client))
			return
		}
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
