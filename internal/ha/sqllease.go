package ha

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// SQLLeaseConfig describes the lease row of a shared-database group.
type SQLLeaseConfig struct {
	// Dialect is "postgres" or "mysql" (MySQL and MariaDB).
	Dialect string
	// Name names the group's row; members of one group share it.
	Name string
	// Holder identifies this member (unique per process).
	Holder string
	// Lease is how long a lease lasts from its last renewal, by the
	// database's clock.
	Lease time.Duration
}

// SQLLease is the lease row of a shared-database group as a Claim: the
// member holding it is master and renews it every Lease/4; the others try
// every Lease/4 (at most every second) and take it once it expired. A
// master serves only until Lease×9/10 after the start of its last
// successful renewal, by its own clock, so it stops before the lease can
// expire for anyone else (docs/sqlstore.md). Use it with NewGroup and
// GroupConfig; FenceTx fences the store's transactions.
type SQLLease struct {
	db  *sql.DB
	cfg SQLLeaseConfig
	q   leaseQueries

	mu    sync.Mutex
	epoch uint64
	ready bool // the table exists
}

// GroupConfig returns the group timing that goes with the lease.
func (c *SQLLease) GroupConfig() GroupConfig {
	step := c.cfg.Lease / 4
	return GroupConfig{Poll: min(step, time.Second), Check: step, Timeout: step}
}

// FenceTx reports an error unless this member holds an unexpired lease of
// epoch, reading the lease row inside tx with a share lock: a member that
// wants to take the lease over waits until tx ends, so a store
// transaction fenced this way cannot commit after a new master started.
func (c *SQLLease) FenceTx(ctx context.Context, tx *sql.Tx, epoch uint64) error {
	var n int
	if err := tx.QueryRowContext(ctx, c.q.fenceTx, c.cfg.Name, c.cfg.Holder, epoch).Scan(&n); err != nil {
		return fmt.Errorf("ha: check the lease: %w", err)
	}
	if n != 1 {
		return fmt.Errorf("ha: lease %s of epoch %d is not this member's any more", c.cfg.Name, epoch)
	}
	return nil
}

// leaseQueries are the statements of one dialect; the lease is computed
// with the database's clock.
type leaseQueries struct {
	create, insert, take, epoch, holder, renew, fence, fenceTx, release string
}

// NewSQLLease returns the lease; the table is created at the first Acquire.
func NewSQLLease(db *sql.DB, cfg SQLLeaseConfig) (*SQLLease, error) {
	if cfg.Lease <= 0 || cfg.Name == "" || cfg.Holder == "" {
		return nil, fmt.Errorf("ha: sql lease: invalid config %+v", cfg)
	}
	var q leaseQueries
	switch cfg.Dialect {
	case "postgres":
		q = leaseQueries{
			create: `CREATE TABLE IF NOT EXISTS pier_lease (name VARCHAR(200) PRIMARY KEY, holder VARCHAR(200) NOT NULL,
				epoch BIGINT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)`,
			insert: `INSERT INTO pier_lease (name, holder, epoch, expires_at) VALUES ($1, '', 0, now()) ON CONFLICT (name) DO NOTHING`,
			take: `UPDATE pier_lease SET holder = $2, epoch = epoch + 1, expires_at = clock_timestamp() + $3::float8 * interval '1 microsecond'
				WHERE name = $1 AND (holder = '' OR expires_at < clock_timestamp())`,
			epoch:   `SELECT epoch FROM pier_lease WHERE name = $1 AND holder = $2`,
			holder:  `SELECT holder, CAST(EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000 AS BIGINT) FROM pier_lease WHERE name = $1`,
			renew:   `UPDATE pier_lease SET expires_at = clock_timestamp() + $4::float8 * interval '1 microsecond' WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()`,
			fence:   `SELECT COUNT(*) FROM pier_lease WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()`,
			fenceTx: `SELECT COUNT(*) FROM (SELECT 1 FROM pier_lease WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp() FOR SHARE) AS held`,
			release: `UPDATE pier_lease SET holder = '', expires_at = clock_timestamp() WHERE name = $1 AND holder = $2 AND epoch = $3`,
		}
	case "mysql":
		q = leaseQueries{
			create: `CREATE TABLE IF NOT EXISTS pier_lease (name VARCHAR(200) PRIMARY KEY, holder VARCHAR(200) NOT NULL,
				epoch BIGINT NOT NULL, expires_at DATETIME(6) NOT NULL)`,
			insert: `INSERT IGNORE INTO pier_lease (name, holder, epoch, expires_at) VALUES (?, '', 0, SYSDATE(6))`,
			take: `UPDATE pier_lease SET holder = ?, epoch = epoch + 1, expires_at = SYSDATE(6) + INTERVAL ? MICROSECOND
				WHERE name = ? AND (holder = '' OR expires_at < SYSDATE(6))`,
			epoch:   `SELECT epoch FROM pier_lease WHERE name = ? AND holder = ?`,
			holder:  `SELECT holder, TIMESTAMPDIFF(MICROSECOND, SYSDATE(6), expires_at) DIV 1000 FROM pier_lease WHERE name = ?`,
			renew:   `UPDATE pier_lease SET expires_at = SYSDATE(6) + INTERVAL ? MICROSECOND WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > SYSDATE(6)`,
			fence:   `SELECT COUNT(*) FROM pier_lease WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > SYSDATE(6)`,
			fenceTx: `SELECT COUNT(*) FROM (SELECT 1 FROM pier_lease WHERE name = ? AND holder = ? AND epoch = ? AND expires_at > SYSDATE(6) LOCK IN SHARE MODE) AS held`,
			release: `UPDATE pier_lease SET holder = '', expires_at = SYSDATE(6) WHERE name = ? AND holder = ? AND epoch = ?`,
		}
	default:
		return nil, fmt.Errorf("ha: sql lease: dialect %q: want postgres or mysql", cfg.Dialect)
	}
	return &SQLLease{db: db, cfg: cfg, q: q}, nil
}

