package journal

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/storetest"
	"github.com/piermq/pier/internal/store/vfs"
)

// testLog returns a logger that writes to the test log when -v is given.
func testLog(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

func smallOpts() Options {
	return Options{SegmentSize: 64 << 10, CheckpointBytes: 128 << 10, spillFileSize: 8 << 10, spillKeep: 4 << 10}
}

func TestConformanceOS(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Fresh: func(t *testing.T, o storetest.Options) func(t *testing.T) store.Store {
			dir := t.TempDir()
			opts := smallOpts()
			opts.SizeLimit = o.Limit
			return func(t *testing.T) store.Store {
				s, err := Open(context.Background(), dir, vfs.OS{}, opts, testLog(t))
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return s
			}
		},
	})
}

// TestConformanceCrashFS re-opens after a simulated crash, so everything a
// closed store leaves behind must be durable, directory entries included.
func TestConformanceCrashFS(t *testing.T) { storetest.Run(t, crashFSHarness(smallOpts())) }

// crashFSHarness opens stores with opts on a MemFS that crashes before
// each reopening.
func crashFSHarness(base Options) storetest.Harness {
	return storetest.Harness{
		Fresh: func(t *testing.T, o storetest.Options) func(t *testing.T) store.Store {
			fsys := vfs.NewMemFS()
			opts := base
			opts.SizeLimit = o.Limit
			return func(t *testing.T) store.Store {
				fsys.Crash()
				s, err := Open(context.Background(), "/data/journal", fsys, opts, testLog(t))
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return s
			}
		},
	}
}

func TestConformanceDefaultOptions(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Fresh: func(t *testing.T, o storetest.Options) func(t *testing.T) store.Store {
			fsys := vfs.NewMemFS()
			return func(t *testing.T) store.Store {
				s, err := Open(context.Background(), "/j", fsys, Options{SizeLimit: o.Limit}, testLog(t))
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return s
			}
		},
	})
}
