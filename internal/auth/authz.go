package auth

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/piermq/pier/internal/message"
)

// DeniedError is a refused access, worded as ActiveMQ words it.
type DeniedError struct {
	User   string
	Action Action
	Dest   message.Destination
	Reason string // why, beyond the missing grant; may be empty
}

func (e *DeniedError) Error() string {
	msg := fmt.Sprintf("User %s is not authorized to %s: %s", e.User, e.Action.verb(), e.Dest)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrNotAuthorized) true.
func (e *DeniedError) Is(target error) bool { return target == ErrNotAuthorized }

// AdvisoryPrefix starts the names of the broker's advisory topics.
const AdvisoryPrefix = "ActiveMQ.Advisory."

// Advisory topics every authenticated subject may read: the JMS client
// subscribes to them on every connection to learn which temporary
// destinations exist.
var tempAdvisories = []string{"ActiveMQ.Advisory.TempQueue", "ActiveMQ.Advisory.TempTopic"}

// Authorize reports whether s may do a on d, one destination (the caller
// splits composite destinations and asks for each member). A destination
// name with wildcards is allowed only where the entries that cover every
// name it matches allow it. Temporary destinations are asked about only
// for a connection that does not own them (and for creating one): the
// temp_destinations entry decides, and without one only creating is
// allowed. Advisory topics are written by the broker alone; the temporary
// destination advisories are readable by every subject. A refusal is a
// *DeniedError (errors.Is ErrNotAuthorized) and is logged.
func (g *Guard) Authorize(s *Subject, a Action, d message.Destination) error {
	if !g.opts.Enforced || s.system {
		return nil
	}
	err := g.check(s, a, d)
	if err != nil {
		g.denials.log(g, s, a, d, err)
	}
	return err
}

func (g *Guard) check(s *Subject, a Action, d message.Destination) error {
	deny := &DeniedError{User: s.User, Action: a, Dest: d}
	switch {
	case d.Kind.IsTemp():
		if g.temp == nil {
			if a == Admin {
				return nil
			}
			deny.Reason = "temporary destinations are usable by their own connection only"
			return deny
		}
		if g.anyGroup(s, g.temp.of(a)) {
			return nil
		}
		return deny
	case d.Kind == message.Topic && strings.HasPrefix(d.Name, AdvisoryPrefix):
		switch a {
		case Write:
			deny.Reason = "advisory topics are written by the broker only"
			return deny
		case Admin:
			return nil // the broker's advisory topics always exist
		}
		for _, t := range tempAdvisories {
			if d.Name == t {
				return nil
			}
		}
	}
	if len(g.entries) == 0 {
		return nil
	}
	wild := d.IsWildcard()
	parts := strings.Split(d.Name, ".")
	for i := range g.entries {
		e := &g.entries[i]
		if e.Topic != d.Kind.IsTopic() || !g.anyGroup(s, e.of(a)) {
			continue
		}
		if wild && covers(e.parts, parts) || !wild && message.Match(e.Pattern, d.Name) {
			return nil
		}
	}
	return deny
}

// covers reports whether every name that pattern p matches is matched by
// pattern e (parts split at dots; * is one part, > one or more).
func covers(e, p []string) bool {
	for i := 0; ; i++ {
		switch {
		case i == len(e):
			return i == len(p)
		case e[i] == ">":
			return i < len(p)
		case i == len(p), p[i] == ">":
			return false
		case e[i] == "*":
			continue
		case p[i] == "*" || e[i] != p[i]:
			return false
		}
	}
}

// denialLog writes each (user, action, destination) refusal at most once
// per denialEvery, counting the ones it left out: a client that retries a
// forbidden send in a loop does not flood the log.
type denialLog struct {
	mu   sync.Mutex
	seen map[string]*denialMark
}

type denialMark struct {
	last       time.Time
	suppressed int
}

const denialEvery = 10 * time.Second

func (l *denialLog) log(g *Guard, s *Subject, a Action, d message.Destination, err error) {
	key := s.User + "\x00" + a.String() + "\x00" + d.String()
	now := g.opts.Now()
	l.mu.Lock()
	if l.seen == nil || len(l.seen) > 10000 {
		l.seen = map[string]*denialMark{}
	}
	m := l.seen[key]
	if m != nil && now.Sub(m.last) < denialEvery {
		m.suppressed++
		l.mu.Unlock()
		return
	}
	repeated := 0
	if m != nil {
		repeated = m.suppressed
	}
	l.seen[key] = &denialMark{last: now}
	l.mu.Unlock()
	attrs := []any{"user", s.User, "action", a.String(), "dest", d.String(), "err", err.Error()}
	if repeated > 0 {
		attrs = append(attrs, "repeated", repeated)
	}
	g.log.Warn("access denied", attrs...)
}
