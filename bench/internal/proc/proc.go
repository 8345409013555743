// Package proc reads what the benchmarks report of a broker process from
// /proc (CPU time, resident memory) and prints their result lines.
package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Proc is one process; PID 0 stands for none (its figures are zero).
type Proc struct {
	PID    int
	ClkTck int // clock ticks per second of /proc/PID/stat (getconf CLK_TCK)
}

// stat returns the fields of /proc/PID/stat after the command name, which
// may hold spaces.
func (p Proc) stat() ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return nil, err
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:]), nil
}

// CPU returns the CPU time (user + system, all threads) the process has used.
func (p Proc) CPU() (time.Duration, error) {
	if p.PID == 0 {
		return 0, nil
	}
	if p.ClkTck <= 0 {
		return 0, fmt.Errorf("clock ticks per second %d: must be positive", p.ClkTck)
	}
	f, err := p.stat()
	if err != nil {
		return 0, err
	}
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", p.PID)
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime: fields 14 and 15 of stat(5)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", p.PID, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / time.Duration(p.ClkTck), nil
}

// RSSKB returns the resident set size of the process in KiB (VmRSS).
func (p Proc) RSSKB() (int64, error) {
	if p.PID == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
			break
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", p.PID)
}

// Alive reports whether the process still runs (not a zombie); true for
// PID 0.
func (p Proc) Alive() bool {
	if p.PID == 0 {
		return true
	}
	f, err := p.stat()
	return err == nil && len(f) > 0 && f[0] != "Z"
}

// Line formats key=value pairs in order: durations in seconds (three
// decimals), float64 with one decimal, the rest as %v.
func Line(kv ...any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch v := kv[i+1].(type) {
		case time.Duration:
			fmt.Fprintf(&b, "%s=%.3f", kv[i], v.Seconds())
		case float64:
			fmt.Fprintf(&b, "%s=%.1f", kv[i], v)
		default:
			fmt.Fprintf(&b, "%s=%v", kv[i], v)
		}
	}
	return b.String()
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// PerOp is d in µs per op, or 0 without ops.
func PerOp(d time.Duration, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(ops)
}
