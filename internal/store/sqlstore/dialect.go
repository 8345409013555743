package sqlstore

import (
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Dialect names the SQL dialect of a store's database.
type Dialect string

// Dialects.
const (
	Postgres Dialect = "postgres" // PostgreSQL, through pgx
	MySQL    Dialect = "mysql"    // MySQL and MariaDB, through go-sql-driver/mysql
)

// Placeholder returns the n-th (1-based) query parameter marker: $n for
// PostgreSQL, ? for MySQL.
func (d Dialect) Placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// connect opens a connection pool for driver ("postgres" or "pgx", or
// "mysql") without registering anything globally. log (may be nil) gets
// the MySQL driver's messages.
func connect(driver, dsn string, log *slog.Logger) (*sql.DB, Dialect, error) {
	switch driver {
	case "postgres", "pgx":
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, "", fmt.Errorf("sqlstore: postgres dsn: %w", err)
		}
		return stdlib.OpenDB(*cfg), Postgres, nil
	case "mysql":
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, "", fmt.Errorf("sqlstore: mysql dsn: %w", err)
		}
		// One round trip per statement instead of prepare, execute and
		// close; the driver escapes the values itself.
		cfg.InterpolateParams = true
		// Learn the server's max_allowed_packet rather than assume 64 MiB.
		cfg.MaxAllowedPacket = 0
		if log != nil {
			cfg.Logger = mysqlLogger{log}
		}
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, "", fmt.Errorf("sqlstore: mysql: %w", err)
		}
		return sql.OpenDB(c), MySQL, nil
	}
	return nil, "", fmt.Errorf("sqlstore: unknown driver %q (want postgres or mysql)", driver)
}

// mysqlLogger hands the MySQL driver's messages (a dropped idle
// connection, a broken packet) to slog.
type mysqlLogger struct{ log *slog.Logger }

func (l mysqlLogger) Print(v ...any) { l.log.Warn("mysql driver", "msg", fmt.Sprint(v...)) }

// stmt is one statement with its arguments.
type stmt struct {
	q    string
	args []any
}

// msgRow is a message row to insert or replace.
type msgRow struct {
	dest string
	seq  uint64
	body []byte
}

// prodRow is a producer mark to raise.
type prodRow struct {
	id  string
	seq int64
}

// sqlDialect writes the statements that differ between the databases.
type sqlDialect interface {
	// migrations returns the schema migrations, in order: migration i+1
	// brings the schema from version i to i+1. Each statement is
	// idempotent.
	migrations() [][]string
	// lock and unlock take and release the migration lock, held by one
	// connection.
	lock() string
	unlock() string
	// upsertMessages inserts or replaces rows.
	upsertMessages(rows []msgRow) []stmt
	// deleteMessages deletes seqs of dest.
	deleteMessages(dest string, seqs []uint64) []stmt
	// upsertProducers raises the producers' marks and sets their written
	// generation.
	upsertProducers(rows []prodRow, written int64) []stmt
	// upsertSub inserts or replaces a subscription (8 parameters, in
	// subColumns order).
	upsertSub() string
	// asyncCommit returns the statement that lets the current transaction
	// commit without waiting for its flush, or "" if the database has none.
	asyncCommit() string
}

const subColumns = "client_id, name, topic, selector, no_local, dest, remote, ttl"

// maxRows bounds the rows of one multi-row statement.
const maxRows = 1000

// maxStmtBytes bounds the message bytes of one multi-row statement (for
// MySQL, whose max_allowed_packet is 16 MiB by default on MariaDB).
const maxStmtBytes = 4 << 20

func dialectOf(d Dialect) sqlDialect {
	if d == Postgres {
		return pgDialect{}
	}
	return myDialect{}
}

// pgDialect: PostgreSQL. Rows go as arrays through unnest, so each
// statement has one fixed text (prepared once per connection by pgx) and
// any number of rows.
type pgDialect struct{}

