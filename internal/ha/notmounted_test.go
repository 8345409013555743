package ha

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestUnmountedDirIsNotClaimed: a member that has seen the group's epoch
// in the shared directory does not claim the directory once it is gone or
// has no epoch file (a shared file system not mounted leaves an empty mount
// point): it would serve an empty store. A member that only saw another
// master's claim knows it too. A new directory is claimed as before.
func TestUnmountedDirIsNotClaimed(t *testing.T) {
	ctx := context.Background()
	mnt := t.TempDir()
	dir := filepath.Join(mnt, "journal")
	a, b := &dirClaim{dir: dir}, &dirClaim{dir: dir}
	if e, err := a.Acquire(ctx); err != nil || e != 1 {
		t.Fatalf("first claim of a new directory: %d, %v", e, err)
	}
	if _, err := b.Acquire(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("b while a is master: %v", err)
	}
	a.Release()
	// The file system goes: its mount point is empty.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*dirClaim{"a (was master)": a, "b (saw a's claim)": b} {
		if _, err := c.Acquire(ctx); !errors.Is(err, ErrNotGroupDir) {
			t.Fatalf("%s claimed a directory that is gone: %v", name, err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the claim made the directory again: %v", err)
	}
	// An empty directory in its place: no epoch file.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx); !errors.Is(err, ErrNotGroupDir) {
		t.Fatalf("b claimed a directory without its epoch: %v", err)
	}
	// A process that never saw the group (a new one) claims it.
	if e, err := (&dirClaim{dir: dir}).Acquire(ctx); err != nil || e != 1 {
		t.Fatalf("a new member: %d, %v", e, err)
	}
}
