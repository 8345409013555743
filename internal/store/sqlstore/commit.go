package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// request is one Apply waiting for its group's commit.
type request struct {
	b      *store.Batch
	enc    [][]byte // encoded messages of the OpAdd ops, by op index
	adding int64    // bytes the batch adds
	done   chan error
}

// committerState is owned by the committer goroutine.
type committerState struct {
	idx     index
	lastSeq uint64
	mark    uint64
	gen     int64 // the producers' written generation of the last commit
	// prodsSinceTrim counts producer marks written since the producers
	// table was last trimmed to the store.MinProducers most recent.
	prodsSinceTrim int
	// stale says a transaction failed in a way that leaves its outcome
	// unknown (a lost connection at COMMIT): the index is reloaded from the
	// database before the next group.
	stale bool
	// fenced is set once Options.Fence refused a transaction: every later
	// group fails with it.
	fenced error
}

// commitTimeout bounds one group's transaction, so a database that stops
// answering fails the waiting Apply calls instead of hanging them.
const commitTimeout = 60 * time.Second

// Apply implements store.Store. The batch is encoded by the caller, then
// queued for the committer, which writes it in the next transaction
// together with every other batch waiting; Apply returns when that
// transaction has committed (NoSync batches included: on PostgreSQL a
// group of only NoSync batches commits without waiting for the WAL flush).
func (s *Store) Apply(ctx context.Context, b *store.Batch) error {
	r := &request{b: b, enc: make([][]byte, len(b.Ops)), done: make(chan error, 1)}
	for i, op := range b.Ops {
		switch op.Kind {
		case store.OpAdd:
			enc, err := message.Marshal(nil, op.Msg)
			if err != nil {
				return fmt.Errorf("sqlstore: %w", err)
			}
			r.enc[i] = enc
			r.adding += int64(len(enc))
			fallthrough
		case store.OpRemove:
			if op.Seq > math.MaxInt64 {
				return errSeqRange
			}
		case store.OpPutSub, store.OpDeleteSub:
			if op.Sub == nil {
				return fmt.Errorf("sqlstore: op %d: no subscription", i)
			}
		default:
			return fmt.Errorf("sqlstore: unknown op kind %d", op.Kind)
		}
	}
	start := time.Now()
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	if len(b.Ops) == 0 && b.Mark == 0 {
		s.mu.Unlock()
		return nil
	}
	s.mu.queue = append(s.mu.queue, r)
	s.mu.Unlock()
	s.active.Add(1)
	defer func() {
		// A committer holding a group open for this caller's next batch
		// must learn that it left instead.
		if s.active.Add(-1); s.holding.Load() {
			s.signal()
		}
	}()
	s.signal()
	select {
	case err := <-r.done:
		if err == nil && !b.NoSync {
			s.opts.Meter.Committed(time.Since(start))
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("sqlstore: apply: %w (the batch may still commit)", ctx.Err())
	}
}

// committer writes queued batches, a group per transaction, until Close
// and an empty queue. When fewer batches wait than Apply calls are in
// progress (callers just answered, about to send their next batch), it
// holds the group open for up to GroupWait so they join it: without that,
// closed-loop callers settle into two cohorts taking turns, each group half
// of them.
func (s *Store) committer() {
	defer close(s.done)
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	var holdUntil time.Time
	for {
		s.mu.Lock()
		n, closed := len(s.mu.queue), s.mu.closed
		if n > 0 && !closed && s.opts.GroupWait > 0 && int64(n) < s.active.Load() {
			now := time.Now()
			if holdUntil.IsZero() {
				holdUntil = now.Add(s.opts.GroupWait)
			}
			if now.Before(holdUntil) {
				s.holding.Store(true)
				s.mu.Unlock()
				hold.Reset(holdUntil.Sub(now))
				select {
				case <-s.wake:
					hold.Stop()
				case <-hold.C:
				}
				continue
			}
		}
		s.holding.Store(false)
		reqs := s.take()
		s.mu.Unlock()
		holdUntil = time.Time{}
		if len(reqs) == 0 {
			if closed {
				return
			}
			<-s.wake
			continue
		}
		s.commit(reqs)
	}
}

// take removes the next group from the queue: waiting batches up to
// MaxGroupBytes, at least one. Called with s.mu held.
func (s *Store) take() []*request {
	q := s.mu.queue
	n, bytes := 0, int64(0)
	for n < len(q) && (n == 0 || bytes+q[n].adding <= s.opts.MaxGroupBytes) {
		bytes += q[n].adding
		n++
	}
	reqs := q[:n:n]
	s.mu.queue = q[n:]
	if len(s.mu.queue) == 0 {
		s.mu.queue = nil
	}
	return reqs
}

// commit writes one group and answers its callers.
func (s *Store) commit(reqs []*request) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	c := &s.c
	err := c.fenced
	if err == nil && c.stale {
		err = s.load(ctx)
	}
	if err != nil {
		for _, r := range reqs {
			r.done <- err
		}
		return
	}
	g := newGroup(c.idx, s.bytes.Load(), s.messages.Load(), c.lastSeq, c.mark)
	var accepted []*request
	for _, r := range reqs {
		if limit := s.opts.SizeLimit; r.adding > 0 && limit > 0 && g.bytes+r.adding > limit {
			r.done <- fmt.Errorf("%w: %d of %d bytes used", store.ErrFull, g.bytes, limit)
			continue
		}
		g.apply(r)
		accepted = append(accepted, r)
	}
	if len(accepted) == 0 {
		return
	}
	err = s.write(ctx, g)
	if err == nil {
		g.merge()
		s.bytes.Store(g.bytes)
		s.messages.Store(g.messages)
		c.lastSeq, c.mark = g.lastSeq, g.mark
		c.gen++
		c.prodsSinceTrim += len(g.prods)
		if c.prodsSinceTrim >= store.MinProducers {
			c.prodsSinceTrim = 0
		}
		s.commits.Add(1)
		s.batches.Add(uint64(len(accepted)))
		s.opts.Meter.Grouped(len(accepted))
		if g.sync {
			s.opts.Meter.Synced()
		}
	} else if errors.Is(err, store.ErrUnavailable) {
		c.fenced = err
	} else {
		c.stale = true
		err = s.dbErr("commit", err)
	}
	for _, r := range accepted {
		r.done <- err
	}
}

