package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/ha"
	"github.com/piermq/pier/internal/server"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/sqlstore"
)

// openSQL returns this broker's member of a shared-database group, as the
// store and the server's gate: the lease row (named after the broker)
// decides the master, which opens the SQL store for its span of service,
// every transaction fenced by the lease (docs/sqlstore.md).
func openSQL(cfg *config.Config, meter *store.Meter, log *slog.Logger) (store.Store, server.Gate, error) {
	sc := cfg.Store.SQL
	db, dialect, err := sqlstore.Connect(sc.Driver, sc.DSN, log)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	var rnd [4]byte
	rand.Read(rnd[:])
	lease, err := ha.NewSQLLease(db, ha.SQLLeaseConfig{Dialect: string(dialect), Name: cfg.Broker.Name,
		Holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(rnd[:])), Lease: sc.LeaseDuration})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	var g *ha.Group
	g = ha.NewGroup(lease, func(ctx context.Context, _ func() error) (store.Store, error) {
		epoch := g.Epoch()
		return sqlstore.Open(ctx, sc.Driver, sc.DSN, sqlstore.Options{
			Fence: func(ctx context.Context, tx *sql.Tx) error { return lease.FenceTx(ctx, tx, epoch) },
			Meter: meter,
		}, log)
	}, lease.GroupConfig(), log)
	return sqlGroup{g, db}, g, nil
}

// sqlGroup closes the lease's connection pool with the group.
type sqlGroup struct {
	*ha.Group
	db *sql.DB
}

func (s sqlGroup) Close() error {
	err := s.Group.Close()
	s.db.Close()
	return err
}
