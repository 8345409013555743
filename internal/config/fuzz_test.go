package config

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns is
// a positioned Errors naming the file, and that what it accepts validates.
func FuzzParse(f *testing.F) {
	for _, name := range exampleFiles(f) {
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

// FuzzMembers: a connector URI that passes validation always yields its
// members, each with at least one host:port address.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{"tcp://a:1", "static:(tcp://a:1,tcp://b:2)",
		"static:(tcp://a:1,failover:(tcp://b:2,tcp://c:3)?randomize=false)?x=1", "failover:(tcp://a:1)",
		"static:(", "static:(tcp://a:1))", "static:(failover:(failover:(tcp://a:1)))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		if checkBridgeURI(uri) != nil {
			return
		}
		ms, err := NetworkConnector{URI: uri}.Members()
		if err != nil {
			t.Fatalf("%q passes validation but Members: %v", uri, err)
		}
		if len(ms) == 0 {
			t.Fatalf("%q: no members", uri)
		}
		for _, m := range ms {
			if len(m) == 0 {
				t.Fatalf("%q: a member without addresses: %v", uri, ms)
			}
			for _, a := range m {
				if _, _, err := net.SplitHostPort(a); err != nil {
					t.Fatalf("%q: address %q: %v", uri, a, err)
				}
			}
		}
	})
}
