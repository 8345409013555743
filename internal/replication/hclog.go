package replication

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// raftLogger is the hclog.Logger hashicorp/raft writes to. Each of raft's
// lines becomes one slog record: raft's message is the record's message and
// its key/value pairs become attributes, with Pier's key names ("err" for
// "error", "peer" for a member, spaces and dashes as underscores); a member
// raft names by address or as a raft.Server is given by its id. Lines that
// raft repeats while a member is away (a heartbeat every few hundred
// milliseconds that fails) pass through a repeats limiter: the first is
// written, then one an interval with how many were held back (see
// repeats).
type raftLogger struct {
	log    *slog.Logger
	name   string
	args   []any
	level  *atomic.Int32 // an hclog.Level, shared by the loggers derived from one
	limit  *repeats      // nil: nothing is held back
	member func(addr string) string
}

// newRaftLogger returns the logger for raft; member turns a replication
// address into a member's id ("" when it is none). limit may be nil.
func newRaftLogger(log *slog.Logger, limit *repeats, member func(addr string) string) *raftLogger {
	l := &raftLogger{log: log, name: "raft", level: new(atomic.Int32), limit: limit, member: member}
	l.level.Store(int32(hclog.Info))
	return l
}

var _ hclog.Logger = (*raftLogger)(nil)

// slogLevel maps an hclog level to slog's (Trace is below Debug).
func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// repeating names the lines raft writes again and again while one
// condition lasts, and what the condition is about: a member that does not
// answer (the leader's heartbeats and appends, a candidate's vote
// requests) or the election itself. The value is the family of the line:
// the lines of one family about one member share one limit.
var repeating = map[string]string{
	"failed to heartbeat to":                                 "unreachable",
	"failed to appendEntries to":                             "unreachable",
	"failed to contact":                                      "unreachable",
	"failed to make requestVote RPC":                         "unreachable",
	"entering candidate state":                               "election",
	"heartbeat timeout reached, starting election":           "election",
	"Election timeout reached, restarting election":          "election",
	"failed to contact quorum of nodes, stepping down":       "quorum",
	"pre-vote campaign failed, waiting for election timeout": "election",
}

func (l *raftLogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level == hclog.NoLevel && hclog.Info < l.GetLevel() || level != hclog.NoLevel && level < l.GetLevel() {
		return
	}
	if level >= hclog.Warn && stopping(args) {
		level = hclog.Debug // a clean stop is not a failure
	}
	if msg == "failed to decode incoming command" && level > hclog.Warn && peerGone(args) {
		level = hclog.Warn // a member's connection cut: it stopped or died
	}
	if repeating[msg] == "unreachable" && level > hclog.Warn {
		// A member that does not answer (stopped, restarting, cut off)
		// leaves the group degraded, not this member failing: a warning,
		// said once (see repeats). Losing the quorum is a state change.
		level = hclog.Warn
	}
	lvl := slogLevel(level)
	if !l.log.Enabled(context.Background(), lvl) {
		return
	}
	attrs := make([]slog.Attr, 0, 1+(len(l.args)+len(args))/2)
	attrs = append(attrs, slog.String("lib", l.name))
	attrs = l.appendPairs(attrs, l.args)
	attrs = l.appendPairs(attrs, args)
	if family, ok := repeating[msg]; ok && l.limit != nil {
		key := repeatKey{family: family}
		for _, a := range attrs {
			if a.Key == "peer" {
				key.peer = a.Value.String()
			}
		}
		if family == "election" || family == "quorum" {
			key.family = msg // each its own line, about the group
		}
		ok, held, lasted := l.limit.admit(key)
		if !ok {
			return
		}
		if held > 0 {
			attrs = append(attrs, slog.Int("suppressed", held), slog.String("for", lasted.Round(time.Second).String()))
		}
	}
	l.log.LogAttrs(context.Background(), lvl, msg, attrs...)
}

// stopping reports whether a line's error is raft's (or its transport's)
// being shut down: what raft says of a connection or an RPC cut short
// while this member stops cleanly.
func stopping(args []any) bool {
	for i := 1; i < len(args); i += 2 {
		if err, ok := args[i].(error); ok && (errors.Is(err, raft.ErrTransportShutdown) || errors.Is(err, raft.ErrRaftShutdown)) {
			return true
		}
	}
	return false
}

// peerGone reports whether a line's error is a connection the other end
// cut (EOF, reset).
func peerGone(args []any) bool {
	for i := 1; i < len(args); i += 2 {
		if err, ok := args[i].(error); ok && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)) {
			return true
		}
	}
	return false
}

