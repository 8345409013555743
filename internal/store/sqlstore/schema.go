package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrSchemaTooNew is returned by Open when the database's schema was
// migrated by a newer Pier than this one.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this Pier")

// migrate brings the schema up to date. It runs on one connection holding
// the dialect's migration lock (a PostgreSQL advisory lock, a MySQL named
// lock), so two brokers starting at once migrate one after the other; the
// second finds the work done. The version is kept in pier_schema and
// raised after each migration, whose statements are idempotent: a
// migration cut short (MySQL's DDL is not transactional) is simply run
// again.
func migrate(ctx context.Context, db *sql.DB, d sqlDialect) (from, to int, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	var got any // void for pg_advisory_lock; 1, 0 (timed out) or NULL for GET_LOCK
	if err := conn.QueryRowContext(ctx, d.lock()).Scan(&got); err != nil {
		return 0, 0, fmt.Errorf("take the migration lock: %w", err)
	}
	if b, ok := got.([]byte); ok {
		got = string(b)
	}
	if got == nil || fmt.Sprint(got) == "0" {
		return 0, 0, errors.New("take the migration lock: timed out")
	}
	defer func() {
		// A fresh context: the lock must go even when ctx is done (closing
		// the connection would release it too, but it may return to the pool).
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), d.unlock()); uerr != nil && err == nil {
			err = fmt.Errorf("release the migration lock: %w", uerr)
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS pier_schema (version INT NOT NULL)`); err != nil {
		return 0, 0, err
	}
	err = conn.QueryRowContext(ctx, `SELECT version FROM pier_schema`).Scan(&from)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = conn.ExecContext(ctx, `INSERT INTO pier_schema (version) VALUES (0)`)
	}
	if err != nil {
		return 0, 0, err
	}
	ms := d.migrations()
	if from > len(ms) {
		return from, from, fmt.Errorf("%w: version %d, this Pier knows up to %d", ErrSchemaTooNew, from, len(ms))
	}
	for v := from; v < len(ms); v++ {
		for _, q := range ms[v] {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return from, v, fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, `UPDATE pier_schema SET version = `+fmt.Sprint(v+1)); err != nil {
			return from, v, fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	return from, len(ms), nil
}
