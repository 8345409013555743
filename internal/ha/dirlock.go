// Package ha decides who may serve: today the exclusive lock on a store
// directory that keeps two brokers from writing one journal; later the
// shared-directory, SQL-lease and Raft-leadership rules of master/slave
// groups.
package ha

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// ErrLocked reports a store directory (or a group's lease) another
// process holds.
var ErrLocked = errors.New("ha: another broker holds it")

// DirLock is an exclusive advisory lock (flock) on a directory's "lock"
// file. The kernel releases it when the process dies, so a killed broker
// never leaves a stale lock behind.
type DirLock struct {
	f *os.File
}

// LockDir takes the lock on dir (creating the directory if needed) without
// waiting; if another process holds it, the error wraps ErrLocked and names
// the holder's pid when it is known.
func LockDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ha: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ha: open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if pid, perr := strconv.Atoi(string(holder)); perr == nil {
				return nil, fmt.Errorf("%w: directory %s (pid %d)", ErrLocked, dir, pid)
			}
			return nil, fmt.Errorf("%w: directory %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("ha: lock %s: %w", path, err)
	}
	// Record the holder for the next one's error message; best effort.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock.
func (l *DirLock) Unlock() error {
	if err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN); err != nil {
		l.f.Close()
		return fmt.Errorf("ha: unlock: %w", err)
	}
	return l.f.Close()
}