func (pgDialect) migrations() [][]string {
	return [][]string{{
		`CREATE TABLE IF NOT EXISTS pier_meta (id INT PRIMARY KEY, last_seq BIGINT NOT NULL, mark BIGINT NOT NULL)`,
		`INSERT INTO pier_meta (id, last_seq, mark) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING`,
		`CREATE TABLE IF NOT EXISTS pier_messages (dest BYTEA NOT NULL, seq BIGINT NOT NULL,
			size INT NOT NULL, body BYTEA NOT NULL, PRIMARY KEY (dest, seq))`,
		`CREATE TABLE IF NOT EXISTS pier_subscriptions (client_id BYTEA NOT NULL, name BYTEA NOT NULL,
			topic BYTEA NOT NULL, selector BYTEA NOT NULL, no_local BOOLEAN NOT NULL, dest BYTEA NOT NULL,
			remote BYTEA NOT NULL, ttl INT NOT NULL, PRIMARY KEY (client_id, name))`,
		`CREATE TABLE IF NOT EXISTS pier_producers (id BYTEA PRIMARY KEY, seq BIGINT NOT NULL, written BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS pier_producers_written ON pier_producers (written)`,
	}}
}

// The advisory lock is keyed by a constant and the schema, so stores in
// different schemas of one database do not wait for each other.
func (pgDialect) lock() string {
	return `SELECT pg_advisory_lock(1885955442, hashtext(current_schema()))`
}

func (pgDialect) unlock() string {
	return `SELECT pg_advisory_unlock(1885955442, hashtext(current_schema()))`
}

func (pgDialect) upsertMessages(rows []msgRow) []stmt {
	dests, bodies := make([][]byte, len(rows)), make([][]byte, len(rows))
	seqs, sizes := make([]int64, len(rows)), make([]int32, len(rows))
	for i, r := range rows {
		dests[i], seqs[i], sizes[i], bodies[i] = []byte(r.dest), int64(r.seq), int32(len(r.body)), r.body
	}
	return []stmt{{`INSERT INTO pier_messages (dest, seq, size, body)
		SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::int[], $4::bytea[])
		ON CONFLICT (dest, seq) DO UPDATE SET size = EXCLUDED.size, body = EXCLUDED.body`,
		[]any{dests, seqs, sizes, bodies}}}
}

func (pgDialect) deleteMessages(dest string, seqs []uint64) []stmt {
	s := make([]int64, len(seqs))
	for i, q := range seqs {
		s[i] = int64(q)
	}
	return []stmt{{`DELETE FROM pier_messages WHERE dest = $1 AND seq = ANY($2::bigint[])`, []any{[]byte(dest), s}}}
}

func (pgDialect) upsertProducers(rows []prodRow, written int64) []stmt {
	ids, seqs := make([][]byte, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		ids[i], seqs[i] = []byte(r.id), r.seq
	}
	return []stmt{{`INSERT INTO pier_producers (id, seq, written)
		SELECT id, seq, $3 FROM unnest($1::bytea[], $2::bigint[]) AS p(id, seq)
		ON CONFLICT (id) DO UPDATE SET seq = GREATEST(pier_producers.seq, EXCLUDED.seq), written = EXCLUDED.written`,
		[]any{ids, seqs, written}}}
}

