package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

func textMsg(id string) *message.Message {
	return &message.Message{ID: id, Dest: message.Destination{Kind: message.Queue, Name: "q"},
		Persistent: true, BodyKind: message.Text, Body: []byte("body of " + id)}
}

func mustApply(t *testing.T, s *Store, b *store.Batch) {
	t.Helper()
	if err := s.Apply(context.Background(), b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func ids(t *testing.T, s *Store, dest string) string {
	t.Helper()
	recs, err := s.Scan(context.Background(), dest, 0, 0, 0)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	out := ""
	for _, r := range recs {
		out += fmt.Sprintf("%d:%s ", r.Seq, r.Msg.ID)
	}
	return out
}

// TestGroupCommitBatches: many concurrent Apply calls share transactions.
func TestGroupCommitBatches(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			s := open(t, db.driver, db.fresh(t), Options{})
			defer s.Close()
			const workers, each = 64, 20
			var seq atomic.Uint64
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						var b store.Batch
						n := seq.Add(1)
						b.Add("queue://g", n, textMsg(fmt.Sprint(n)))
						if err := s.Apply(context.Background(), &b); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			st := s.Stats()
			t.Logf("%d batches in %d transactions", st.Batches, st.Commits)
			if st.Batches != workers*each {
				t.Fatalf("%d batches committed, want %d", st.Batches, workers*each)
			}
			if st.Commits > st.Batches/4 {
				t.Fatalf("%d batches took %d transactions: not grouped", st.Batches, st.Commits)
			}
			if u := s.Usage(); u.Messages != workers*each {
				t.Fatalf("usage %+v, want %d messages", u, workers*each)
			}
		})
	}
}

// TestBatchNetEffects: within one batch (one group), a message added,
// removed and added again, and a subscription's messages added, deleted
// with it and added again, end as the last op says; usage follows.
func TestBatchNetEffects(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.fresh(t)
			s := open(t, db.driver, dsn, Options{})
			sub := store.Subscription{ClientID: "c", Name: "s", Topic: "t", Dest: "durable://c/s"}
			var b store.Batch
			b.PutSub(sub)
			b.Add(sub.Dest, 1, textMsg("a"))
			b.Add("queue://q", 2, textMsg("b"))
			mustApply(t, s, &b)
			b = store.Batch{}
			b.Remove("queue://q", 2)
			b.Add("queue://q", 2, textMsg("b2"))
			b.Add(sub.Dest, 3, textMsg("c"))
			b.DeleteSub(sub)
			b.Add(sub.Dest, 4, textMsg("d"))
			b.PutSub(sub)
			b.Add("queue://q", 5, textMsg("e"))
			b.Remove("queue://q", 5)
			mustApply(t, s, &b)
			check := func(when string) {
				if got := ids(t, s, "queue://q"); got != "2:b2 " {
					t.Fatalf("%s: queue://q holds %q", when, got)
				}
				if got := ids(t, s, sub.Dest); got != "4:d " {
					t.Fatalf("%s: %s holds %q", when, sub.Dest, got)
				}
				if u := s.Usage(); u.Messages != 2 {
					t.Fatalf("%s: usage %+v, want 2 messages", when, u)
				}
			}
			check("before reopen")
			want := s.Usage()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, db.driver, dsn, Options{})
			defer s.Close()
			check("after reopen")
			if got := s.Usage(); got != want {
				t.Fatalf("usage after reopen %+v, before %+v", got, want)
			}
		})
	}
}

func schemaVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRowContext(context.Background(), `SELECT version FROM pier_schema`).Scan(&v); err != nil {
		t.Fatalf("schema version: %v", err)
	}
	return v
}

// TestMigrateEmptyThenReopen: Open creates the schema in an empty
// database, a re-open finds it current and keeps the data, and a schema
// from a newer Pier is refused.
func TestMigrateEmptyThenReopen(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.fresh(t)
			s := open(t, db.driver, dsn, Options{})
			want := len(dialectOf(s.Dialect()).migrations())
			if v := schemaVersion(t, s.DB()); v != want {
				t.Fatalf("schema version %d after Open, want %d", v, want)
			}
			var b store.Batch
			b.Add("queue://m", 1, textMsg("kept"))
			mustApply(t, s, &b)
			s.Close()

			s = open(t, db.driver, dsn, Options{})
			if v := schemaVersion(t, s.DB()); v != want {
				t.Fatalf("schema version %d after re-open, want %d", v, want)
			}
			var n int
			if err := s.DB().QueryRow(`SELECT COUNT(*) FROM pier_schema`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("pier_schema has %d rows (%v), want 1", n, err)
			}
			if got := ids(t, s, "queue://m"); got != "1:kept " {
				t.Fatalf("after re-open: %q", got)
			}
			if _, err := s.DB().Exec(`UPDATE pier_schema SET version = 999`); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if s, err := Open(context.Background(), db.driver, dsn, Options{}, nil); !errors.Is(err, ErrSchemaTooNew) {
				if err == nil {
					s.Close()
				}
				t.Fatalf("Open over a newer schema: %v, want ErrSchemaTooNew", err)
			}
		})
	}
}

// TestConcurrentMigration: stores opened at once on one empty database
// all succeed, one of them migrating while the others wait for the lock.
func TestConcurrentMigration(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.fresh(t)
			const n = 4
			stores := make([]*Store, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stores[i], errs[i] = Open(context.Background(), db.driver, dsn, Options{}, testLog(t))
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Open %d: %v", i, err)
				} else {
					defer stores[i].Close()
				}
			}
			if t.Failed() {
				return
			}
			if v := schemaVersion(t, stores[0].DB()); v != len(dialectOf(stores[0].Dialect()).migrations()) {
				t.Fatalf("schema version %d", v)
			}
		})
	}
}

