package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/store"
)

// GroupConfig tunes a master/slave group (docs/shared-dir.md).
type GroupConfig struct {
	// Poll is how often a waiting member tries to become master.
	// Default 1s.
	Poll time.Duration
	// Check is how often the master checks (or renews) its claim.
	// Default 1s.
	Check time.Duration
	// Timeout bounds one check: a claim that does not answer within it
	// counts as lost. Default 2s.
	Timeout time.Duration
}

func (c *GroupConfig) ensureDefaults() {
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Check <= 0 {
		c.Check = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
}

// OpenFunc opens (and recovers) the store once this member is master;
// fence is to be asked before every write (the journal's Options.Fence).
type OpenFunc func(ctx context.Context, fence func() error) (store.Store, error)

// Claim is how a member of a master/slave group becomes and stays master:
// the lock on a shared directory (SharedDir), or a lease row in a shared
// database.
type Claim interface {
	// Acquire tries once to become master and returns the new master's
	// epoch; an error wrapping ErrLocked means another member is master.
	Acquire(ctx context.Context) (epoch uint64, err error)
	// Check confirms that this member is still master (a lease renews)
	// and returns until when it may serve without another successful
	// Check; the zero time means Check plus Timeout from now.
	Check(ctx context.Context) (time.Time, error)
	// Fence reports an error once epoch is not the current master's.
	Fence(epoch uint64) error
	// Release gives mastership up.
	Release()
	// Where names the shared resource, for logs.
	Where() string
}

// Group is one member of a master/slave group whose members share a
// store (a directory, a database) and take turns through a Claim: the
// member holding it is master, the others try every Poll. It is a
// store.Store (the store of the current span of service) and the server's
// gate (Await, Handoff, Valid).
//
// Each new master raises the claim's epoch; the store it opens refuses to
// write once the epoch is not its own any more, so a master that lost its
// claim without noticing cannot write after a new one started. The master
// checks its claim every Check and ends its span of service at the first
// failure, or when its deadline passes without a successful check.
type Group struct {
	claim Claim
	open  OpenFunc
	cfg   GroupConfig
	log   *slog.Logger

	epoch    atomic.Uint64 // this member's epoch while master; 0 otherwise
	valid    atomic.Bool
	deadline atomic.Int64 // until when the master may serve (unix nanos)
	// takeover is when this member, waiting to become master, last saw
	// another one hold the claim before it took over (unix nanos): the old
	// master went after that. 0 when it became master without waiting.
	takeover atomic.Int64

	mu struct {
		sync.RWMutex
		st     store.Store
		cancel context.CancelFunc
		done   chan struct{} // the watcher's end
		held   bool
		closed bool
	}
}

// NewGroup returns a member; nothing is claimed before Await.
func NewGroup(claim Claim, open OpenFunc, cfg GroupConfig, log *slog.Logger) *Group {
	cfg.ensureDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Group{claim: claim, open: open, cfg: cfg, log: log.With("component", "ha", "shared", claim.Where())}
}

// Await waits until this member is master, opens the store, and returns a
// context that ends when it stops being master (or ctx ends).
func (g *Group) Await(ctx context.Context) (context.Context, error) {
	g.release()
	var epoch uint64
	var st store.Store
	waiting := ""
	var heldAt time.Time // when another member was last seen master
	for {
		// The time before the try: a refusal says the claim was held
		// then (it may have been freed while the answer came back).
		tried := time.Now()
		e, err := g.claim.Acquire(ctx)
		if errors.Is(err, ErrLocked) {
			heldAt = tried
		}
		if err == nil {
			// Master: open the store. If that fails (storage that is
			// not quite back), give the claim up and try again later,
			// perhaps after another member.
			g.epoch.Store(e)
			if st, err = g.open(ctx, g.fence); err == nil {
				epoch = e
				if !heldAt.IsZero() {
					g.takeover.Store(heldAt.UnixNano())
				} else {
					g.takeover.Store(0)
				}
				break
			}
			g.epoch.Store(0)
			g.claim.Release()
			err = fmt.Errorf("ha: open the store as master: %w", err)
		}
		// Said once per reason: another master (whose lease's time
		// left changes at every try), or the same failure again.
		msg := err.Error()
		if errors.Is(err, ErrLocked) {
			msg = "locked"
		}
		if msg != waiting {
			waiting = msg
			if errors.Is(err, ErrLocked) {
				g.log.Info("another broker is master; waiting", "err", err)
			} else {
				g.log.Warn("cannot become master; trying again", "err", err)
			}
		}
		t := time.NewTimer(g.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	term, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	g.mu.Lock()
	if g.mu.closed {
		g.mu.Unlock()
		cancel()
		st.Close()
		g.claim.Release()
		return nil, store.ErrClosed
	}
	g.mu.st, g.mu.cancel, g.mu.done, g.mu.held = st, cancel, done, true
	g.mu.Unlock()
	g.deadline.Store(time.Now().Add(g.cfg.Check + g.cfg.Timeout).UnixNano())
	g.valid.Store(true)
	g.log.Info("became master", "epoch", epoch)
	go g.watch(term, cancel, done)
	return term, nil
}

// watch checks the claim every Check until term ends; the first failure,
// or a deadline passed, ends the term.
func (g *Group) watch(term context.Context, cancel context.CancelFunc, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(g.cfg.Check)
	defer t.Stop()
	for {
		select {
		case <-term.Done():
			return
		case <-t.C:
		}
		err := g.checkWithin(term)
		if err == nil && !g.Valid() {
			err = errors.New("ha: the claim's deadline passed before it was confirmed")
		}
		if err != nil {
			g.valid.Store(false)
			g.log.Error("lost the claim; no longer master", "err", err)
			cancel()
			return
		}
	}
}

// checkWithin runs the claim's Check, counting one that does not answer
// within Timeout as lost (it may stay blocked), and records the deadline.
func (g *Group) checkWithin(ctx context.Context) error {
	type result struct {
		until time.Time
		err   error
	}
	start := time.Now()
	res := make(chan result, 1)
	cctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	go func() {
		until, err := g.claim.Check(cctx)
		if err == nil {
			err = g.fence() // no newer master started
		}
		res <- result{until, err}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			return r.err
		}
		if r.until.IsZero() {
			r.until = start.Add(g.cfg.Check + g.cfg.Timeout)
		}
		g.deadline.Store(r.until.UnixNano())
		return nil
	case <-time.After(g.cfg.Timeout):
		return fmt.Errorf("ha: %s did not answer within %s", g.claim.Where(), g.cfg.Timeout)
	}
}

// fence reports an error once this member's epoch is not the current one.
func (g *Group) fence() error {
	mine := g.epoch.Load()
	if mine == 0 {
		return errors.New("ha: not master")
	}
	return g.claim.Fence(mine)
}

// TakeoverStart reports when the takeover that made this member master
// began, at the latest: the last time it saw another member hold the
// claim (the old master went after that; its poll interval bounds how
// long after). took is false for a member that found the claim free at
// once: it started rather than took over.
func (g *Group) TakeoverStart() (time.Time, bool) {
	t := g.takeover.Load()
	if t == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, t), true
}

// Epoch returns this member's epoch while it is master, 0 otherwise.
func (g *Group) Epoch() uint64 { return g.epoch.Load() }

// Handoff does nothing: the next member takes over when this one releases
// its claim at Close.
func (g *Group) Handoff() error { return nil }

// Valid reports whether this member may serve: it is master and its
// deadline has not passed.
func (g *Group) Valid() bool {
	return g.valid.Load() && time.Now().UnixNano() < g.deadline.Load()
}

// release ends the current term: the store is closed (its last writes
// refused by the fence if another master started) and the claim released.
func (g *Group) release() {
	g.valid.Store(false)
	g.mu.Lock()
	st, cancel, done, held := g.mu.st, g.mu.cancel, g.mu.done, g.mu.held
	g.mu.st, g.mu.cancel, g.mu.done, g.mu.held = nil, nil, nil, false
	g.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if st != nil {
		if err := closeWithin(st, g.cfg.Timeout); err != nil {
			g.log.Warn("store not closed cleanly", "err", err)
		}
	}
	g.epoch.Store(0)
	if held {
		g.claim.Release()
	}
}

// closeWithin closes st, giving up waiting after d (storage that hangs).
func closeWithin(st store.Store, d time.Duration) error {
	res := make(chan error, 1)
	go func() { res <- st.Close() }()
	select {
	case err := <-res:
		return err
	case <-time.After(d):
		return errors.New("ha: closing the store did not finish in time")
	}
}

// current returns the store of the current span of service.
func (g *Group) current() (store.Store, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	switch {
	case g.mu.closed:
		return nil, store.ErrClosed
	case g.mu.st == nil:
		return nil, fmt.Errorf("ha: %w", store.ErrUnavailable)
	}
	return g.mu.st, nil
}

// Recover implements store.Store.
func (g *Group) Recover(ctx context.Context) (*store.State, error) {
	st, err := g.current()
	if err != nil {
		return nil, err
	}
	return st.Recover(ctx)
}

// Apply implements store.Store. A write that fails for a reason other
// than a full store makes the master check its claim at once: if that
// fails too (the database or directory is gone), the span of service ends
// and the error wraps store.ErrUnavailable, so the protocol adapters close
// the connection and failover clients resend to whichever member is
// master next (their producer marks drop what was stored already) rather
// than see the send fail.
func (g *Group) Apply(ctx context.Context, b *store.Batch) error {
	st, err := g.current()
	if err != nil {
		return err
	}
	err = st.Apply(ctx, b)
	switch {
	case err == nil, errors.Is(err, store.ErrFull), ctx.Err() != nil:
		return err
	case errors.Is(err, store.ErrUnavailable):
		g.lose(err)
		return err
	}
	if cerr := g.checkWithin(ctx); cerr != nil {
		g.lose(cerr)
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// lose ends the current span of service: this member cannot be master.
func (g *Group) lose(why error) {
	g.mu.RLock()
	cancel := g.mu.cancel
	g.mu.RUnlock()
	if cancel == nil || !g.valid.Swap(false) {
		return
	}
	g.log.Error("the store cannot write and the claim is lost; no longer master", "err", why)
	cancel()
}

// Scan implements store.Store.
func (g *Group) Scan(ctx context.Context, dest string, after uint64, max int, maxBytes int64) ([]store.Record, error) {
	st, err := g.current()
	if err != nil {
		return nil, err
	}
	return st.Scan(ctx, dest, after, max, maxBytes)
}

// Usage implements store.Store.
func (g *Group) Usage() store.Usage {
	st, err := g.current()
	if err != nil {
		return store.Usage{}
	}
	return st.Usage()
}

// Close releases the store and the claim; a waiting member takes over.
func (g *Group) Close() error {
	g.mu.Lock()
	if g.mu.closed {
		g.mu.Unlock()
		return store.ErrClosed
	}
	g.mu.closed = true
	g.mu.Unlock()
	g.release()
	return nil
}
