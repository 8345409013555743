package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// checkDisk checks what holds for any probe result, whatever the disk's
// speed: positive figures that agree with each other, and no file left.
func checkDisk(t *testing.T, res *DiskResult, dir string) {
	t.Helper()
	if res.Syncs <= 0 || res.Seconds <= 0 || res.SyncsPerSec <= 0 || res.CPUMs <= 0 || res.CPUUsPerSync <= 0 {
		t.Errorf("want positive figures: %+v", res)
	}
	if want := float64(res.Syncs) / res.Seconds; math.Abs(res.SyncsPerSec-want) > 1e-6*want {
		t.Errorf("syncs/s %v, want syncs/seconds = %v", res.SyncsPerSec, want)
	}
	if want := res.CPUMs * 1000 / float64(res.Syncs); math.Abs(res.CPUUsPerSync-want) > 1e-6*want {
		t.Errorf("cpu µs/sync %v, want cpu_ms*1000/syncs = %v", res.CPUUsPerSync, want)
	}
	if !(0 < res.P50Us && res.P50Us <= res.P99Us && res.P99Us <= res.MaxUs) {
		t.Errorf("want 0 < p50 <= p99 <= max: %+v", res)
	}
	// The records are timed one after another inside the probe.
	if total := res.MeanUs * float64(res.Syncs); total > res.Seconds*1e6*1.001 {
		t.Errorf("records took %v µs in all, more than the probe's %v s", total, res.Seconds)
	}
	if res.Dir != dir || res.Size != 1024 {
		t.Errorf("dir %q size %d, want %q 1024", res.Dir, res.Size, dir)
	}
	if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
		t.Errorf("probe left %v in its directory (%v)", left, err)
	}
}

func TestDiskCount(t *testing.T) {
	dir := t.TempDir()
	res, err := Disk(context.Background(), DiskConfig{Dir: dir, Count: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Syncs != 50 {
		t.Errorf("syncs %d, want 50", res.Syncs)
	}
	checkDisk(t, res, dir)

	var js bytes.Buffer
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back DiskResult
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back != *res {
		t.Fatalf("json round trip: %v\n%s", err, js.String())
	}
	// bench/lib.sh's disk_probe greps these keys, each once.
	for _, key := range []string{`"syncs_per_sec": `, `"cpu_us_per_sync": `, `"p50_us": `, `"p99_us": `} {
		if n := strings.Count(js.String(), key); n != 1 {
			t.Errorf("json has %s %d times, want once:\n%s", key, n, js.String())
		}
	}
	var txt bytes.Buffer
	if err := res.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"50 in ", "syncs/s", "µs per sync", "fdatasync"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, txt.String())
		}
	}
}

// The overwrite probe writes into a file zero-filled first, round and
// round when it runs for a duration.
func TestDiskOverwrite(t *testing.T) {
	dir := t.TempDir()
	res, err := Disk(context.Background(), DiskConfig{Dir: dir, Count: 50, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Syncs != 50 || res.Mode != "overwrite" {
		t.Errorf("syncs %d mode %q, want 50 overwrite", res.Syncs, res.Mode)
	}
	checkDisk(t, res, dir)
	res, err = Disk(context.Background(), DiskConfig{Dir: dir, Duration: 50 * time.Millisecond, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	checkDisk(t, res, dir)
}

func TestDiskDuration(t *testing.T) {
	dir := t.TempDir()
	res, err := Disk(context.Background(), DiskConfig{Dir: dir, Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	checkDisk(t, res, dir)
	if res.Seconds < 0.05 {
		t.Errorf("probe ran %vs, want at least the 50ms asked for", res.Seconds)
	}
}

func TestDiskCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	res, err := Disk(ctx, DiskConfig{Dir: dir, Count: 10})
	if res != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("got %+v, %v; want no result and context.Canceled", res, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("probe left %v in its directory", left)
	}
}

func TestDiskValidate(t *testing.T) {
	dir := t.TempDir()
	bad := []DiskConfig{
		{},
		{Dir: dir, Count: -1},
		{Dir: dir, Duration: -time.Second},
		{Dir: dir, Size: -1},
		{Dir: dir, Count: 5, Duration: time.Second},
	}
	for _, c := range bad {
		if err := c.EnsureDefaults().Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if c := (DiskConfig{Dir: dir}).EnsureDefaults(); c.Count != 3000 || c.Size != 1024 || c.Validate() != nil {
		t.Errorf("defaults %+v", c)
	}
	if _, err := Disk(context.Background(), DiskConfig{Dir: dir + "/missing", Count: 1}); err == nil {
		t.Error("a missing directory was accepted")
	}
}