// write runs the group's transaction.
func (s *Store) write(ctx context.Context, g *group) (err error) {
	c := &s.c
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	stmts := g.statements(s.sd, c.gen+1)
	if q := s.sd.asyncCommit(); !g.sync && q != "" {
		stmts = append([]stmt{{q: q}}, stmts...)
	}
	if g.lastSeq != c.lastSeq || g.mark != c.mark {
		stmts = append(stmts, stmt{`UPDATE pier_meta SET last_seq = ` + s.dialect.Placeholder(1) +
			`, mark = ` + s.dialect.Placeholder(2) + ` WHERE id = 1`, []any{int64(g.lastSeq), int64(g.mark)}})
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return err
		}
	}
	if c.prodsSinceTrim+len(g.prods) >= store.MinProducers {
		if err := s.trimProducers(ctx, tx); err != nil {
			return err
		}
	}
	if s.opts.Fence != nil {
		if err := s.opts.Fence(ctx, tx); err != nil {
			return fmt.Errorf("sqlstore: fenced: %w: %w", store.ErrUnavailable, err)
		}
	}
	return tx.Commit()
}

// trimProducers forgets the producers that at least store.MinProducers
// others were written after.
func (s *Store) trimProducers(ctx context.Context, tx *sql.Tx) error {
	var cutoff int64
	err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT written FROM pier_producers ORDER BY written DESC LIMIT 1 OFFSET %d`,
		store.MinProducers-1)).Scan(&cutoff)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM pier_producers WHERE written < `+s.dialect.Placeholder(1), cutoff)
	return err
}

// load reads the committer's state from the database: the meta row, the
// producers' generation and the size of every stored message.
func (s *Store) load(ctx context.Context) error {
	c := &s.c
	var last, mark int64
	var gen sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT last_seq, mark FROM pier_meta WHERE id = 1`).Scan(&last, &mark)
	if err == nil {
		err = s.db.QueryRowContext(ctx, `SELECT MAX(written) FROM pier_producers`).Scan(&gen)
	}
	idx := index{}
	var bytes, count int64
	if err == nil {
		err = s.query(ctx, `SELECT dest, seq, size FROM pier_messages`, nil, func(rs *sql.Rows) error {
			var dest []byte
			var seq int64
			var size uint32
			if err := rs.Scan(&dest, &seq, &size); err != nil {
				return err
			}
			m := idx[string(dest)]
			if m == nil {
				m = map[uint64]uint32{}
				idx[string(dest)] = m
			}
			m[uint64(seq)] = size
			bytes += int64(size)
			count++
			return nil
		})
	}
	if err != nil {
		return s.dbErr("load", err)
	}
	c.idx, c.lastSeq, c.mark, c.gen, c.stale = idx, max(c.lastSeq, uint64(last)), max(c.mark, uint64(mark)), gen.Int64, false
	s.bytes.Store(bytes)
	s.messages.Store(count)
	return nil
}
