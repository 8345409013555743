package sqlstore

import (
	"database/sql"
	"log/slog"
)

// Connect opens a connection pool to the database as Open does, for other
// users of it (the master lease of a shared-database group). log may be
// nil.
func Connect(driver, dsn string, log *slog.Logger) (*sql.DB, Dialect, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return connect(driver, dsn, log)
}
