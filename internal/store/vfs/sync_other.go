//go:build !linux

package vfs

import "os"

// datasync makes f's contents durable (fsync where fdatasync is not
// available).
func datasync(f *os.File) error { return f.Sync() }
