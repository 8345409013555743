// Package sqlstore is the store.Store kept in a relational database
// (store.kind: sql): PostgreSQL through pgx, MySQL and MariaDB through
// go-sql-driver/mysql, over database/sql. Pier creates and migrates the
// schema itself. Concurrent Apply calls are written by one committer
// goroutine as one transaction per group (group commit), so a persistent
// send costs a fraction of a round trip under load. See docs/sqlstore.md.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// Options configure a SQL store.
type Options struct {
	// SizeLimit is the most bytes of live messages (encoded) the store
	// holds; batches that add more fail with store.ErrFull. 0: no limit.
	SizeLimit int64
	// MaxGroupBytes bounds the message bytes one transaction writes when
	// several batches wait; a single larger batch is still written whole.
	// Default 8 MiB.
	MaxGroupBytes int64
	// GroupWait is how long the committer may hold a group open for more
	// batches when fewer are queued than Apply calls are in progress. It
	// trades a little latency for larger groups under concurrency. Default
	// 500 µs; negative turns it off.
	GroupWait time.Duration
	// Fence, when set, is called inside every group's transaction, after
	// its writes and before COMMIT: a non-nil answer means this broker is
	// no longer its group's master. The transaction is rolled back, and
	// that group and every later Apply fail with an error wrapping
	// store.ErrUnavailable. For an exact fence, it should read the lease
	// row with a shared lock (SELECT … FOR SHARE on PostgreSQL, LOCK IN
	// SHARE MODE on MySQL), so a new master's take-over waits for this
	// commit, and check that this broker's lease epoch is current.
	Fence func(ctx context.Context, tx *sql.Tx) error
	// Meter, when set, counts the store's transactions (a sync: one that
	// waits for the database's log flush), group sizes and the time a
	// synced batch waits for its commit (for /metrics).
	Meter *store.Meter
}

// Defaults.
const (
	DefaultMaxGroupBytes = 8 << 20
	DefaultGroupWait     = 500 * time.Microsecond
)

// EnsureDefaults fills in zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxGroupBytes == 0 {
		o.MaxGroupBytes = DefaultMaxGroupBytes
	}
	if o.GroupWait == 0 {
		o.GroupWait = DefaultGroupWait
	}
}

// Validate reports options out of range.
func (o Options) Validate() error {
	if o.SizeLimit < 0 {
		return fmt.Errorf("sqlstore: size limit %d is negative", o.SizeLimit)
	}
	if o.MaxGroupBytes < 0 {
		return fmt.Errorf("sqlstore: max group bytes %d is negative", o.MaxGroupBytes)
	}
	return nil
}

// Stats counts the store's work since Open.
type Stats struct {
	Batches uint64 // batches committed
	Commits uint64 // transactions committed (each carries one or more batches)
}

// Store is the SQL store. It implements store.Store.
type Store struct {
	db      *sql.DB
	dialect Dialect
	sd      sqlDialect
	opts    Options
	log     *slog.Logger

	mu struct {
		sync.Mutex
		closed bool
		queue  []*request
	}
	wake chan struct{} // capacity 1: the queue has work, or Close was called
	done chan struct{} // closed when the committer has exited

	active  atomic.Int64 // Apply calls with a batch queued or committing
	holding atomic.Bool  // the committer holds a group open for more batches

	bytes, messages  atomic.Int64
	batches, commits atomic.Uint64

	c committerState // owned by the committer goroutine (and Open before it)
}

var _ store.Store = (*Store)(nil)

// Open connects to the database (driver "postgres" or "mysql"; dsn in the
// driver's syntax: a postgres:// URL or key=value string for pgx, the
// user:pass@tcp(host:port)/db form for go-sql-driver/mysql), creates or
// migrates the schema, and loads the index of stored message sizes. The
// store owns the connection pool and closes it on Close. log may be nil.
func Open(ctx context.Context, driver, dsn string, opts Options, log *slog.Logger) (*Store, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sqlstore")
	db, dialect, err := connect(driver, dsn, log)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, dialect: dialect, sd: dialectOf(dialect), opts: opts, log: log,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	from, to, err := migrate(ctx, db, s.sd)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: migrate schema: %w", err)
	}
	if from != to {
		s.log.Info("schema migrated", "from", from, "to", to)
	}
	if err := s.load(ctx); err != nil {
		db.Close()
		return nil, err
	}
	go s.committer()
	return s, nil
}

// DB returns the store's connection pool, for other users of the same
// database (the master lease). It is closed by Close.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect says which database the store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Stats returns counters of the store's work.
func (s *Store) Stats() Stats {
	return Stats{Batches: s.batches.Load(), Commits: s.commits.Load()}
}

func (s *Store) closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

// dbErr wraps a database error; after Close it is store.ErrClosed.
func (s *Store) dbErr(what string, err error) error {
	if s.closed() {
		return fmt.Errorf("sqlstore: %s: %w", what, store.ErrClosed)
	}
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}

