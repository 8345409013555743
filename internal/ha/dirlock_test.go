package ha

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLockDirIsExclusiveAndReleased(t *testing.T) {
	dir := t.TempDir()
	l, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks are per open file description: a second open in this
	// process conflicts just as another process would.
	if _, err := LockDir(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	} else if !strings.Contains(err.Error(), "pid") {
		t.Fatalf("error does not name the holder: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}

// A process that dies holding the lock leaves none behind.
func TestLockDirFreedWhenHolderDies(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	dir := t.TempDir()
	f, err := os.Create(dir + "/lock")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// -o: flock(1) holds the lock itself, and sleep does not inherit it.
	cmd := exec.Command("flock", "-o", "-x", dir+"/lock", "sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	for tries := 0; ; tries++ {
		l, err := LockDir(dir)
		if errors.Is(err, ErrLocked) {
			break // flock(1) holds it now
		}
		if err != nil {
			t.Fatal(err)
		}
		l.Unlock() // flock(1) has not taken it yet
		if tries > 500 {
			t.Fatal("the other process never took the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill() // the holder dies; its sleep child lives on without the lock
	cmd.Wait()
	// The child may still hold a copy of the descriptor for an instant
	// (flock -o closes it between fork and exec): the lock is free as soon
	// as that is gone, not necessarily the moment the holder is reaped.
	deadline := time.Now().Add(2 * time.Second)
	for {
		l, err := LockDir(dir)
		if err == nil {
			l.Unlock()
			return
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("lock after the holder died: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
