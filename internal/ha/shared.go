package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/store"
)

// SharedConfig tunes a shared-directory group (docs/shared-dir.md).
type SharedConfig struct {
	// Poll is how often a waiting member tries the lock. Default 1s.
	Poll time.Duration
	// Check is how often the master checks that it still holds the lock,
	// that no newer master started (the epoch) and that the directory
	// answers. Default 1s.
	Check time.Duration
	// Timeout bounds one check: a directory that does not answer within it
	// counts as lost. Default 2s.
	Timeout time.Duration
}

func (c *SharedConfig) ensureDefaults() {
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

// OpenFunc opens (and recovers) the store in the shared directory once
// this member holds the lock; fence is to be asked before every write (the
// journal's Options.Fence).
type OpenFunc func(ctx context.Context, fence func() error) (store.Store, error)

// SharedDir is master/slave over a shared store directory, as ActiveMQ's
// shared file system master/slave: the member holding the exclusive lock
// on the directory is master, the others wait and try the lock every Poll.
// It is a store.Store (the journal of the current span of service) and the
// server's gate (Await, Handoff, Valid).
//
// Each new master raises the directory's epoch (the file "epoch"); the
// store it opens refuses to write once the epoch is not its own any more,
// so a master that lost its lock without noticing cannot write after a new
// one started. The master checks its lock, the epoch and the directory
// every Check and ends its span of service at the first failure.
type SharedDir struct {
	dir  string
	open OpenFunc
	cfg  SharedConfig
	log  *slog.Logger

	epoch  atomic.Uint64 // this member's epoch while master; 0 otherwise
	valid  atomic.Bool
	lastOK atomic.Int64 // when the last check passed (unix nanos)

	mu struct {
		sync.RWMutex
		lock   *DirLock
		st     store.Store
		cancel context.CancelFunc
		done   chan struct{} // the checker's end
		closed bool
	}
}

// NewSharedDir returns the gate over dir; nothing is locked before Await.
func NewSharedDir(dir string, open OpenFunc, cfg SharedConfig, log *slog.Logger) *SharedDir {
	cfg.ensureDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SharedDir{dir: dir, open: open, cfg: cfg, log: log.With("component", "shared-dir", "dir", dir)}
}

// Await waits until this member holds the lock, raises the epoch, opens
// the store, and returns a context that ends when the master loses the
// directory (or ctx ends).
func (s *SharedDir) Await(ctx context.Context) (context.Context, error) {
	s.release()
	var lock *DirLock
	waiting := ""
	for {
		l, err := LockDir(s.dir)
		if err == nil {
			lock = l
			break
		}
		if msg := err.Error(); msg != waiting {
			waiting = msg
			if errors.Is(err, ErrLocked) {
				s.log.Info("another broker is master; waiting for the lock", "err", err)
			} else {
				s.log.Warn("cannot take the lock; trying again", "err", err)
			}
		}
		t := time.NewTimer(s.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	epoch, err := raiseEpoch(s.dir)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	s.epoch.Store(epoch)
	st, err := s.open(ctx, s.fence)
	if err != nil {
		s.epoch.Store(0)
		lock.Unlock()
		return nil, err
	}
	term, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		cancel()
		st.Close()
		lock.Unlock()
		return nil, store.ErrClosed
	}
	s.mu.lock, s.mu.st, s.mu.cancel, s.mu.done = lock, st, cancel, done
	s.mu.Unlock()
	s.lastOK.Store(time.Now().UnixNano())
	s.valid.Store(true)
	s.log.Info("holding the lock: master", "epoch", epoch)
	go s.watch(term, cancel, done)
	return term, nil
}

// watch checks the directory every Check until term ends; the first
// failure ends the term.
func (s *SharedDir) watch(term context.Context, cancel context.CancelFunc, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.cfg.Check)
	defer t.Stop()
	for {
		select {
		case <-term.Done():
			return
		case <-t.C:
		}
		if err := s.checkWithin(); err != nil {
			s.valid.Store(false)
			s.log.Error("lost the shared directory; no longer master", "err", err)
			cancel()
			return
		}
		s.lastOK.Store(time.Now().UnixNano())
	}
}

// checkWithin runs check, counting a directory that does not answer within
// Timeout as lost (the check itself may stay blocked on it).
func (s *SharedDir) checkWithin() error {
	res := make(chan error, 1)
	go func() { res <- s.check() }()
	select {
	case err := <-res:
		return err
	case <-time.After(s.cfg.Timeout):
		return fmt.Errorf("ha: %s did not answer within %s", s.dir, s.cfg.Timeout)
	}
}

// check verifies that the lock file is still the one locked and the epoch
// still this master's.
func (s *SharedDir) check() error {
	s.mu.RLock()
	lock := s.mu.lock
	s.mu.RUnlock()
	if lock == nil {
		return errors.New("ha: no lock held")
	}
	held, err := lock.f.Stat()
	if err != nil {
		return fmt.Errorf("ha: lock file: %w", err)
	}
	now, err := os.Stat(filepath.Join(s.dir, lockName))
	if err != nil {
		return fmt.Errorf("ha: lock file: %w", err)
	}
	if !os.SameFile(held, now) {
		return errors.New("ha: the lock file was replaced; another broker may hold the new one")
	}
	return s.fence()
}

// fence reports an error once the directory's epoch is not this master's.
func (s *SharedDir) fence() error {
	mine := s.epoch.Load()
	e, err := readEpoch(s.dir)
	switch {
	case err != nil:
		return err
	case mine == 0 || e != mine:
		return fmt.Errorf("ha: epoch %d of %s is not this master's (%d): another broker took over", e, s.dir, mine)
	}
	return nil
}

// Handoff does nothing: the next member takes the lock when this one
// releases it at Close.
func (s *SharedDir) Handoff() error { return nil }

// Valid reports whether this member may serve: it is master and its last
// check passed recently.
func (s *SharedDir) Valid() bool {
	last := time.Unix(0, s.lastOK.Load())
	return s.valid.Load() && time.Since(last) <= s.cfg.Check+s.cfg.Timeout
}

// release ends the current term: the store is closed (its checkpoint
// refused by the fence if another master started) and the lock released.
func (s *SharedDir) release() {
	s.valid.Store(false)
	s.mu.Lock()
	lock, st, cancel, done := s.mu.lock, s.mu.st, s.mu.cancel, s.mu.done
	s.mu.lock, s.mu.st, s.mu.cancel, s.mu.done = nil, nil, nil, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if st != nil {
		if err := closeWithin(st, s.cfg.Timeout); err != nil {
			s.log.Warn("store not closed cleanly", "err", err)
		}
	}
	s.epoch.Store(0)
	if lock != nil {
		if err := lock.Unlock(); err != nil {
			s.log.Warn("unlock", "err", err)
		}
	}
}

// closeWithin closes st, giving up waiting after d (a directory that hangs).
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
func (s *SharedDir) current() (store.Store, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.mu.closed:
		return nil, store.ErrClosed
	case s.mu.st == nil:
		return nil, fmt.Errorf("ha: %w", store.ErrUnavailable)
	}
	return s.mu.st, nil
}