// Recover implements store.Store. It reads everything from the database.
func (s *Store) Recover(ctx context.Context) (*store.State, error) {
	if s.closed() {
		return nil, store.ErrClosed
	}
	st := &store.State{}
	var last, mark int64
	if err := s.db.QueryRowContext(ctx, `SELECT last_seq, mark FROM pier_meta WHERE id = 1`).Scan(&last, &mark); err != nil {
		return nil, s.dbErr("recover", err)
	}
	st.LastSeq, st.Mark = uint64(last), uint64(mark)
	err := s.query(ctx, `SELECT dest, COUNT(*), SUM(size) FROM pier_messages GROUP BY dest ORDER BY dest`, nil,
		func(rs *sql.Rows) error {
			var d store.DestState
			var dest []byte
			if err := rs.Scan(&dest, &d.Count, &d.Bytes); err != nil {
				return err
			}
			d.Dest = string(dest)
			st.Dests = append(st.Dests, d)
			return nil
		})
	if err == nil {
		err = s.query(ctx, `SELECT `+subColumns+` FROM pier_subscriptions ORDER BY client_id, name`, nil,
			func(rs *sql.Rows) error {
				var client, name, topic, sel, dest, remote []byte
				var sub store.Subscription
				if err := rs.Scan(&client, &name, &topic, &sel, &sub.NoLocal, &dest, &remote, &sub.TTL); err != nil {
					return err
				}
				sub.ClientID, sub.Name, sub.Topic, sub.Selector = string(client), string(name), string(topic), string(sel)
				sub.Dest, sub.Remote = string(dest), string(remote)
				st.Subscriptions = append(st.Subscriptions, sub)
				return nil
			})
	}
	if err == nil {
		err = s.query(ctx, `SELECT id, seq FROM pier_producers`, nil, func(rs *sql.Rows) error {
			var id []byte
			var seq int64
			if err := rs.Scan(&id, &seq); err != nil {
				return err
			}
			if st.ProducerSeqs == nil {
				st.ProducerSeqs = map[string]int64{}
			}
			st.ProducerSeqs[string(id)] = seq
			return nil
		})
	}
	if err != nil {
		return nil, s.dbErr("recover", err)
	}
	return st, nil
}

// query runs q and calls each for every row.
func (s *Store) query(ctx context.Context, q string, args []any, each func(*sql.Rows) error) error {
	rs, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := each(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// scanPage is how many rows Scan asks for at a time, so that a small
// maxBytes does not make the database send a whole destination.
const scanPage = 256

// Scan implements store.Store. max <= 0 and maxBytes <= 0 mean no limit.
func (s *Store) Scan(ctx context.Context, dest string, after uint64, max int, maxBytes int64) ([]store.Record, error) {
	if s.closed() {
		return nil, store.ErrClosed
	}
	if max <= 0 {
		max = math.MaxInt
	}
	q := `SELECT seq, body FROM pier_messages WHERE dest = ` + s.dialect.Placeholder(1) + ` AND seq > ` +
		s.dialect.Placeholder(2) + ` ORDER BY seq LIMIT ` + s.dialect.Placeholder(3)
	var out []store.Record
	var total int64
	for after <= math.MaxInt64 && len(out) < max {
		page := min(max-len(out), scanPage)
		n, full := 0, false
		err := s.query(ctx, q, []any{[]byte(dest), int64(after), int64(page)}, func(rs *sql.Rows) error {
			n++
			if full {
				return nil
			}
			var seq int64
			var body []byte
			if err := rs.Scan(&seq, &body); err != nil {
				return err
			}
			if maxBytes > 0 && len(out) > 0 && total+int64(len(body)) > maxBytes {
				full = true
				return nil
			}
			m, err := message.Unmarshal(body)
			if err != nil {
				return fmt.Errorf("seq %d: %w", seq, err)
			}
			out = append(out, store.Record{Seq: uint64(seq), Msg: m})
			total += int64(len(body))
			after = uint64(seq)
			return nil
		})
		if err != nil {
			return nil, s.dbErr("scan "+dest, err)
		}
		if full || n < page {
			break
		}
	}
	return out, nil
}

// Usage implements store.Store.
func (s *Store) Usage() store.Usage {
	return store.Usage{Bytes: s.bytes.Load(), Limit: s.opts.SizeLimit, Messages: s.messages.Load()}
}

// Close implements store.Store: batches already queued are committed
// (or fail), later ones get store.ErrClosed, and the connection pool is
// closed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	s.mu.closed = true
	s.mu.Unlock()
	s.signal()
	<-s.done
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// errSeqRange is returned for a batch with a sequence number the
// databases' signed 64-bit columns cannot hold.
var errSeqRange = errors.New("sqlstore: sequence number above 2^63-1")
