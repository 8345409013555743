package replication

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// The master loses power while four producers send (its Raft log and
// journal are on a simulated disk that keeps only what was synced; the
// master syncs its log behind its writes, clamp.go) and a follower stops
// at the same moment: every batch whose Apply returned nil is there once
// the old master, back, and the other follower elect a new master; the
// stopped follower then catches up and every replica ends with the same
// state — none applied an entry that the master's lost writes took back.
func TestMasterPowerLoss(t *testing.T) {
	ctx := context.Background()
	fss := map[string]*vfs.MemFS{}
	var mu sync.Mutex
	g := newGroup(t, 3, func(c *Config) {
		mu.Lock()
		defer mu.Unlock()
		if fss[c.NodeID] == nil {
			fss[c.NodeID] = vfs.NewMemFS()
		}
		c.FS = fss[c.NodeID]
	})
	acked := map[uint64]bool{}
	for round := range 3 {
		id, m := g.master()
		st := m.Store()
		// The master's disk syncs slowly: its followers' answers come
		// first, so at any moment it has committed entries not yet on its
		// own disk — the window the protections are for.
		mu.Lock()
		fss[id].SetHook(func(op vfs.Op, _ string) error {
			if op == vfs.OpSync {
				time.Sleep(2 * time.Millisecond)
			}
			return nil
		})
		mu.Unlock()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := uint64(1); ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					seq := uint64(round)<<32 | uint64(w)<<24 | i
					var b store.Batch
					b.Add("queue://q", seq, msg(int(seq)))
					if err := st.Apply(ctx, &b); err != nil {
						return // the master is gone; this one may or may not be kept
					}
					mu.Lock()
					acked[seq] = true
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(200+100*round) * time.Millisecond)
		mu.Lock()
		fs := fss[id]
		mu.Unlock()
		// One follower goes down at the same moment (alternately the
		// one that may be ahead and the one that may be behind), so the
		// next master must come from the old master's disk and the other
		// follower's: an acknowledged batch must be on one of them.
		other := g.ids[(indexOf(g.ids, id)+1+round%2)%len(g.ids)]
		fs.SetHook(func(vfs.Op, string) error { return vfs.ErrCrashed })
		fs.Crash() // power lost: what the master had not synced is gone
		g.stop(other)
		g.stop(id)
		close(stop)
		wg.Wait()
		fs.SetHook(nil)
		g.start(id) // power back: it recovers from what its disk kept

		_, m2 := g.master()
		var b store.Batch
		b.Add("queue://q", uint64(round+1)<<40, msg(round)) // commits what the new term inherited
		if err := m2.Store().Apply(ctx, &b); err != nil {
			t.Fatalf("round %d: apply on the new master: %v", round, err)
		}
		_, seqs := content(t, m2)
		have := map[uint64]bool{}
		for _, s := range seqs["queue://q"] {
			have[s] = true
		}
		mu.Lock()
		n := len(acked)
		var lost []string
		for s := range acked {
			if !have[s] {
				lost = append(lost, fmt.Sprintf("%x", s))
			}
		}
		mu.Unlock()
		if len(lost) > 0 {
			t.Fatalf("round %d: %d of %d acknowledged batches lost after the master's power loss: %v", round, len(lost), n, lost)
		}
		g.start(other)
		g.converged(m2)
		t.Logf("round %d: master %s lost power, %s stopped; %d acknowledged batches all kept", round, id, other, n)
	}
}

func indexOf(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}
