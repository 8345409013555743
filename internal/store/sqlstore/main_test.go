package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/store/sqlstore/sqltest"
)

// dbs are the private database servers of this test binary, started on
// first use and stopped by TestMain.
var dbs = sqltest.New()

// TestMain stops the servers and fails the package if a test leaves a
// goroutine behind: every store must be closed, and Close must wait for
// its committer.
func TestMain(m *testing.M) {
	code := m.Run()
	dbs.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// databases are the dialects under test: a driver name and a function
// giving the DSN of a new, empty database.
var databases = []struct {
	name, driver string
	fresh        func(testing.TB) string
}{
	{"postgres", "postgres", func(t testing.TB) string { return dbs.Postgres(t) }},
	{"mariadb", "mysql", func(t testing.TB) string { return dbs.MariaDB(t) }},
}

// testLog returns a logger that writes to the test log when -v is given.
func testLog(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

func open(t testing.TB, driver, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), driver, dsn, opts, testLog(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}