func (c *SQLLease) Where() string { return "lease " + c.cfg.Name }

func (c *SQLLease) mysql() bool { return c.cfg.Dialect == "mysql" }

// deadline is how long after the start of a successful take or renewal
// this member may serve: well inside the lease.
func (c *SQLLease) deadline(start time.Time) time.Time {
	return start.Add(c.cfg.Lease * 9 / 10)
}

// Acquire takes the lease if nobody holds it or it expired, raising the
// epoch.
func (c *SQLLease) Acquire(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		if _, err := c.db.ExecContext(ctx, c.q.create); err != nil {
			return 0, fmt.Errorf("ha: create the lease table: %w", err)
		}
		c.ready = true
	}
	if _, err := c.db.ExecContext(ctx, c.q.insert, c.cfg.Name); err != nil {
		return 0, fmt.Errorf("ha: lease row: %w", err)
	}
	micros := c.cfg.Lease.Microseconds()
	var res sql.Result
	var err error
	if c.mysql() {
		res, err = c.db.ExecContext(ctx, c.q.take, c.cfg.Holder, micros, c.cfg.Name)
	} else {
		res, err = c.db.ExecContext(ctx, c.q.take, c.cfg.Name, c.cfg.Holder, micros)
	}
	if err != nil {
		return 0, fmt.Errorf("ha: take the lease: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		var holder string
		var leftMs int64
		if err := c.db.QueryRowContext(ctx, c.q.holder, c.cfg.Name).Scan(&holder, &leftMs); err != nil {
			return 0, fmt.Errorf("%w: lease %s", ErrLocked, c.cfg.Name)
		}
		return 0, fmt.Errorf("%w: lease %s (held by %s for %s more)", ErrLocked, c.cfg.Name, holder,
			time.Duration(leftMs)*time.Millisecond)
	}
	var epoch uint64
	if err := c.db.QueryRowContext(ctx, c.q.epoch, c.cfg.Name, c.cfg.Holder).Scan(&epoch); err != nil {
		return 0, fmt.Errorf("ha: lease epoch: %w", err)
	}
	c.epoch = epoch
	return epoch, nil
}

// Check renews the lease.
func (c *SQLLease) Check(ctx context.Context) (time.Time, error) {
	c.mu.Lock()
	epoch := c.epoch
	c.mu.Unlock()
	start := time.Now()
	micros := c.cfg.Lease.Microseconds()
	var res sql.Result
	var err error
	if c.mysql() {
		res, err = c.db.ExecContext(ctx, c.q.renew, micros, c.cfg.Name, c.cfg.Holder, epoch)
	} else {
		res, err = c.db.ExecContext(ctx, c.q.renew, c.cfg.Name, c.cfg.Holder, epoch, micros)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("ha: renew the lease: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return time.Time{}, fmt.Errorf("ha: lease %s lost (epoch %d is not this member's, or it expired)", c.cfg.Name, epoch)
	}
	return c.deadline(start), nil
}

// Fence reports an error unless this member holds an unexpired lease of
// epoch.
func (c *SQLLease) Fence(epoch uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Lease/4)
	defer cancel()
	var n int
	err := c.db.QueryRowContext(ctx, c.q.fence, c.cfg.Name, c.cfg.Holder, epoch).Scan(&n)
	switch {
	case err != nil:
		return fmt.Errorf("ha: check the lease: %w", err)
	case n != 1:
		return fmt.Errorf("ha: lease %s of epoch %d is not this member's any more", c.cfg.Name, epoch)
	}
	return nil
}

// Release gives the lease up at once, so another member takes over
// without waiting for it to expire.
func (c *SQLLease) Release() {
	c.mu.Lock()
	epoch := c.epoch
	c.epoch = 0
	c.mu.Unlock()
	if epoch == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Lease/4)
	defer cancel()
	// An error is not fatal: the lease expires by itself.
	c.db.ExecContext(ctx, c.q.release, c.cfg.Name, c.cfg.Holder, epoch)
}
