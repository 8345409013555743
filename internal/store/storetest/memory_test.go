package storetest

import (
	"testing"

	"github.com/piermq/pier/internal/store"
)

// The reference in-memory store passes the suite it serves as a model for.
func TestMemoryConformance(t *testing.T) {
	Run(t, Harness{Fresh: func(t *testing.T, opts Options) func(t *testing.T) store.Store {
		m := NewMemory(opts.Limit)
		return func(t *testing.T) store.Store { return m.Reopen() }
	}})
}
