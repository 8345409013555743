package raftlog

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/store/vfs"
)

const stablePath = "/raft/stable"

func openStable(t *testing.T, fsys vfs.FS, path string) *Stable {
	t.Helper()
	s, err := OpenStable(context.Background(), path, fsys)
	if err != nil {
		t.Fatalf("OpenStable: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStable(t *testing.T) {
	for _, fs := range []struct {
		name string
		fs   vfs.FS
		path func(t *testing.T) string
	}{
		{"mem", vfs.NewMemFS(), func(*testing.T) string { return stablePath }},
		{"os", vfs.OS{}, func(t *testing.T) string { return filepath.Join(t.TempDir(), "raft", "stable") }},
	} {
		t.Run(fs.name, func(t *testing.T) {
			path := fs.path(t)
			s := openStable(t, fs.fs, path)
			// hashicorp/raft tells a missing key by the error's text.
			if v, err := s.Get([]byte("LastVoteCand")); err == nil || err.Error() != "not found" || v != nil {
				t.Fatalf("Get of a missing key = %q, %v", v, err)
			}
			if v, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" || v != 0 {
				t.Fatalf("GetUint64 of a missing key = %d, %v", v, err)
			}
			must(t, s.SetUint64([]byte("CurrentTerm"), 7))
			must(t, s.SetUint64([]byte("LastVoteTerm"), 1<<40))
			cand := []byte("node-2")
			must(t, s.Set([]byte("LastVoteCand"), cand))
			cand[0] = 'X' // the store keeps its own copy
			must(t, s.Set([]byte("empty"), nil))
			check := func(s *Stable) {
				t.Helper()
				if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
					t.Fatalf("CurrentTerm = %d, %v", v, err)
				}
				if v, err := s.GetUint64([]byte("LastVoteTerm")); err != nil || v != 1<<40 {
					t.Fatalf("LastVoteTerm = %d, %v", v, err)
				}
				if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "node-2" {
					t.Fatalf("LastVoteCand = %q, %v", v, err)
				}
				if v, err := s.Get([]byte("empty")); err != nil || v == nil || len(v) != 0 {
					t.Fatalf("empty = %q, %v; want an empty value, not a missing key", v, err)
				}
				if _, err := s.GetUint64([]byte("LastVoteCand")); err == nil {
					t.Fatal("GetUint64 of a 6-byte value: no error")
				}
			}
			check(s)
			must(t, s.Close())
			if err := s.Set([]byte("a"), nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("Set after Close: %v", err)
			}
			check(openStable(t, fs.fs, path))
		})
	}
}

// TestStableWithRaft: raft's own check for existing state and its
// bootstrap go through the stable store's "not found".
func TestStableWithRaft(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := openStable(t, fsys, stablePath)
	l := openMem(t, fsys, Options{})
	snaps := raft.NewInmemSnapshotStore()
	ok, err := raft.HasExistingState(l, s, snaps)
	if err != nil || ok {
		t.Fatalf("HasExistingState of new stores = %v, %v", ok, err)
	}
	conf := raft.DefaultConfig()
	conf.LocalID = "a"
	addr, trans := raft.NewInmemTransport("a")
	defer trans.Close()
	boot := raft.Configuration{Servers: []raft.Server{{ID: "a", Address: addr}}}
	must(t, raft.BootstrapCluster(conf, l, s, snaps, trans, boot))
	if ok, err := raft.HasExistingState(l, s, snaps); err != nil || !ok {
		t.Fatalf("HasExistingState after bootstrap = %v, %v", ok, err)
	}
	wantLastIndex(t, l, 1)
}

func wantLastIndex(t *testing.T, l *Log, want uint64) {
	t.Helper()
	if got, err := l.LastIndex(); err != nil || got != want {
		t.Fatalf("LastIndex = %d, %v; want %d", got, err, want)
	}
}

// TestStableCrash sets values while the machine crashes at random points:
// after the crash each key holds the last value set successfully, or the
// one being set.
func TestStableCrash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fsys := vfs.NewMemFS()
	var ops atomic.Int64
	limit := int64(0)
	fsys.SetHook(func(vfs.Op, string) error {
		if limit > 0 && ops.Add(1) > limit {
			return vfs.ErrInjected
		}
		return nil
	})
	want := map[string]uint64{}
	keys := []string{"CurrentTerm", "LastVoteTerm"}
	for round := range 300 {
		s, err := OpenStable(context.Background(), stablePath, fsys)
		must(t, err)
		for _, k := range keys {
			got, err := s.GetUint64([]byte(k))
			if _, ok := want[k]; !ok && err != nil && err.Error() == "not found" {
				continue
			}
			if err != nil || got != want[k] {
				t.Fatalf("round %d: %s = %d, %v; want %d", round, k, got, err, want[k])
			}
		}
		ops.Store(0)
		limit = int64(1 + rng.IntN(12))
		for {
			k, v := keys[rng.IntN(len(keys))], rng.Uint64N(1000)
			if err := s.SetUint64([]byte(k), v); err != nil {
				// In flight: either value may be there after the crash.
				limit = 0
				fsys.Crash()
				s2, err := OpenStable(context.Background(), stablePath, fsys)
				must(t, err)
				if got, err := s2.GetUint64([]byte(k)); err == nil && got == v {
					want[k] = v
				}
				break
			}
			want[k] = v
		}
		if rng.IntN(2) == 0 {
			fsys.CrashTorn(rng)
		}
	}
}

func TestStableDamaged(t *testing.T) {
	fsys := vfs.NewMemFS()
	s := openStable(t, fsys, stablePath)
	must(t, s.SetUint64([]byte("CurrentTerm"), 3))
	b, err := fsys.ReadFile(stablePath)
	must(t, err)
	must(t, fsys.FlipBit(stablePath, int64(len(b)-1), 0))
	if _, err := OpenStable(context.Background(), stablePath, fsys); err == nil {
		t.Fatal("OpenStable of a damaged file: no error")
	}
	// A leftover temporary file is ignored (and removed).
	fsys2 := vfs.NewMemFS()
	s = openStable(t, fsys2, stablePath)
	must(t, s.SetUint64([]byte("CurrentTerm"), 3))
	f, err := fsys2.Create(stablePath + ".tmp")
	must(t, err)
	_, err = f.WriteAt([]byte("garbage"), 0)
	must(t, err)
	s = openStable(t, fsys2, stablePath)
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 3 {
		t.Fatalf("CurrentTerm = %d, %v", v, err)
	}
	if _, err := fsys2.ReadFile(stablePath + ".tmp"); err == nil {
		t.Fatal("the temporary file is still there")
	}
}

func TestStableEncoding(t *testing.T) {
	kv := map[string][]byte{"": nil, "a": {1}, "b": bytes.Repeat([]byte{2}, 300)}
	got, err := decodeStable(encodeStable(kv))
	must(t, err)
	if len(got) != len(kv) {
		t.Fatalf("decoded %d pairs", len(got))
	}
	for k, v := range kv {
		if !bytes.Equal(got[k], v) {
			t.Fatalf("%q = %v; want %v", k, got[k], v)
		}
	}
}
