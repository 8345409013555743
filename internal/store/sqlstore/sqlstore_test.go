package sqlstore

import (
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			storetest.Run(t, storetest.Harness{
				Fresh: func(t *testing.T, o storetest.Options) func(t *testing.T) store.Store {
					dsn := db.fresh(t)
					return func(t *testing.T) store.Store {
						return open(t, db.driver, dsn, Options{SizeLimit: o.Limit})
					}
				},
			})
		})
	}
}
