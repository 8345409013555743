package network

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/piermq/pier/internal/broker"
)

// forwarder is the Sink of a bridge's subscriptions: it moves what they
// receive into the outbox (broker.Conn.Forward, one synced batch per
// subscription and round) and tells the sender.
type forwarder struct {
	br   *bridge
	ob   *broker.Outbox
	snd  *Sender
	conn *broker.Conn // set before any subscription exists
	wake chan struct{}

	mu      sync.Mutex
	pending map[string][]uint64 // subscription id → delivery tags
}

func newForwarder(br *bridge, ob *broker.Outbox, snd *Sender) *forwarder {
	return &forwarder{br: br, ob: ob, snd: snd, wake: make(chan struct{}, 1), pending: map[string][]uint64{}}
}

// Deliver queues d for the forwarding goroutine; it never blocks (the
// subscriptions' prefetch windows bound what can be queued).
func (f *forwarder) Deliver(d *broker.Delivery) {
	f.mu.Lock()
	f.pending[d.Sub.ID()] = append(f.pending[d.Sub.ID()], d.Tag)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run forwards until ctx ends or the store fails.
func (f *forwarder) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		}
		f.mu.Lock()
		batch := f.pending
		f.pending = map[string][]uint64{}
		f.mu.Unlock()
		for sub, tags := range batch {
			// Not cancelled with the session: a write cut short would leave
			// the outcome unknown.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			err := f.conn.Forward(fctx, sub, tags, f.ob)
			cancel()
			switch {
			case errors.Is(err, broker.ErrNoSuchSub), errors.Is(err, broker.ErrClosed):
				// The subscription (or session) closed: its deliveries went back.
			case err != nil:
				return err
			default:
				f.br.forwarded.Add(int64(len(tags)))
			}
		}
		f.snd.Notify()
	}
}
