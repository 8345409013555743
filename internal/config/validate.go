package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// issue is one validation problem, named by the path of the key at fault.
type issue struct {
	path string
	msg  string
	err  error
}

// checker accumulates issues.
type checker struct{ issues []issue }

func (k *checker) add(sentinel error, path, format string, args ...any) {
	k.issues = append(k.issues, issue{path, path + ": " + fmt.Sprintf(format, args...), sentinel})
}

// Validate reports every problem with c as Errors (without file positions;
// Parse adds them). Call EnsureDefaults first on a Config built in Go.
func (c *Config) Validate() error {
	issues := c.check()
	if len(issues) == 0 {
		return nil
	}
	out := make(Errors, 0, len(issues))
	for _, is := range issues {
		out = append(out, &Error{Path: is.path, Msg: is.msg, Err: is.err})
	}
	return out
}

func (c *Config) check() []issue {
	k := &checker{}
	if strings.TrimSpace(c.Broker.Name) == "" {
		k.add(ErrMissing, "broker.name", "must not be empty")
	}
	if c.Broker.DataDir == "" {
		k.add(ErrMissing, "broker.data_dir", "must not be empty")
	}
	k.transports(&c.Transports)
	if c.Console.Listen != "" {
		if err := checkHostPort(c.Console.Listen); err != nil {
			k.add(ErrInvalid, "console.listen", "%v", err)
		}
	}
	for i, g := range c.Console.AdminGroups {
		if strings.TrimSpace(g) == "" {
			k.add(ErrInvalid, fmt.Sprintf("console.admin_groups[%d]", i), "must not be empty")
		}
	}
	k.destinations("console.metrics_destinations", c.Console.MetricsDestinations)
	k.store(&c.Store)
	k.connectors(c.NetworkConnectors)
	k.limits(&c.Limits)
	k.mqtt(&c.MQTT)
	k.policies(&c.Policies)
	k.conflicts(c)
	k.tls(c)
	k.security(c)
	k.exposure(c)
	if h := c.Broker.AdvertiseHost; h != "" && !isHost(h) {
		k.add(ErrInvalid, "broker.advertise_host", "%q is not a host name or IP address", h)
	}
	return k.issues
}

// isHost reports whether h can be a host name or an IP address.
func isHost(h string) bool {
	return !strings.ContainsAny(h, " /:@?#") || net.ParseIP(h) != nil
}

// transportSchemes are the URL schemes each transport accepts (plain,
// then TLS, as ActiveMQ names them), in key order.
var transportSchemes = [...]struct{ key, scheme, tls string }{
	{"openwire", "tcp", "ssl"}, {"stomp", "stomp", "stomp+ssl"}, {"mqtt", "mqtt", "mqtt+ssl"}, {"ws", "ws", "wss"}, {"amqp", "amqp", ""},
}

func (t *Transports) urls() [5]string {
	return [...]string{t.OpenWire, t.STOMP, t.MQTT, t.WS, t.AMQP}
}

func (k *checker) transports(t *Transports) {
	enabled := false
	for i, u := range t.urls() {
		if u == "" {
			continue
		}
		enabled = true
		ts := transportSchemes[i]
		path := "transports." + ts.key
		scheme, _, err := listenAddr(u)
		switch {
		case err != nil:
			k.add(ErrInvalid, path, "%q: %v", u, err)
		case scheme != ts.scheme && (ts.tls == "" || scheme != ts.tls):
			want := ts.scheme + "://host:port"
			if ts.tls != "" {
				want += " or " + ts.tls + "://host:port"
			}
			k.add(ErrInvalid, path, "%q: scheme %q is not allowed here (want %s)", u, scheme, want)
		}
	}
	if !enabled {
		k.add(ErrMissing, "transports", "no client transport is configured")
	}
}

func (k *checker) store(s *Store) {
	switch s.Kind {
	case StoreJournal, StoreReplicated:
	case StoreSQL:
		k.sql(&s.SQL)
	default:
		k.add(ErrInvalid, "store.kind", "%q is not one of journal, sql, replicated", s.Kind)
	}
	if s.Kind != StoreSQL {
		k.journal(&s.Journal)
	}
	if s.Kind == StoreReplicated {
		k.replicated(&s.Replicated)
	}
}

func (k *checker) journal(j *Journal) {
	if j.Dir == "" {
		k.add(ErrMissing, "store.journal.dir", "must not be empty")
	}
	if j.SegmentSize <= 0 {
		k.add(ErrInvalid, "store.journal.segment_size", "must be positive")
	}
	if j.MaxSize <= 0 {
		k.add(ErrInvalid, "store.journal.max_size", "must be positive")
	} else if j.MaxSize < j.SegmentSize {
		k.add(ErrInvalid, "store.journal.max_size", "%s is smaller than segment_size %s", j.MaxSize, j.SegmentSize)
	}
}

func (k *checker) sql(s *SQL) {
	switch s.Driver {
	case DriverPostgres, DriverMySQL:
	case "":
		k.add(ErrMissing, "store.sql.driver", "required when store.kind is sql (postgres or mysql)")
	default:
		k.add(ErrInvalid, "store.sql.driver", "%q is not one of postgres, mysql", s.Driver)
	}
	if s.DSN == "" {
		k.add(ErrMissing, "store.sql.dsn", "required when store.kind is sql")
	}
	if s.LeaseDuration < time.Second {
		k.add(ErrInvalid, "store.sql.lease_duration", "%s is too short (at least 1s)", s.LeaseDuration)
	}
}

