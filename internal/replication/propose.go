package replication

import (
	"encoding/binary"
	"sync"
	"time"
)

// proposer merges the batches that the master's broker applies at the same
// time into one Raft log entry (group commit across producers). One entry
// is in Raft at a time (measured against two and four: docs/performance.md);
// batches arriving meanwhile wait and go together in the next entry. Every entry costs each replica a log
// write, an fsync, a message on the wire and an FSM step, whatever its
// size, so on a busy master a few large entries cost much less than many
// small ones; an idle master proposes a lone batch at once.
//
// A lazy batch (store.Batch.NoSync: acknowledgements nobody waits for)
// does not start an entry of its own: it rides in the next entry a synced
// batch starts, or goes after lazyDelay. So a consumer's acknowledgements
// cost no Raft round of their own while producers are sending.
//
// A merged entry is an ordinary entry (codec.go) whose ops are those of
// its batches in order, so it is applied atomically: a replica applies
// all of them or none, which is more than each batch asked for. Batches
// go into entries in the order they were proposed.
type proposer struct {
	apply      func(entry []byte) error // hands one entry to Raft and waits
	maxBytes   int                      // an entry is closed once it holds this many bytes
	lazyDelay  time.Duration            // how long a lazy batch may wait for company
	gatherWait time.Duration            // how long an entry may wait for the usual company

	mu       sync.Mutex
	pending  []*proposal
	eager    int  // synced batches in pending
	due      bool // the lazy batches in pending have waited long enough
	timer    *time.Timer
	inflight bool // an entry is in Raft
	// The synced batches of the last entries (recentPeak), and the timer
	// of an entry held open for more of them (gathered: it has waited).
	sizes    [32]int
	nsizes   int
	gtimer   *time.Timer
	gathered bool
}

type proposal struct {
	data []byte // one batch, encoded by encodeBatch
	lazy bool
	done chan error
}

// propose applies one encoded batch and returns the result of the entry
// that carried it.
func (p *proposer) propose(data []byte, lazy bool) error {
	pr := &proposal{data: data, lazy: lazy, done: make(chan error, 1)}
	p.mu.Lock()
	p.pending = append(p.pending, pr)
	if !lazy {
		p.eager++
	}
	list := p.next()
	if list == nil && lazy && !p.due && p.timer == nil {
		p.timer = time.AfterFunc(p.lazyDelay, p.expire)
	}
	p.mu.Unlock()
	if list != nil {
		p.run(list)
	}
	return <-pr.done
}

// expire makes the waiting lazy batches due and proposes them if Raft has
// room.
func (p *proposer) expire() {
	p.mu.Lock()
	p.timer = nil
	p.due = len(p.pending) > 0
	list := p.next()
	p.mu.Unlock()
	if list != nil {
		p.run(list)
	}
}

// gatherExpire ends the wait of an entry held open for more batches.
func (p *proposer) gatherExpire() {
	p.mu.Lock()
	p.gtimer = nil
	p.gathered = true
	list := p.next()
	p.mu.Unlock()
	if list != nil {
		p.run(list)
	}
}

// recentPeak is the most synced batches any of the last entries carried.
func (p *proposer) recentPeak() int {
	n := 0
	for _, k := range p.sizes {
		n = max(n, k)
	}
	return n
}

// next removes what goes into the next entry from pending, if an entry
// should start now: Raft has room and a synced batch (or a lazy one that
// waited long enough) is waiting. When recent entries carried more synced
// batches than are waiting (producers that are a little behind, answering
// the last entry's receipts), the entry is held open for up to gatherWait
// so they join it: fewer, fuller entries, as the journal's GroupWait.
// p.mu is held.
func (p *proposer) next() []*proposal {
	if p.inflight || len(p.pending) == 0 || (p.eager == 0 && !p.due) {
		return nil
	}
	if p.eager > 0 && !p.gathered && p.gatherWait > 0 && p.eager < p.recentPeak() {
		if p.gtimer == nil {
			p.gtimer = time.AfterFunc(p.gatherWait, p.gatherExpire)
		}
		return nil
	}
	p.gathered = false
	if p.gtimer != nil {
		p.gtimer.Stop()
		p.gtimer = nil
	}
	taken := 0
	n, size := 0, 0
	for n < len(p.pending) && (n == 0 || size+len(p.pending[n].data) <= p.maxBytes) {
		size += len(p.pending[n].data)
		if !p.pending[n].lazy {
			p.eager--
			taken++
		}
		n++
	}
	p.sizes[p.nsizes%len(p.sizes)] = taken
	p.nsizes++
	list := p.pending[:n:n]
	p.pending = p.pending[n:]
	if len(p.pending) == 0 {
		p.pending, p.due = nil, false
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
	}
	p.inflight = true
	return list
}

// run proposes list as one entry and answers its batches; then, if more
// batches are ready, it hands them to a new goroutine (so that its own
// caller, whose batch was in list, is not held up by later ones).
func (p *proposer) run(list []*proposal) {
	err := p.apply(mergeEntries(list))
	for _, pr := range list {
		pr.done <- err
	}
	p.mu.Lock()
	p.inflight = false
	next := p.next()
	p.mu.Unlock()
	if next != nil {
		go p.run(next)
	}
}

// mergeEntries returns the entry holding the ops of every batch in list,
// in order. A single batch is its own entry.
func mergeEntries(list []*proposal) []byte {
	if len(list) == 1 {
		return list[0].data
	}
	var count uint64
	size := 0
	bodies := make([][]byte, len(list))
	for i, pr := range list {
		n, body := splitEntry(pr.data)
		count += n
		size += len(body)
		bodies[i] = body
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64+size)
	out = append(out, entryV1)
	out = binary.AppendUvarint(out, count)
	for _, b := range bodies {
		out = append(out, b...)
	}
	return out
}

// splitEntry returns the op count and the encoded ops of an entry made by
// encodeBatch (which the proposer alone feeds it, so it is well formed).
func splitEntry(entry []byte) (uint64, []byte) {
	n, k := binary.Uvarint(entry[1:])
	return n, entry[1+k:]
}
