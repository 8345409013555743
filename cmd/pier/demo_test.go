package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/piermq/pier/internal/config"
)

// The demo runs what examples/seed/ describes: the same configuration for
// every member, except where the data lives.
func TestDemoConfigsAreTheSeedExamples(t *testing.T) {
	members := demoMembers()
	if len(members) != 6 {
		t.Fatalf("%d members, want 6", len(members))
	}
	for _, m := range members {
		path := filepath.Join("..", "..", "examples", "seed", m.id+".yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := config.Parse(path, data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := config.Parse(m.id+" (demo)", []byte(m.yaml("/tmp/demo/data")))
		if err != nil {
			t.Fatalf("%s: %v", m.id, err)
		}
		if got.Broker.DataDir != filepath.Join("/tmp/demo/data", m.id) {
			t.Errorf("%s: data_dir %s", m.id, got.Broker.DataDir)
		}
		got.Broker.DataDir, got.Store.Journal.Dir = want.Broker.DataDir, want.Store.Journal.Dir
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the demo's configuration is not %s:\n got %+v\nwant %+v", m.id, path, got, want)
		}
	}
}
