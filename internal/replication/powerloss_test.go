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

// The master loses power while four producers send. Every replica's Raft
// log and journal are on a simulated disk that keeps only what was synced;
// the master syncs its log behind its writes (clamp.go), slowly, so it
// always holds committed entries that are not yet on its own disk; one
// follower syncs at once and the other lags far behind. The fast follower
// stops at the moment of the power loss, so the next master must come from
// the old master's disk and the lagging follower's: every batch whose
// Apply returned nil must be on one of them — which holds only because the
// master acknowledges nothing its own disk does not have (without the
// state machine's wait for the synced log, fsm.go, this test loses
// acknowledged batches in most runs). Then the fast follower comes back
// and every replica ends with the same state. (The held-back commit index,
// clampTransport, is pinned by clamp_test.go: with one entry in flight the
// followers rarely learn a commit before the master has synced it.)
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
	slowSync := func(id string, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		fss[id].SetSyncDelay(d)
	}
	acked := map[uint64]bool{}
	for round := range 3 {
		id, m := g.master()
		i := indexOf(g.ids, id)
		fast, lagging := g.ids[(i+1)%3], g.ids[(i+2)%3]
		slowSync(id, 2*time.Millisecond)
		slowSync(lagging, 20*time.Millisecond)
		st := m.Store()
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
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		fs := fss[id]
		mu.Unlock()
		fs.SetHook(func(vfs.Op, string) error { return vfs.ErrCrashed })
		fs.Crash() // power lost: what the master had not synced is gone
		g.stop(fast)
		g.stop(id)
		close(stop)
		wg.Wait()
		fs.SetHook(nil)
		fs.SetSyncDelay(0)
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
		slowSync(lagging, 0)
		g.start(fast)
		g.converged(m2)
		t.Logf("round %d: master %s lost power, %s stopped, %s lagged; %d acknowledged batches all kept", round, id, fast, lagging, n)
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
