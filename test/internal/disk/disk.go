// Package disk gives a cross-process test a small filesystem of its own
// whose power can be cut: an ext4 image on a loop device, mounted in the
// test's temporary directory. PowerLoss throws away every write that the
// filesystem has not made durable, as a machine losing power would, and
// mounts the filesystem again (ext4 replays its journal): what an fsync
// (or fdatasync, or a sync of the directory) covered is there, what was
// merely written may be gone, in whole or in part.
//
// The cut is ext4's shutdown ioctl (EXT4_IOC_SHUTDOWN) with
// EXT4_GOING_FLAGS_NOLOGFLUSH, which xfstests uses to simulate a crash
// where device-mapper's dm-flakey is not at hand: the journal is aborted
// without a commit and dirty pages are never written back. The filesystem
// is mounted with commit=60, so that in a short test nothing but an fsync
// commits: everything not synced is at stake, not only the last five
// seconds of it.
//
// It needs root, a loop device, ext4 and mkfs.ext4 (e2fsprogs); New skips
// the test without them.
package disk

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// EXT4_IOC_SHUTDOWN (the same number as XFS_IOC_GOINGDOWN): _IOR('X', 125,
// __u32), and its flag that neither flushes the journal nor writes data.
const (
	iocShutdown        = 0x8004587d
	goingDownNoLogSync = 2
)

// mountOptions: no periodic journal commit during a test (see the package
// comment).
const mountOptions = "loop,commit=60"

// Disk is a mounted filesystem.
type Disk struct {
	// Dir is the mount point.
	Dir string

	t      testing.TB
	image  string
	losses int
}

// New makes an ext4 filesystem of size bytes (a sparse file in the
// test's temporary directory), mounts it and unmounts it when the test
// ends; the loop device goes with the last unmount. It skips the test when
// not run as root, or when the filesystem cannot be made or mounted.
func New(t testing.TB, size int64) *Disk {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk: mounting a loop device needs root")
	}
	tmp := t.TempDir()
	d := &Disk{t: t, Dir: filepath.Join(tmp, "mnt"), image: filepath.Join(tmp, "ext4.img")}
	f, err := os.Create(d.image)
	if err == nil {
		err = errors.Join(f.Truncate(size), f.Close())
	}
	if err == nil {
		err = os.Mkdir(d.Dir, 0o755)
	}
	if err != nil {
		t.Fatalf("disk: %v", err)
	}
	if err := run("mkfs.ext4", "-q", "-F", d.image); err != nil {
		t.Skipf("disk: cannot make an ext4 filesystem: %v", err)
	}
	if err := d.mount(); err != nil {
		t.Skipf("disk: cannot mount an ext4 image on a loop device: %v", err)
	}
	t.Cleanup(func() {
		if err := d.unmount(); err != nil {
			t.Errorf("disk: %v", err)
		}
	})
	return d
}

func (d *Disk) mount() error {
	return run("mount", "-t", "ext4", "-o", mountOptions, d.image, d.Dir)
}

// unmount unmounts the filesystem, waiting a little for processes that are
// about to let go of it; at worst it detaches it lazily.
func (d *Disk) unmount() error {
	var err error
	for range 50 {
		if err = run("umount", d.Dir); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lazy := run("umount", "-l", d.Dir); lazy != nil {
		return fmt.Errorf("%w; lazily: %w", err, lazy)
	}
	return fmt.Errorf("%w (detached lazily)", err)
}

// PowerLoss cuts the power: every write not yet durable is dropped, and
// the filesystem is mounted again as after a reboot. Processes using the
// filesystem must be gone first (kill them: their open files would hold
// the unmount). It returns how long the filesystem was away.
func (d *Disk) PowerLoss() (time.Duration, error) {
	start := time.Now()
	if err := d.Fail(); err != nil {
		return 0, err
	}
	d.losses++
	if err := d.Recover(); err != nil {
		return 0, fmt.Errorf("disk: power loss %d: %w", d.losses, err)
	}
	return time.Since(start), nil
}

// Fail makes the filesystem answer every read and write with an error
// from now on, as storage that became unreachable, while processes keep
// using it; what was not durable is lost. Recover brings it back.
func (d *Disk) Fail() error { return d.shutdown() }

// Recover mounts the filesystem again after Fail (detaching it lazily
// from processes that still hold files on it).
func (d *Disk) Recover() error {
	if err := d.unmount(); err != nil && !strings.Contains(err.Error(), "detached lazily") {
		return err
	}
	if err := d.mount(); err != nil {
		return fmt.Errorf("mount again: %w", err)
	}
	return nil
}

// shutdown stops the filesystem at once: from here on it reads and writes
// nothing, and its dirty pages and running journal transaction are lost.
func (d *Disk) shutdown() error {
	f, err := os.Open(d.Dir)
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	defer f.Close()
	flags := uint32(goingDownNoLogSync)
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), iocShutdown, uintptr(unsafe.Pointer(&flags)))
	if errno != 0 {
		return fmt.Errorf("disk: shutdown ioctl on %s: %w", d.Dir, errno)
	}
	return nil
}

// run runs a command; its error carries the command's output.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
