package zkgroup

import (
	"strings"
	"testing"
)

// FuzzParse feeds znode contents (what anyone with access to the path can
// write) to the member and group decoders: an error or a registration and
// group that hold what the rest of the package relies on, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","replication":"tcp://h:1","client":"tcp://h:61616","broker":"orders"}`,
		`{"broker":"orders","members":{"a":"tcp://h:1","b":"tcp://h:2"}}`,
		`{"members":{"":"tcp://h:1"}}`, `{"id":"a"}`, `[]`, `null`, `{`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := parseMember(data); err == nil && (m.ID == "" || !strings.HasPrefix(m.Replication, "tcp://")) {
			t.Fatalf("member %+v accepted", m)
		}
		if g, err := parseGroup(data); err == nil {
			if len(g.Members) == 0 {
				t.Fatal("group without members accepted")
			}
			for id, u := range g.Members {
				if id == "" || !strings.HasPrefix(u, "tcp://") {
					t.Fatalf("group member %q at %q accepted", id, u)
				}
			}
		}
	})
}