// appendPairs turns hclog's alternating keys and values into attributes.
func (l *raftLogger) appendPairs(attrs []slog.Attr, args []any) []slog.Attr {
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			attrs = append(attrs, slog.Any("extra", plainValue(args[i])))
			break
		}
		if _, self := args[i+1].(*raft.Raft); self {
			// "Node at host:port [State]": this member, which the
			// logger names already (and its "node" key would repeat).
			continue
		}
		key := attrKey(args[i])
		attrs = append(attrs, l.attr(key, args[i+1]))
	}
	return attrs
}

// attrKey turns one of raft's keys into Pier's: "error" is "err",
// "server-id", "target" and the like name a member ("peer"), and spaces
// and dashes become underscores ("backoff time" is "backoff_time").
func attrKey(k any) string {
	s, ok := k.(string)
	if !ok {
		s = fmt.Sprint(k)
	}
	switch s {
	case "error":
		return "err"
	case "peer", "target", "server-id":
		return "peer"
	}
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(s))
}

// attr makes one attribute; a member (by address, id or raft.Server) is
// named by its id when it is one of the group.
func (l *raftLogger) attr(key string, v any) slog.Attr {
	switch x := v.(type) {
	case raft.Server:
		return slog.String(key, string(x.ID))
	case *raft.Server:
		if x != nil {
			return slog.String(key, string(x.ID))
		}
	case raft.ServerID:
		return slog.String(key, string(x))
	case raft.ServerAddress:
		if id := l.memberOf(string(x)); id != "" && key == "peer" {
			return slog.String(key, id)
		}
		return slog.String(key, string(x))
	}
	return slog.Any(key, plainValue(v))
}

func (l *raftLogger) memberOf(addr string) string {
	if l.member == nil {
		return ""
	}
	return l.member(addr)
}

// plainValue makes a value slog can print as it is: an error or a
// Stringer as its text, a duration as "1.5s", hclog.Fmt formatted.
func plainValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case error:
		return x.Error()
	case time.Duration:
		return x.String()
	case hclog.Format:
		if len(x) > 0 {
			if f, ok := x[0].(string); ok {
				return fmt.Sprintf(f, x[1:]...)
			}
		}
		return fmt.Sprint([]any(x)...)
	case fmt.Stringer:
		return x.String()
	case string, bool, int, int32, int64, uint, uint32, uint64, float32, float64, time.Time:
		return x
	}
	return fmt.Sprint(v)
}

func (l *raftLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *raftLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *raftLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *raftLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *raftLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *raftLogger) enabled(level hclog.Level) bool {
	return level >= l.GetLevel() && l.log.Enabled(context.Background(), slogLevel(level))
}

func (l *raftLogger) IsTrace() bool { return l.enabled(hclog.Trace) }
func (l *raftLogger) IsDebug() bool { return l.enabled(hclog.Debug) }
func (l *raftLogger) IsInfo() bool  { return l.enabled(hclog.Info) }
func (l *raftLogger) IsWarn() bool  { return l.enabled(hclog.Warn) }
func (l *raftLogger) IsError() bool { return l.enabled(hclog.Error) }

func (l *raftLogger) ImpliedArgs() []any { return l.args }

func (l *raftLogger) With(args ...any) hclog.Logger {
	c := *l
	c.args = append(append([]any(nil), l.args...), args...)
	return &c
}

func (l *raftLogger) Name() string { return l.name }

func (l *raftLogger) Named(name string) hclog.Logger {
	c := *l
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

func (l *raftLogger) ResetNamed(name string) hclog.Logger {
	c := *l
	c.name = name
	return &c
}

func (l *raftLogger) SetLevel(level hclog.Level) { l.level.Store(int32(level)) }
func (l *raftLogger) GetLevel() hclog.Level      { return hclog.Level(l.level.Load()) }

func (l *raftLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

// StandardWriter returns a writer for code that logs through the standard
// library's log package: each line is one record, its level read from a
// leading [ERROR], [WARN], [INFO], [DEBUG] or [TRACE] (or [ERR]), Info
// otherwise.
func (l *raftLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	force := hclog.NoLevel
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		force = opts.ForceLevel
	}
	return stdWriter{l, force}
}

type stdWriter struct {
	l     *raftLogger
	force hclog.Level
}

func (w stdWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\r\n"), []byte("\n")) {
		level, msg := hclog.Info, strings.TrimSpace(string(line))
		for _, pre := range []struct {
			tag   string
			level hclog.Level
		}{{"[ERROR]", hclog.Error}, {"[ERR]", hclog.Error}, {"[WARN]", hclog.Warn}, {"[INFO]", hclog.Info},
			{"[DEBUG]", hclog.Debug}, {"[TRACE]", hclog.Trace}} {
			if rest, ok := strings.CutPrefix(msg, pre.tag); ok {
				level, msg = pre.level, strings.TrimSpace(rest)
				break
			}
		}
		if w.force != hclog.NoLevel {
			level = w.force
		}
		if msg != "" {
			w.l.Log(level, msg)
		}
	}
	return len(p), nil
}
