package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns is
// a positioned Errors naming the file, and that what it accepts validates.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/seed/*.yaml")
	for _, name := range append(files, more...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		singleTypo,
		"store:\n  kind: sql\n  sql: {driver: mysql, dsn: x, lease_duration: 5s}\n",
		"network_connectors:\n  - uri: static:(failover:(tcp://a:1,tcp://b:2),tcp://c:3)?x=1\n    excluded_destinations: [queue://a.>]\n",
		"a: &x {b: *x}\n",
		"limits: {memory: 1KB, max_frame_size: 9999999TiB}\n",
		"broker: [\n",
		"---\n---\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not a non-empty Errors: %T %v", err, err)
			}
			for _, e := range es {
				if !strings.HasPrefix(e.Error(), "f.yaml") || e.Err == nil {
					t.Fatalf("error without file name or sentinel: %v", e)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
	})
}
