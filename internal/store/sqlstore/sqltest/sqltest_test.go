package sqltest

import (
	"context"
	"os"
	"testing"

	"database/sql"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

var dbs = New()

func TestMain(m *testing.M) {
	code := m.Run()
	dbs.Close()
	os.Exit(code)
}

// TestServersAcceptConnections: each DSN reaches an empty database of its own.
func TestServersAcceptConnections(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(dbs.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		ping(t, stdlib.OpenDB(*cfg), "SELECT current_schema()")
	})
	t.Run("mariadb", func(t *testing.T) {
		cfg, err := mysql.ParseDSN(dbs.MariaDB(t))
		if err != nil {
			t.Fatal(err)
		}
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ping(t, sql.OpenDB(c), "SELECT DATABASE()")
	})
}

func ping(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	defer db.Close()
	var name string
	if err := db.QueryRowContext(context.Background(), q).Scan(&name); err != nil {
		t.Fatal(err)
	}
	t.Logf("connected to %s", name)
}
