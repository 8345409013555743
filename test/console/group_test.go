//go:build crossprocess

package console

import (
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/test/internal/cluster"
)

// TestConsoleGroup: a replicated group of three (security off, consoles on
// loopback). A replica's console says it is a replica and names the
// master; its group page lists the three members with their roles, this
// broker marked, the term and each member's lag.
func TestConsoleGroup(t *testing.T) {
	c := cluster.Start(t, cluster.Options{Name: "console-group"})
	master, err := c.Master(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var replica *cluster.Node
	for _, n := range c.Nodes {
		if n != master {
			replica = n
			break
		}
	}
	p := newPage(t, "http://"+replica.Console, 1280, 900)
	p.waitJS("the replica banner", "!document.querySelector('#role-banner').hidden")
	p.waitText("#role-banner", "This broker is a replica")
	p.waitText("#role-banner", master.ID)

	p.open("#/group")
	p.waitJS("three members", "document.querySelectorAll('#group tbody tr').length === 3")
	rows, err := evalJS[[]string](p, `[...document.querySelectorAll('#group tbody tr')].map((r) => r.textContent)`)
	if err != nil {
		t.Fatal(err)
	}
	masters, self := 0, 0
	for _, r := range rows {
		if strings.Contains(r, "master") {
			masters++
			if !strings.HasPrefix(r, master.ID) {
				t.Errorf("the master's row is %q, want member %s", r, master.ID)
			}
		}
		if strings.Contains(r, "this broker") {
			self++
			if !strings.HasPrefix(r, replica.ID) {
				t.Errorf("the row marked as this broker is %q, want member %s", r, replica.ID)
			}
		}
	}
	if masters != 1 || self != 1 {
		t.Errorf("the group page shows %d masters and %d rows of this broker: %q", masters, self, rows)
	}
	if s := p.text("#group dl.facts"); !strings.Contains(s, "replicated") || !strings.Contains(s, "Term") {
		t.Errorf("the group's facts are %q", s)
	}
	keep(p, "group")
	checkClean(t, p, nil)
}
