package ha

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/piermq/pier/internal/store/sqlstore/sqltest"
)

// sqlServers are private PostgreSQL and MariaDB servers, started on first
// use and stopped by TestMain.
var sqlServers = sqltest.New()

func TestMain(m *testing.M) {
	code := m.Run()
	sqlServers.Close()
	os.Exit(code)
}

// leaseDBs opens a new database of each kind.
func leaseDBs(t *testing.T) map[string]*sql.DB {
	t.Helper()
	out := map[string]*sql.DB{}
	for _, d := range []struct{ dialect, driver, dsn string }{
		{"postgres", "pgx", sqlServers.Postgres(t)},
		{"mysql", "mysql", sqlServers.MariaDB(t)},
	} {
		db, err := sql.Open(d.driver, d.dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		out[d.dialect] = db
	}
	return out
}

func TestSQLLease(t *testing.T) {
	for dialect, db := range leaseDBs(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			const lease = 600 * time.Millisecond
			mk := func(holder string) *SQLLease {
				c, err := NewSQLLease(db, SQLLeaseConfig{Dialect: dialect, Name: "group", Holder: holder, Lease: lease})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			a, b := mk("a"), mk("b")
			ea, err := a.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Acquire(ctx); !errors.Is(err, ErrLocked) {
				t.Fatalf("b took a held lease: %v", err)
			}
			// Renewals keep it a's beyond the lease.
			for range 4 {
				time.Sleep(lease / 3)
				until, err := a.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if d := time.Until(until); d <= 0 || d > lease {
					t.Fatalf("deadline %s from now, want within the lease", d)
				}
				if _, err := b.Acquire(ctx); !errors.Is(err, ErrLocked) {
					t.Fatalf("b took a renewed lease: %v", err)
				}
			}
			if err := a.Fence(ea); err != nil {
				t.Fatalf("a's own fence: %v", err)
			}
			fenceTx := func(c *SQLLease, epoch uint64) error {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				if err := c.FenceTx(ctx, tx, epoch); err != nil {
					return err
				}
				return tx.Commit()
			}
			if err := fenceTx(a, ea); err != nil {
				t.Fatalf("a's own fence in a transaction: %v", err)
			}
			// a stops renewing: b takes it once it expired, with a new epoch;
			// a's renewal and fence fail from then on.
			time.Sleep(lease + 100*time.Millisecond)
			eb, err := b.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if eb != ea+1 {
				t.Fatalf("epochs %d then %d", ea, eb)
			}
			if _, err := a.Check(ctx); err == nil {
				t.Fatal("a renewed a lease b holds")
			}
			if err := a.Fence(ea); err == nil {
				t.Fatal("a's fence passes after b took over")
			}
			if err := fenceTx(a, ea); err == nil {
				t.Fatal("a's fence in a transaction passes after b took over")
			}
			if err := fenceTx(b, eb); err != nil {
				t.Fatalf("b's fence in a transaction: %v", err)
			}
			// Released: a takes it at once.
			b.Release()
			if _, err := a.Acquire(ctx); err != nil {
				t.Fatalf("after b released: %v", err)
			}
		})
	}
}
