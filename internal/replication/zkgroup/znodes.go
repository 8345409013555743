package zkgroup

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

const (
	memberPrefix = "member-"
	groupNode    = "group"
)

// auth adds the password to the client once (it re-sends it after every
// reconnection by itself).
func (s *session) auth(c *zk.Conn) error {
	s.mu.Lock()
	done := s.mu.authed || s.opts.Password == ""
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := c.AddAuth("digest", []byte("fabric:"+s.opts.Password)); err != nil {
		return err
	}
	s.mu.Lock()
	s.mu.authed = true
	s.mu.Unlock()
	return nil
}

// ensurePath creates the path and its parents (persistent) where missing.
func (s *session) ensurePath(c *zk.Conn) error {
	p := ""
	for part := range strings.SplitSeq(strings.Trim(s.opts.Path, "/"), "/") {
		p += "/" + part
		if _, err := c.Create(p, nil, 0, s.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// register makes sure this session has a member znode (it may have made
// one already, when an answer was lost with the connection) and, when the
// group is known and its znode missing (a new ensemble), writes it again.
// It returns the member znode's name.
func (s *session) register(c *zk.Conn) (string, error) {
	if err := s.auth(c); err != nil {
		return "", err
	}
	if err := s.ensurePath(c); err != nil {
		return "", err
	}
	s.mu.Lock()
	g := s.mu.group
	s.mu.Unlock()
	if g != nil {
		if err := s.createGroup(c, g); err != nil {
			return "", err
		}
	}
	names, _, err := c.Children(s.opts.Path)
	if err != nil {
		return "", err
	}
	sid := c.SessionID()
	for _, n := range names {
		if !strings.HasPrefix(n, memberPrefix) {
			continue
		}
		data, st, err := c.Get(s.opts.Path + "/" + n)
		if err != nil {
			continue // gone meanwhile
		}
		var m Member
		if json.Unmarshal(data, &m) == nil && m.ID == s.opts.Self.ID && st.EphemeralOwner == sid {
			return n, nil
		}
	}
	data, err := json.Marshal(s.opts.Self)
	if err != nil {
		return "", err
	}
	p, err := c.Create(s.opts.Path+"/"+memberPrefix, data, zk.FlagEphemeral|zk.FlagSequence, s.acl)
	if err != nil {
		return "", err
	}
	return p[strings.LastIndex(p, "/")+1:], nil
}

// createGroup writes the group znode; one that exists already is kept.
func (s *session) createGroup(c *zk.Conn, g *Group) error {
	data, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if _, err := c.Create(s.opts.Path+"/"+groupNode, data, 0, s.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return err
	}
	return nil
}

// form waits until the group znode exists, creating it from the first
// Replicas registrations once there are that many, and returns it if this
// member is in it. It looks again on every change a watch reports, and
// every pollEvery besides (a lost notification must not leave a group
// unformed); a watch is set again only once the last one fired.
func (s *session) form(ctx context.Context) (*Group, error) {
	var logged onceErr
	var watch <-chan zk.Event // pending, nil once fired
	waiting := ""
	for {
		wake := s.changes.wait()
		var retry <-chan time.Time
		g, w, seen, err := s.formOnce(s.conn(), watch == nil)
		if w != nil {
			watch = w
		}
		switch {
		case err == nil && g != nil:
			return g, nil
		case err == nil:
			if now := strings.Join(seen, ","); now != waiting {
				s.log.Info("waiting for the replicated group to form", "registered", len(seen), "replicas", s.opts.Replicas, "members", now)
				waiting = now
			}
			retry = time.After(pollEvery)
		case isTransient(err) || errors.Is(err, zk.ErrNoNode):
			retry = time.After(retryEvery / 4)
		case errors.Is(err, ErrNotMember) || errors.Is(err, ErrForeign):
			return nil, err
		default:
			if logged.changed(err) {
				s.log.Warn("zookeeper: cannot read the group yet", "err", err)
			}
			retry = time.After(retryEvery)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		case <-watch:
			watch = nil
		case <-retry:
		}
	}
}

// pollEvery is how often form looks without a notification.
const pollEvery = time.Second

// formOnce reads the group znode, or else the registrations, creating the
// group when they are enough. With neither a group nor an error it returns
// the ids registered and, when asked to watch, a channel that fires when
// either changes.
func (s *session) formOnce(c *zk.Conn, watch bool) (g *Group, changed <-chan zk.Event, seen []string, err error) {
	if err := s.auth(c); err != nil {
		return nil, nil, nil, err
	}
	path := s.opts.Path
	var ok bool
	var gw, cw <-chan zk.Event
	if watch {
		ok, _, gw, err = c.ExistsW(path + "/" + groupNode)
	} else {
		ok, _, err = c.Exists(path + "/" + groupNode)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if ok {
		g, err := s.readGroup(c)
		return g, gw, nil, err
	}
	var names []string
	if watch {
		names, _, cw, err = c.ChildrenW(path)
	} else {
		names, _, err = c.Children(path)
	}
	if err != nil {
		return nil, gw, nil, err
	}
	if watch {
		changed = merge(gw, cw)
	}
	members, err := s.members(c, names)
	if err != nil {
		return nil, changed, nil, err
	}
	if len(members) < s.opts.Replicas {
		for _, m := range members {
			seen = append(seen, m.ID)
		}
		return nil, changed, seen, nil
	}
	g = &Group{Broker: s.opts.Self.Broker, Members: map[string]string{}}
	for _, m := range members[:s.opts.Replicas] {
		g.Members[m.ID] = m.Replication
	}
	if err := s.createGroup(c, g); err != nil {
		return nil, changed, nil, err
	}
	g, err = s.readGroup(c) // ours, or one that won the race
	return g, changed, nil, err
}

// merge returns a channel that fires when either fires.
func merge(a, b <-chan zk.Event) <-chan zk.Event {
	out := make(chan zk.Event, 1)
	go func() {
		select {
		case e := <-a:
			out <- e
		case e := <-b:
			out <- e
		}
	}()
	return out
}

// readGroup reads the group znode and checks that this member is in it.
func (s *session) readGroup(c *zk.Conn) (*Group, error) {
	p := s.opts.Path + "/" + groupNode
	data, _, err := c.Get(p)
	if err != nil {
		return nil, err
	}
	g, err := parseGroup(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrForeign, p, err)
	}
	if g.Broker != "" && g.Broker != s.opts.Self.Broker {
		return nil, fmt.Errorf("%w: %s is the group of broker %q, this broker is %q: give each group a path of its own (store.replicated.zookeeper.path)",
			ErrForeign, p, g.Broker, s.opts.Self.Broker)
	}
	u, ok := g.Members[s.opts.Self.ID]
	if !ok {
		return nil, fmt.Errorf("%w: the group at %s is complete without this member %q (members: %s): give this member a path of its own, or replace a member by starting this one with its node_id and replication address",
			ErrNotMember, p, s.opts.Self.ID, strings.Join(sortedKeys(g.Members), ", "))
	}
	if u != s.opts.Self.Replication {
		return nil, fmt.Errorf("%w: in the group at %s, member %q is at %s, not at this member's %s: two members with one node_id?",
			ErrNotMember, p, s.opts.Self.ID, u, s.opts.Self.Replication)
	}
	return g, nil
}

// parseGroup decodes a group znode (or saved file) and checks it.
func parseGroup(data []byte) (*Group, error) {
	var g Group
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("not a group (JSON with members): %v", err)
	}
	if len(g.Members) == 0 {
		return nil, errors.New("not a group: no members")
	}
	for id, u := range g.Members {
		if id == "" || !strings.HasPrefix(u, "tcp://") {
			return nil, fmt.Errorf("not a group: member %q at %q", id, u)
		}
	}
	return &g, nil
}

// members reads the member znodes among names and returns one registration
// per id (its first), in the order they registered.
func (s *session) members(c *zk.Conn, names []string) ([]Member, error) {
	type reg struct {
		seq int64
		m   Member
	}
	var regs []reg
	for _, n := range names {
		if !strings.HasPrefix(n, memberPrefix) {
			continue
		}
		seq, err := strconv.ParseInt(strings.TrimPrefix(n, memberPrefix), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s/%s: not a sequential member znode", ErrForeign, s.opts.Path, n)
		}
		data, _, err := c.Get(s.opts.Path + "/" + n)
		if errors.Is(err, zk.ErrNoNode) {
			continue // its member left
		}
		if err != nil {
			return nil, err
		}
		m, err := parseMember(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s/%s: %v", ErrForeign, s.opts.Path, n, err)
		}
		if m.Broker != s.opts.Self.Broker {
			return nil, fmt.Errorf("%w: %s/%s is member %q of broker %q, this broker is %q: give each group a path of its own (store.replicated.zookeeper.path)",
				ErrForeign, s.opts.Path, n, m.ID, m.Broker, s.opts.Self.Broker)
		}
		regs = append(regs, reg{seq, m})
	}
	slices.SortFunc(regs, func(a, b reg) int { return cmp.Compare(a.seq, b.seq) })
	var out []Member
	seen := map[string]bool{}
	for _, r := range regs {
		if !seen[r.m.ID] {
			seen[r.m.ID] = true
			out = append(out, r.m)
		}
	}
	return out, nil
}

// parseMember decodes and checks a member znode.
func parseMember(data []byte) (Member, error) {
	var m Member
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("not a member registration (JSON): %v", err)
	}
	if m.ID == "" || !strings.HasPrefix(m.Replication, "tcp://") {
		return m, fmt.Errorf("not a member registration: id %q, replication %q", m.ID, m.Replication)
	}
	return m, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
