package replication

import (
	"testing"
	"time"
)

// TestLeaseGuard: a leader is valid; a stale guard tick (the process was
// stalled) makes it invalid at once; after a stall it stays invalid, even
// with fresh ticks, until Raft confirms leadership with a quorum.
func TestLeaseGuard(t *testing.T) {
	g := newGroup(t, 3, nil)
	_, m := g.master()
	if !m.Valid() {
		t.Fatal("a serving leader is not valid")
	}
	for _, n := range g.nodes {
		if n != m && n.Valid() {
			t.Fatal("a follower is valid")
		}
	}
	m.lastTick.Store(time.Now().Add(-time.Second).UnixNano())
	if m.Valid() {
		t.Fatal("valid with a guard tick a second old")
	}
	// Suspicion alone (the guard ticking again) keeps it invalid.
	m.suspect.Store(true)
	m.lastTick.Store(time.Now().UnixNano())
	if m.Valid() {
		t.Fatal("valid while suspect")
	}
	// What the guard does on seeing a stall: confirm leadership.
	m.wg.Add(1)
	go m.reverify()
	deadline := time.Now().Add(5 * time.Second)
	for !m.Valid() {
		if time.Now().After(deadline) {
			t.Fatal("leader not valid again 5s after a stall")
		}
		time.Sleep(time.Millisecond)
	}
}
