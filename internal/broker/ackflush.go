package broker

import (
	"context"

	"github.com/piermq/pier/internal/store"
)

// ackFlusher writes the store removals of acknowledgements in batches, so a
// consumer that does not wait for its acknowledgement to be confirmed does
// not pay one store write per message.
type ackFlusher struct {
	b  *Broker
	ch chan ackReq
}

type ackReq struct {
	ops  []store.Op
	done chan error // nil when nobody waits
}

func newAckFlusher(b *Broker) *ackFlusher {
	return &ackFlusher{b: b, ch: make(chan ackReq, 4096)}
}

// push queues removals; done (if not nil) receives the result.
func (a *ackFlusher) push(ops []store.Op, done chan error) {
	if len(ops) == 0 {
		if done != nil {
			done <- nil
		}
		return
	}
	select {
	case a.ch <- ackReq{ops: ops, done: done}:
	case <-a.b.stop:
		err := a.b.st.Apply(context.Background(), &store.Batch{Ops: ops})
		if done != nil {
			done <- err
		}
	}
}

func (a *ackFlusher) run() {
	for {
		select {
		case r := <-a.ch:
			a.flush(r)
		case <-a.b.stop:
			for {
				select {
				case r := <-a.ch:
					a.flush(r)
				default:
					return
				}
			}
		}
	}
}

// flush writes r and whatever else is queued as one batch.
func (a *ackFlusher) flush(first ackReq) {
	reqs := []ackReq{first}
	batch := store.Batch{Ops: append([]store.Op(nil), first.ops...)}
more:
	for len(batch.Ops) < 8192 {
		select {
		case r := <-a.ch:
			reqs = append(reqs, r)
			batch.Ops = append(batch.Ops, r.ops...)
		default:
			break more
		}
	}
	// Nobody waits for these acknowledgements: the store may sync them
	// with its next write.
	batch.NoSync = true
	for _, r := range reqs {
		if r.done != nil {
			batch.NoSync = false
		}
	}
	err := a.b.st.Apply(context.Background(), &batch)
	if err != nil {
		a.b.log.Error("writing acknowledgements failed; the messages may be redelivered after a restart", "err", err)
	}
	for _, r := range reqs {
		if r.done != nil {
			r.done <- err
		}
	}
}
