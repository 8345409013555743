package zkgroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// retryEvery is how often a failed ZooKeeper step is tried again when no
// event comes first.
const retryEvery = 2 * time.Second

// session is the ZooKeeper client of one member: its connection, what it
// logs of the connection's state, and the registration it keeps.
type session struct {
	opts Options
	log  *slog.Logger
	acl  []zk.ACL

	// changes is fired on every session event (connected, lost,
	// expired).
	changes signal
	regErr  onceErr

	mu struct {
		sync.Mutex
		conn   *zk.Conn // nil until dialled
		gen    int      // counts the clients made; events of older ones are ignored
		up     bool     // has a session now
		down   bool     // said it was lost or unreachable, not yet back
		ever   bool     // has had a session
		authed bool     // the password was added (the client re-sends it)
		group  *Group   // the group, once known: restored in ZooKeeper if missing
		// A server that accepts the connection and closes it before a
		// session (refused counts them in a row) refuses the client's
		// session: a new ensemble has never seen the transaction id the
		// client presents, and never will. stale asks for a new client.
		tcp     bool
		refused int
		stale   bool
	}
}

// refusals is how many sessions in a row a server may refuse before the
// client is replaced by a new one.
const refusals = 3

func newSession(opts Options, log *slog.Logger) *session {
	s := &session{opts: opts, log: log, acl: zk.WorldACL(zk.PermAll)}
	if opts.Password != "" {
		s.acl = zk.DigestACL(zk.PermAll, "fabric", opts.Password)
	}
	s.changes.ch = make(chan struct{})
	return s
}

func (s *session) conn() *zk.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.conn
}

func (s *session) setGroup(g *Group) {
	s.mu.Lock()
	s.mu.group = g
	s.mu.Unlock()
}

// dial makes the client, which connects (and reconnects) by itself. It
// fails only when no server's name resolves; it then tries again until ctx
// ends.
func (s *session) dial(ctx context.Context) error {
	var logged onceErr
	for {
		s.mu.Lock()
		s.mu.gen++
		gen := s.mu.gen
		s.mu.Unlock()
		c, _, err := zk.Connect(s.opts.Servers, s.opts.SessionTimeout,
			zk.WithLogger(clientLogger{s}), zk.WithLogInfo(false),
			zk.WithEventCallback(func(ev zk.Event) { s.event(gen, ev) }), zk.WithMaxBufferSize(1<<20))
		if err == nil {
			s.mu.Lock()
			s.mu.conn, s.mu.tcp, s.mu.refused, s.mu.stale = c, false, 0, false
			s.mu.authed = false
			s.mu.Unlock()
			return nil
		}
		if logged.changed(err) {
			s.log.Warn("zookeeper unreachable", "servers", s.opts.Servers, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryEvery):
		}
	}
}

// event follows the client's session state (from the client's goroutine:
// it must not block) and logs each change once.
func (s *session) event(gen int, ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	s.mu.Lock()
	if gen != s.mu.gen {
		s.mu.Unlock()
		return
	}
	switch ev.State {
	case zk.StateConnected:
		s.mu.tcp = true
	case zk.StateDisconnected:
		if s.mu.tcp && !s.mu.up {
			s.mu.refused++
			if s.mu.refused == refusals {
				s.log.Warn("zookeeper refuses this member's session (a new ensemble?); starting a new one")
				s.mu.stale = true
			}
		}
		s.mu.tcp = false
	}
	switch ev.State {
	case zk.StateHasSession:
		switch {
		case s.mu.down:
			s.log.Info("zookeeper back", "server", ev.Server)
		case !s.mu.ever:
			s.log.Info("zookeeper connected", "server", ev.Server)
		}
		s.mu.up, s.mu.down, s.mu.ever, s.mu.refused = true, false, true, 0
	case zk.StateDisconnected:
		if s.mu.up {
			s.log.Warn("zookeeper lost; the replicated group goes on without it", "server", ev.Server)
			s.mu.up, s.mu.down = false, true
		}
	case zk.StateExpired:
		s.log.Warn("zookeeper session expired; registering again")
		s.mu.up, s.mu.down = false, true
	}
	s.mu.Unlock()
	s.changes.fire()
}

// unreachable is the client's failure to connect: said once, until a
// session comes.
func (s *session) unreachable(server any, err any) {
	s.mu.Lock()
	first := !s.mu.down && !s.mu.up
	if first {
		s.mu.down = true
	}
	s.mu.Unlock()
	if first {
		s.log.Warn("zookeeper unreachable", "server", fmt.Sprint(server), "err", fmt.Sprint(err))
	}
}

// clientLogger routes the client library's lines into slog: a failure to
// connect once (session does), the rest at debug level.
type clientLogger struct{ s *session }

func (l clientLogger) Printf(format string, args ...any) {
	if format == "failed to connect to %s: %v" && len(args) == 2 {
		l.s.unreachable(args[0], args[1])
		return
	}
	l.s.log.Debug("zookeeper client", "detail", fmt.Sprintf(format, args...))
}

// signal wakes every waiter on each fire.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (g *signal) wait() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ch
}

func (g *signal) fire() {
	g.mu.Lock()
	close(g.ch)
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

// run keeps this member registered until ctx ends, then closes the
// session: dials first if Discover did not, and registers again after
// every new session.
func (s *session) run(ctx context.Context) {
	defer func() {
		if c := s.conn(); c != nil {
			c.Close()
		}
	}()
	if s.conn() == nil && s.dial(ctx) != nil {
		return
	}
	var registered int64 // the session the registration is in
	for ctx.Err() == nil {
		wake := s.changes.wait()
		if s.isStale() {
			s.conn().Close()
			if s.dial(ctx) != nil {
				return
			}
		}
		c := s.conn()
		retry := (<-chan time.Time)(nil)
		if sid := c.SessionID(); c.State() == zk.StateHasSession && sid != registered {
			name, err := s.register(c)
			switch {
			case err == nil:
				registered = sid
				s.regErr.changed(nil)
				s.log.Info("registered in zookeeper", "znode", name)
			case isTransient(err):
				retry = time.After(retryEvery / 4)
			default:
				if s.regErr.changed(err) {
					s.log.Error("zookeeper registration failed", "err", err)
				}
				retry = time.After(retryEvery)
			}
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-retry:
		}
	}
}

// isStale reports whether the client must be replaced (see refused).
func (s *session) isStale() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.stale
}

// isTransient reports whether err is the connection's (try again), not
// the content's.
func isTransient(err error) bool {
	for _, e := range []error{zk.ErrConnectionClosed, zk.ErrNoServer, zk.ErrSessionExpired, zk.ErrClosing, zk.ErrSessionMoved} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
