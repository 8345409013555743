package ha

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/storetest"
)

// member is one member of a shared-directory group over a memory store;
// fences records the fence each open was given.
type member struct {
	*Group
	fences []func() error
}

func newMember(t *testing.T, dir string) *member {
	m := &member{}
	m.Group = NewSharedDir(dir, func(ctx context.Context, fence func() error) (store.Store, error) {
		m.fences = append(m.fences, fence)
		return storetest.NewMemory(0), nil
	}, GroupConfig{Poll: 20 * time.Millisecond, Check: 20 * time.Millisecond, Timeout: time.Second}, nil)
	t.Cleanup(func() { m.Close() })
	return m
}

func awaitWithin(t *testing.T, m *member, d time.Duration) (context.Context, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return m.Await(ctx)
}

func TestSharedDirOneMasterAtATime(t *testing.T) {
	dir := t.TempDir()
	a, b := newMember(t, dir), newMember(t, dir)
	if _, err := awaitWithin(t, a, time.Second); err != nil {
		t.Fatal(err)
	}
	if !a.Valid() {
		t.Fatal("a holds the lock but is not valid")
	}
	if _, err := awaitWithin(t, b, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("b became master while a holds the lock: %v", err)
	}
	if e, _ := readEpoch(dir); e != 1 {
		t.Fatalf("epoch %d, want 1", e)
	}
	if err := b.Apply(context.Background(), &store.Batch{}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("the waiting member's store: %v, want ErrUnavailable", err)
	}
	// a stops: b takes over, with a new epoch that fences a's store off.
	a.Close()
	start := time.Now()
	if _, err := awaitWithin(t, b, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("b master %s after a released the lock", time.Since(start).Round(time.Millisecond))
	if e, _ := readEpoch(dir); e != 2 {
		t.Fatalf("epoch %d, want 2", e)
	}
	if err := a.fences[0](); err == nil {
		t.Fatal("a's store is not fenced off after b started")
	}
	if err := b.fences[0](); err != nil {
		t.Fatalf("b's own fence: %v", err)
	}
}

// The master ends its term when its lock file is replaced or another
// master raised the epoch.
func TestSharedDirLostLock(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(dir string) error
	}{
		{"lock file replaced", func(dir string) error {
			if err := os.Remove(filepath.Join(dir, lockName)); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, lockName), nil, 0o644)
		}},
		{"epoch raised", func(dir string) error {
			_, err := raiseEpoch(dir)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a := newMember(t, dir)
			term, err := awaitWithin(t, a, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.lose(dir); err != nil {
				t.Fatal(err)
			}
			select {
			case <-term.Done():
			case <-time.After(2 * time.Second):
				t.Fatal("the master did not notice")
			}
			if a.Valid() {
				t.Fatal("still valid after losing the directory")
			}
		})
	}
}

func TestReadEpoch(t *testing.T) {
	dir := t.TempDir()
	if e, err := readEpoch(dir); e != 0 || err != nil {
		t.Fatalf("no epoch file: %d, %v; want 0, nil", e, err)
	}
	for _, tc := range []struct {
		content string
		want    uint64
		bad     bool
	}{{"7\n", 7, false}, {"18446744073709551615", 1<<64 - 1, false}, {"seven", 0, true}, {"", 0, true},
		{strings.Repeat("1", 40), 0, true}} {
		if err := os.WriteFile(filepath.Join(dir, epochName), []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := readEpoch(dir)
		if (err != nil) != tc.bad || e != tc.want {
			t.Errorf("epoch file %q: %d, %v; want %d (error: %v)", tc.content, e, err, tc.want, tc.bad)
		}
	}
}

// On a local file system the master pins its epoch file and Fence checks
// it with a stat: a newer master's epoch (a file renamed over it) fences
// it off at once, and after Release the pin is gone.
func TestFencePinnedEpoch(t *testing.T) {
	dir := t.TempDir()
	c := &dirClaim{dir: dir}
	e, err := c.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.pin.Load() == nil {
		var fs syscall.Statfs_t
		if err := syscall.Statfs(dir, &fs); err != nil || localFS[int64(fs.Type)] {
			t.Fatalf("no pin on a local file system (statfs %v, type %#x)", err, fs.Type)
		}
		t.Skip("the test directory is not on a file system listed as local")
	}
	if err := c.Fence(e); err != nil {
		t.Fatalf("own epoch: %v", err)
	}
	if err := c.Fence(e + 1); err == nil {
		t.Fatal("a wrong epoch passed the fence")
	}
	if _, err := raiseEpoch(dir); err != nil { // another master, lock aside
		t.Fatal(err)
	}
	if err := c.Fence(e); err == nil {
		t.Fatal("not fenced off after the epoch was raised")
	}
	c.Release()
	if c.pin.Load() != nil {
		t.Fatal("pin kept after Release")
	}
}
