package vfs

import "golang.org/x/sys/unix"

// dropCache asks the kernel to drop o's cached pages in [off, off+n).
func (o osFile) dropCache(off, n int64) {
	_ = unix.Fadvise(int(o.f.Fd()), off, n, unix.FADV_DONTNEED)
}
