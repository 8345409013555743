package bench

// The disk probe: the rate at which one writer can make small records
// durable on a file system, which bounds the persistent throughput of any
// broker that syncs its journal there, and what each sync costs this
// process in CPU. The bench/compare-*.sh scripts run it at their start and
// end (`pier bench --disk DIR`). Linux only, like the journal's tests: it
// calls fdatasync(2) and getrusage(2) through package syscall.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/piermq/pier/internal/store/vfs"
)

// DiskConfig describes one disk probe.
type DiskConfig struct {
	Dir      string        // required: the directory of the temporary file
	Count    int           // records; default 3000 unless Duration is set
	Duration time.Duration // write records for this long instead
	Size     int           // bytes per record, default 1024
	// Overwrite zero-fills and syncs the file first (Count records, or
	// overwriteSpan bytes for a Duration, written round and round), then
	// overwrites it: the pattern of a journal whose segments are made
	// ahead of time, where fdatasync need not record a new size.
	Overwrite bool
}

// overwriteSpan is the file an Overwrite probe with a Duration writes
// round and round.
const overwriteSpan = 64 << 20

// EnsureDefaults fills zero fields: 3,000 records unless a duration is
// given, 1 KiB each.
func (c DiskConfig) EnsureDefaults() DiskConfig {
	if c.Count == 0 && c.Duration == 0 {
		c.Count = 3000
	}
	if c.Size == 0 {
		c.Size = 1024
	}
	return c
}

// Validate reports a configuration that cannot run.
func (c DiskConfig) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("bench: disk probe: no directory")
	case c.Count < 0 || c.Duration < 0 || c.Size < 1:
		return errors.New("bench: disk probe: count and duration must not be negative, size must be positive")
	case c.Count > 0 && c.Duration > 0:
		return errors.New("bench: disk probe: give a count or a duration, not both")
	}
	return nil
}

// DiskResult is the outcome of one disk probe. A latency is that of one
// record: its WriteAt and the fdatasync after it. The JSON is flat, each key
// once, for the scripts' greps.
type DiskResult struct {
	Dir          string  `json:"dir"`
	Mode         string  `json:"mode"` // append or overwrite
	Size         int     `json:"size"`
	Syncs        int64   `json:"syncs"`
	Seconds      float64 `json:"seconds"`
	SyncsPerSec  float64 `json:"syncs_per_sec"`
	MeanUs       float64 `json:"mean_us"`
	P50Us        float64 `json:"p50_us"`
	P99Us        float64 `json:"p99_us"`
	MaxUs        float64 `json:"max_us"`
	CPUMs        float64 `json:"cpu_ms"`          // process user + system time over the probe
	CPUUsPerSync float64 `json:"cpu_us_per_sync"` // CPUMs per sync, in µs
}

// Disk appends Size-byte records to a new temporary file in cfg.Dir (or
// overwrites a zero-filled one, with Overwrite), one WriteAt and one
// fdatasync per record from one goroutine, until Count
// records or Duration, then removes the file. The CPU time is this whole
// process's (getrusage RUSAGE_SELF), so it is the probe's own only when
// nothing else runs in the process, as in `pier bench --disk`. If ctx ends
// during the probe, Disk returns the partial result with ctx.Err().
func Disk(ctx context.Context, cfg DiskConfig) (res *DiskResult, err error) {
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(cfg.Dir, "pier-disk-probe-*")
	if err != nil {
		return nil, fmt.Errorf("bench: disk probe: %w", err)
	}
	defer func() {
		cerr := f.Close()
		if rerr := os.Remove(f.Name()); cerr == nil {
			cerr = rerr
		}
		if cerr != nil && err == nil {
			res, err = nil, fmt.Errorf("bench: disk probe: %w", cerr)
		}
	}()
	rec := makeBody(cfg.Size)
	span := int64(0) // bytes written round and round; 0: append
	if cfg.Overwrite {
		span = overwriteSpan
		if cfg.Count > 0 {
			span = int64(cfg.Count) * int64(cfg.Size)
		}
		span -= span % int64(cfg.Size)
		if err := vfs.ZeroFill(f, 0, span); err != nil {
			return nil, fmt.Errorf("bench: disk probe: zero-fill %s: %w", f.Name(), err)
		}
	}
	var h Histogram
	cpu0, err := ProcessCPU()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var n int64
	for ; cfg.Duration > 0 || n < int64(cfg.Count); n++ {
		t := time.Now()
		if cfg.Duration > 0 && t.Sub(start) >= cfg.Duration {
			break
		}
		if err = ctx.Err(); err != nil {
			break
		}
		off := n * int64(cfg.Size)
		if span > 0 {
			off %= span
		}
		if _, err = f.WriteAt(rec, off); err != nil {
			return nil, fmt.Errorf("bench: disk probe: write %s: %w", f.Name(), err)
		}
		if err = fdatasync(f); err != nil {
			return nil, fmt.Errorf("bench: disk probe: fdatasync %s: %w", f.Name(), err)
		}
		h.Record(time.Since(t))
	}
	elapsed := time.Since(start)
	cpu1, cerr := ProcessCPU()
	if cerr != nil {
		return nil, cerr
	}
	if n == 0 {
		return nil, errors.Join(errors.New("bench: disk probe: no record written"), err)
	}
	return diskResult(cfg, n, elapsed, cpu1-cpu0, &h), err
}

func diskResult(cfg DiskConfig, n int64, elapsed, cpu time.Duration, h *Histogram) *DiskResult {
	l := h.Summary()
	mode := "append"
	if cfg.Overwrite {
		mode = "overwrite"
	}
	res := &DiskResult{
		Dir: cfg.Dir, Mode: mode, Size: cfg.Size, Syncs: n, Seconds: elapsed.Seconds(),
		MeanUs: l.MeanUs, P50Us: l.P50Us, P99Us: l.P99Us, MaxUs: l.MaxUs,
		CPUMs:        float64(cpu) / float64(time.Millisecond),
		CPUUsPerSync: float64(cpu) / float64(time.Microsecond) / float64(n),
	}
	if res.Seconds > 0 {
		res.SyncsPerSec = float64(n) / res.Seconds
	}
	return res
}

// fdatasync flushes f's data, and the metadata needed to read it back (its
// size), to the device.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = syscall.Fdatasync(int(fd)); !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// ProcessCPU returns the user and system time this process has used, all
// its threads (getrusage RUSAGE_SELF); benchmarks report CPU per operation
// with it.
func ProcessCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("bench: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// WriteJSON writes the result as one indented JSON object.
func (res *DiskResult) WriteJSON(w io.Writer) error { return writeJSON(w, res) }

// WriteText writes the result as an aligned table for people.
func (res *DiskResult) WriteText(w io.Writer) error {
	return writeRows(w, [][2]string{
		{"disk", fmt.Sprintf("%s (%s, %d B records, one WriteAt + fdatasync each, one writer)", res.Dir, res.Mode, res.Size)},
		{"syncs", fmt.Sprintf("%d in %.2fs (%.0f syncs/s)", res.Syncs, res.Seconds, res.SyncsPerSec)},
		{"latency", fmt.Sprintf("per sync: mean %s  p50 %s  p99 %s  max %s", us(res.MeanUs), us(res.P50Us), us(res.P99Us), us(res.MaxUs))},
		{"cpu", fmt.Sprintf("%.1f µs per sync (%.1f ms user + system in all)", res.CPUUsPerSync, res.CPUMs)},
	})
}
