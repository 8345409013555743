package vfs

import "os"

// DropBehind drops a log file's pages from the operating system's page
// cache once the writes have moved well past them, as BookKeeper's journal
// does: a log is read back only when it is recovered, or for the few
// newest records (a Raft leader sending the entries it just wrote), so
// its pages only take memory that other files could use — and on a
// virtual machine with memory it has not touched yet, every new page the
// page cache takes costs the host's fault as well: writing 256 MiB into
// new pages cost 0.6–1.2 s of CPU here, into pages a log had dropped
// 0.08–0.1 s (docs/performance.md, fourth round). The log's spare, zero-filled
// ahead of time, is then filled from the pages dropped, and a group's
// replicas, which write every message into two logs each, stop growing the
// page cache.
//
// Dropping is advice: pages still dirty are not dropped (the kernel starts
// their writeback), file systems without the call (MemFS, systems other
// than Linux) ignore it, and an error is ignored. The zero value is ready
// for a new file; use one per file.
type DropBehind struct {
	done int64 // dropped up to here
}

const (
	// DropKeep is how far behind the end of a log's writes its pages stay
	// cached.
	DropKeep = 8 << 20
	// dropStep is the least a drop covers: one system call per 4 MiB.
	dropStep = 4 << 20
)

// Wrote tells d that f's writes now end at end. Once at least dropStep
// more lies DropKeep behind end, it drops that range (whole pages).
func (d *DropBehind) Wrote(f File, end int64) {
	to := end - DropKeep
	to -= to % pageSize
	if to-d.done < dropStep {
		return
	}
	if c, ok := f.(cacheDropper); ok {
		c.dropCache(d.done, to-d.done)
	}
	d.done = to
}

var pageSize = int64(os.Getpagesize())

// cacheDropper is a File whose cached pages can be dropped.
type cacheDropper interface {
	dropCache(off, n int64)
}

// Done is where the dropped range ends (0: nothing dropped yet).
func (d *DropBehind) Done() int64 { return d.done }