func (pgDialect) upsertSub() string {
	return `INSERT INTO pier_subscriptions (` + subColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (client_id, name) DO UPDATE SET topic = EXCLUDED.topic, selector = EXCLUDED.selector,
		no_local = EXCLUDED.no_local, dest = EXCLUDED.dest, remote = EXCLUDED.remote, ttl = EXCLUDED.ttl`
}

// A transaction with synchronous_commit off is visible at once and made
// durable by the WAL writer within wal_writer_delay (200 ms by default),
// in WAL order: never partly, never after a later synchronous commit.
func (pgDialect) asyncCommit() string { return `SET LOCAL synchronous_commit = off` }

// myDialect: MySQL and MariaDB (InnoDB). Rows go as multi-row VALUES lists
// of at most maxRows rows and maxStmtBytes bytes. Keys are VARBINARY, so
// comparisons are byte-wise whatever the server's collation.
type myDialect struct{}

func (myDialect) migrations() [][]string {
	return [][]string{{
		`CREATE TABLE IF NOT EXISTS pier_meta (id INT PRIMARY KEY, last_seq BIGINT NOT NULL, mark BIGINT NOT NULL) ENGINE=InnoDB`,
		`INSERT IGNORE INTO pier_meta (id, last_seq, mark) VALUES (1, 0, 0)`,
		`CREATE TABLE IF NOT EXISTS pier_messages (dest VARBINARY(1024) NOT NULL, seq BIGINT NOT NULL,
			size INT NOT NULL, body LONGBLOB NOT NULL, PRIMARY KEY (dest, seq)) ENGINE=InnoDB`,
		`CREATE TABLE IF NOT EXISTS pier_subscriptions (client_id VARBINARY(768) NOT NULL, name VARBINARY(768) NOT NULL,
			topic BLOB NOT NULL, selector BLOB NOT NULL, no_local BOOLEAN NOT NULL, dest BLOB NOT NULL,
			remote BLOB NOT NULL, ttl INT NOT NULL, PRIMARY KEY (client_id, name)) ENGINE=InnoDB`,
		`CREATE TABLE IF NOT EXISTS pier_producers (id VARBINARY(1024) PRIMARY KEY, seq BIGINT NOT NULL,
			written BIGINT NOT NULL, INDEX pier_producers_written (written)) ENGINE=InnoDB`,
	}}
}

// GET_LOCK names are server-wide: the name includes the database's.
func (myDialect) lock() string {
	return `SELECT GET_LOCK(CONCAT('pier_schema.', DATABASE()), 60)`
}

func (myDialect) unlock() string {
	return `SELECT RELEASE_LOCK(CONCAT('pier_schema.', DATABASE()))`
}

func (myDialect) upsertMessages(rows []msgRow) []stmt {
	var out []stmt
	for len(rows) > 0 {
		n, size := 0, 0
		for n < len(rows) && n < maxRows && (n == 0 || size+len(rows[n].body) <= maxStmtBytes) {
			size += len(rows[n].body)
			n++
		}
		args := make([]any, 0, 4*n)
		for _, r := range rows[:n] {
			args = append(args, []byte(r.dest), int64(r.seq), len(r.body), r.body)
		}
		out = append(out, stmt{`INSERT INTO pier_messages (dest, seq, size, body) VALUES ` + values(n, 4) +
			` ON DUPLICATE KEY UPDATE size = VALUES(size), body = VALUES(body)`, args})
		rows = rows[n:]
	}
	return out
}

func (myDialect) deleteMessages(dest string, seqs []uint64) []stmt {
	var out []stmt
	for len(seqs) > 0 {
		n := min(len(seqs), maxRows)
		args := make([]any, 0, n+1)
		args = append(args, []byte(dest))
		for _, q := range seqs[:n] {
			args = append(args, int64(q))
		}
		out = append(out, stmt{`DELETE FROM pier_messages WHERE dest = ? AND seq IN (` +
			strings.TrimSuffix(strings.Repeat("?,", n), ",") + `)`, args})
		seqs = seqs[n:]
	}
	return out
}

func (myDialect) upsertProducers(rows []prodRow, written int64) []stmt {
	var out []stmt
	for len(rows) > 0 {
		n := min(len(rows), maxRows)
		args := make([]any, 0, 3*n)
		for _, r := range rows[:n] {
			args = append(args, []byte(r.id), r.seq, written)
		}
		out = append(out, stmt{`INSERT INTO pier_producers (id, seq, written) VALUES ` + values(n, 3) +
			` ON DUPLICATE KEY UPDATE seq = GREATEST(seq, VALUES(seq)), written = VALUES(written)`, args})
		rows = rows[n:]
	}
	return out
}

func (myDialect) upsertSub() string {
	return `INSERT INTO pier_subscriptions (` + subColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE topic = VALUES(topic), selector = VALUES(selector), no_local = VALUES(no_local),
		dest = VALUES(dest), remote = VALUES(remote), ttl = VALUES(ttl)`
}

// InnoDB's flush at commit is a server setting
// (innodb_flush_log_at_trx_commit), not a per-transaction one.
func (myDialect) asyncCommit() string { return "" }

// values returns rows groups of cols question marks: (?,?),(?,?).
func values(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
}