func (k *checker) replicated(r *Replicated) {
	ids := make([]string, 0, len(r.Peers))
	for id := range r.Peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	switch {
	case r.ZooKeeper.Enabled():
		k.zookeeper(r, len(ids) > 0)
	case len(ids) == 0:
		k.add(ErrMissing, "store.replicated.peers", "required when store.kind is replicated (every replica, this one included), unless the members find each other through store.replicated.zookeeper")
	}
	switch {
	case r.ZooKeeper.Enabled():
	case r.NodeID == "":
		k.add(ErrMissing, "store.replicated.node_id", "required when store.kind is replicated")
	case len(ids) > 0 && r.Peers[r.NodeID] == "":
		k.add(ErrInvalid, "store.replicated.node_id", "%q is not in peers (known: %s)", r.NodeID, strings.Join(ids, ", "))
	}
	if t := r.ElectionTimeout; t != 0 && (t < 50*time.Millisecond || t > time.Minute) {
		k.add(ErrInvalid, "store.replicated.election_timeout", "%s: want 50ms to 1m", t)
	}
	if n := r.SnapshotThreshold; n < 0 || (n > 0 && n < 16) {
		k.add(ErrInvalid, "store.replicated.snapshot_threshold", "%d: want at least 16 (or 0 for the default)", n)
	}
	seen := make(map[string]string, len(ids))
	for _, id := range ids {
		path := "store.replicated.peers." + id
		addr, err := remoteAddr(r.Peers[id])
		if err != nil {
			k.add(ErrInvalid, path, "%q: %v", r.Peers[id], err)
			continue
		}
		if other, dup := seen[addr]; dup {
			k.add(ErrInvalid, path, "address %s is also used by peer %q", addr, other)
		}
		seen[addr] = id
	}
	if r.Bind != "" {
		if scheme, _, err := listenAddr(r.Bind); err != nil {
			k.add(ErrInvalid, "store.replicated.bind", "%q: %v", r.Bind, err)
		} else if scheme != "tcp" {
			k.add(ErrInvalid, "store.replicated.bind", "%q: want tcp://host:port", r.Bind)
		}
	}
}

// remoteAddr checks a URL to dial: tcp://host:port with a host and a port.
func remoteAddr(u string) (string, error) {
	scheme, hp, err := listenAddr(u)
	if err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(hp)
	switch {
	case scheme != "tcp":
		return "", errors.New("want tcp://host:port")
	case host == "" || port == "0":
		return "", errors.New("a host and a non-zero port are required")
	}
	return hp, nil
}

func (k *checker) limits(l *Limits) {
	if l.Memory <= 0 {
		k.add(ErrInvalid, "limits.memory", "must be positive")
	}
	if l.MaxFrameSize <= 0 {
		k.add(ErrInvalid, "limits.max_frame_size", "must be positive")
	}
	if l.MaxHeaders < 1 {
		k.add(ErrInvalid, "limits.max_headers", "must be at least 1")
	}
	if l.MaxHeaderLength <= 0 {
		k.add(ErrInvalid, "limits.max_header_length", "must be positive")
	}
	if l.MaxConnections < 1 {
		k.add(ErrInvalid, "limits.max_connections", "must be at least 1")
	}
}

// conflicts rejects two listeners on the same address.
func (k *checker) conflicts(c *Config) {
	type listener struct{ path, hostport string }
	var ls []listener
	for i, u := range c.Transports.urls() {
		if _, hp, err := listenAddr(u); u != "" && err == nil {
			ls = append(ls, listener{"transports." + transportSchemes[i].key, hp})
		}
	}
	if c.Console.Listen != "" && checkHostPort(c.Console.Listen) == nil {
		ls = append(ls, listener{"console.listen", c.Console.Listen})
	}
	if r := c.Store.Replicated; c.Store.Kind == StoreReplicated && r.Bind != "" {
		if _, hp, err := listenAddr(r.Bind); err == nil {
			ls = append(ls, listener{"store.replicated.bind", hp})
		}
	}
	for i, a := range ls {
		for _, b := range ls[:i] {
			if overlap(a.hostport, b.hostport) {
				k.add(ErrInvalid, a.path, "address %s conflicts with %s (%s)", a.hostport, b.path, b.hostport)
				break
			}
		}
	}
}

// overlap says whether two listen addresses would collide: same non-zero
// port and the same host, or either on every interface.
func overlap(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

func (k *checker) mqtt(m *MQTT) {
	if m.MaxInflight < 1 || m.MaxInflight > 65535 {
		k.add(ErrInvalid, "mqtt.max_inflight", "must be from 1 to 65535")
	}
	if m.MaxQueued < 0 {
		k.add(ErrInvalid, "mqtt.max_queued", "must not be negative")
	}
	if m.ReceiveMaximum < 1 || m.ReceiveMaximum > 65535 {
		k.add(ErrInvalid, "mqtt.receive_maximum", "must be from 1 to 65535")
	}
	if m.TopicAliasMaximum < 0 || m.TopicAliasMaximum > 65535 {
		k.add(ErrInvalid, "mqtt.topic_alias_maximum", "must be from 0 to 65535")
	}
	if m.MaxKeepAlive < 0 || m.MaxKeepAlive > 65535*time.Second || m.MaxKeepAlive%time.Second != 0 {
		k.add(ErrInvalid, "mqtt.max_keep_alive", "must be whole seconds, at most 65535s")
	}
	if m.MaxSessionExpiry < 0 || m.MaxSessionExpiry > 0xFFFFFFFE*time.Second || m.MaxSessionExpiry%time.Second != 0 {
		k.add(ErrInvalid, "mqtt.max_session_expiry", "must be whole seconds")
	}
}
