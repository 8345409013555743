package vfs

import (
	"os"
	"syscall"
)

// datasync makes f's contents durable with fdatasync: the data and the
// metadata needed to read it back (the size), without the timestamps an
// fsync also writes. Overwriting a file whose blocks are already written
// (a zero-filled segment) then costs no file-system journal commit.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