// Recover implements store.Store.
func (s *SharedDir) Recover(ctx context.Context) (*store.State, error) {
	st, err := s.current()
	if err != nil {
		return nil, err
	}
	return st.Recover(ctx)
}

// Apply implements store.Store.
func (s *SharedDir) Apply(ctx context.Context, b *store.Batch) error {
	st, err := s.current()
	if err != nil {
		return err
	}
	return st.Apply(ctx, b)
}

// Scan implements store.Store.
func (s *SharedDir) Scan(ctx context.Context, dest string, after uint64, max int, maxBytes int64) ([]store.Record, error) {
	st, err := s.current()
	if err != nil {
		return nil, err
	}
	return st.Scan(ctx, dest, after, max, maxBytes)
}

// Usage implements store.Store.
func (s *SharedDir) Usage() store.Usage {
	st, err := s.current()
	if err != nil {
		return store.Usage{}
	}
	return st.Usage()
}

// Close releases the store and the lock; a waiting member takes over.
func (s *SharedDir) Close() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	s.mu.closed = true
	s.mu.Unlock()
	s.release()
	return nil
}

// The epoch file: the number of the latest master of the directory,
// written durably (a temporary file, fsync, rename, fsync of the
// directory) by each new master before it opens the store.
const (
	epochName = "epoch"
	lockName  = "lock"
)

func readEpoch(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, epochName))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ha: read epoch: %w", err)
	}
	e, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ha: %s/%s: %q is not an epoch", dir, epochName, b)
	}
	return e, nil
}

func raiseEpoch(dir string) (uint64, error) {
	e, err := readEpoch(dir)
	if err != nil {
		return 0, err
	}
	e++
	tmp := filepath.Join(dir, epochName+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return 0, fmt.Errorf("ha: write epoch: %w", err)
	}
	_, err = f.WriteString(strconv.FormatUint(e, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, epochName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return 0, fmt.Errorf("ha: write epoch: %w", err)
	}
	return e, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
