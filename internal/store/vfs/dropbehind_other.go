//go:build !linux

package vfs

import "os"

var pageSize = int64(os.Getpagesize())
