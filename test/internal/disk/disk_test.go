package disk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestPowerLossDropsUnsyncedWrites: what was synced survives a power loss,
// a file never synced and an append never synced do not.
func TestPowerLossDropsUnsyncedWrites(t *testing.T) {
	d := New(t, 64<<20)
	synced := filepath.Join(d.Dir, "synced")
	f, err := os.Create(synced)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	write := func(f *os.File, s string, sync bool) {
		t.Helper()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		if sync {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(f, "durable", true)
	dir, err := os.Open(d.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Sync(); err != nil {
		t.Fatal(err)
	}
	dir.Close()
	write(f, " and lost", false)
	f.Close()
	g, err := os.Create(filepath.Join(d.Dir, "unsynced"))
	if err != nil {
		t.Fatal(err)
	}
	write(g, "lost", false)
	g.Close()

	if _, err := d.PowerLoss(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(synced); err != nil || string(b) != "durable" {
		t.Errorf("synced file after the power loss: %q, %v; want %q", b, err, "durable")
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "unsynced")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file never synced after the power loss: %v, want it gone", err)
	}
	// The filesystem works again.
	if err := os.WriteFile(filepath.Join(d.Dir, "after"), []byte("x"), 0o644); err != nil {
		t.Errorf("write after the power loss: %v", err)
	}
}