// TestReconnectAfterConnectionsKilled: when the database drops the
// store's connections (a restart, a failover), Apply fails at most for
// the group in flight and then works again, and the index is reloaded so
// usage stays exact.
func TestReconnectAfterConnectionsKilled(t *testing.T) {
	kill := map[Dialect]func(*sql.DB) error{
		Postgres: func(admin *sql.DB) error {
			_, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE application_name = 'pier-kill-test'`)
			return err
		},
		MySQL: func(admin *sql.DB) error {
			rs, err := admin.Query(`SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`)
			if err != nil {
				return err
			}
			var ids []int64
			for rs.Next() {
				var id int64
				if err := rs.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			rs.Close()
			for _, id := range ids {
				if _, err := admin.Exec(fmt.Sprintf("KILL %d", id)); err != nil {
					return err
				}
			}
			return nil
		},
	}
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.fresh(t)
			storeDSN := dsn
			if db.driver == "postgres" { // the test's schemas share one database: kill only this store's connections
				storeDSN += "&application_name=pier-kill-test"
			}
			s := open(t, db.driver, storeDSN, Options{})
			defer s.Close()
			admin, d, err := connect(db.driver, dsn, testLog(t))
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			admin.SetMaxOpenConns(1)
			for seq := uint64(1); seq <= 3; seq++ {
				var b store.Batch
				b.Add("queue://r", seq, textMsg(fmt.Sprint(seq)))
				mustApply(t, s, &b)
			}
			if err := kill[d](admin); err != nil {
				t.Fatalf("kill connections: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
			failures := 0
			for seq := uint64(4); seq <= 6; seq++ {
				var b store.Batch
				b.Add("queue://r", seq, textMsg(fmt.Sprint(seq)))
				b.Remove("queue://r", seq-3)
				for s.Apply(context.Background(), &b) != nil {
					if failures++; failures > 2 {
						t.Fatalf("Apply keeps failing after the connections were killed")
					}
				}
			}
			t.Logf("%d Apply failures after the kill", failures)
			if got := ids(t, s, "queue://r"); got != "4:4 5:5 6:6 " {
				t.Fatalf("after reconnecting: %q", got)
			}
			if u := s.Usage(); u.Messages != 3 {
				t.Fatalf("usage %+v, want 3 messages", u)
			}
		})
	}
}

// TestFence: a fence that answers nil lets groups commit; once it refuses,
// the group is rolled back and it and every later Apply fail with
// store.ErrUnavailable.
func TestFence(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.fresh(t)
			var lost atomic.Bool
			var calls atomic.Int64
			fence := func(ctx context.Context, tx *sql.Tx) error {
				calls.Add(1)
				var one int
				if err := tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
					return err
				}
				if lost.Load() {
					return errors.New("lease lost")
				}
				return nil
			}
			s := open(t, db.driver, dsn, Options{Fence: fence})
			defer s.Close()
			var b store.Batch
			b.Add("queue://f", 1, textMsg("1"))
			mustApply(t, s, &b)
			lost.Store(true)
			for seq := uint64(2); seq <= 3; seq++ {
				b = store.Batch{}
				b.Add("queue://f", seq, textMsg(fmt.Sprint(seq)))
				if err := s.Apply(context.Background(), &b); !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("Apply %d after the fence refused: %v, want ErrUnavailable", seq, err)
				}
			}
			if n := calls.Load(); n != 2 {
				t.Fatalf("fence called %d times, want 2 (not again once refused)", n)
			}
			if got := ids(t, s, "queue://f"); got != "1:1 " {
				t.Fatalf("after the fence refused: %q", got)
			}
		})
	}
}

// TestDatabaseCrashLosesNothing: every batch acknowledged before the
// database is killed (SIGKILL, no shutdown) is there after it restarts, and
// the store works on once it is back.
func TestDatabaseCrashLosesNothing(t *testing.T) {
	restart := map[string]func(testing.TB, time.Duration, bool){
		"postgres": dbs.RestartPostgres, "mariadb": dbs.RestartMariaDB,
	}
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			s := open(t, db.driver, db.fresh(t), Options{})
			defer s.Close()
			const workers = 8
			var seq, count atomic.Uint64
			acked := make([][]uint64, workers) // by worker
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for w := range workers {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						var b store.Batch
						n := seq.Add(1)
						b.Add("queue://crash", n, textMsg(fmt.Sprint(n)))
						if s.Apply(context.Background(), &b) != nil {
							return // the database went away
						}
						acked[w] = append(acked[w], n)
						count.Add(1)
					}
				})
			}
			for count.Load() < 200 {
				time.Sleep(time.Millisecond)
			}
			restart[db.name](t, 0, true)
			close(stop)
			wg.Wait()
			recs, err := s.Scan(context.Background(), "queue://crash", 0, 0, 0)
			for i := 0; err != nil && i < 50; i++ { // the pool reconnects
				time.Sleep(100 * time.Millisecond)
				recs, err = s.Scan(context.Background(), "queue://crash", 0, 0, 0)
			}
			if err != nil {
				t.Fatalf("Scan after the restart: %v", err)
			}
			have := map[uint64]bool{}
			for _, r := range recs {
				have[r.Seq] = true
			}
			t.Logf("%d batches acknowledged, %d stored", count.Load(), len(have))
			for _, seqs := range acked {
				for _, n := range seqs {
					if !have[n] {
						t.Fatalf("acknowledged seq %d lost in the crash", n)
					}
				}
			}
			var b store.Batch
			b.Add("queue://crash", seq.Add(1), textMsg("after"))
			mustApply(t, s, &b)
			if u := s.Usage(); u.Messages != int64(len(recs)+1) {
				t.Fatalf("usage %+v, want %d messages", u, len(recs)+1)
			}
		})
	}
}
