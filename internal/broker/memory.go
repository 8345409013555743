package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/message"
)

// memory accounts for message bodies held in memory and blocks producers
// while the limit is exceeded.
type memory struct {
	limit int64
	used  atomic.Int64
	mu    struct {
		sync.Mutex
		freed chan struct{} // closed when usage drops below the limit
	}
}

func (m *memory) init(limit int64) {
	m.limit = limit
	m.mu.freed = make(chan struct{})
}

func (m *memory) over() bool { return m.used.Load() >= m.limit }

func (m *memory) add(n int64) { m.used.Add(n) }

func (m *memory) release(n int64) {
	if n == 0 {
		return
	}
	if m.used.Add(-n) < m.limit {
		m.mu.Lock()
		select {
		case <-m.mu.freed:
		default:
			close(m.mu.freed)
		}
		m.mu.Unlock()
	}
}

// wait blocks until usage is below the limit, ctx is done or timeout (if
// positive) passes.
func (m *memory) wait(ctx context.Context, timeout time.Duration) error {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		m.mu.Lock()
		if !m.over() {
			m.mu.Unlock()
			return nil
		}
		select {
		case <-m.mu.freed:
			m.mu.freed = make(chan struct{})
		default:
		}
		ch := m.mu.freed
		m.mu.Unlock()
		if !m.over() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("%w: %d of %d bytes in use; producer blocked for %v", ErrMemoryLimit, m.used.Load(), m.limit, timeout)
		}
	}
}

// flowControl holds a producer of a non-persistent message while the
// broker's memory, or that of a destination queue with a limit of its own,
// is over its limit; a queue whose policy has producer flow control off
// fails the send at once instead.
func (b *Broker) flowControl(ctx context.Context, dests []message.Destination) error {
	if b.mem.over() {
		if err := b.mem.wait(ctx, b.cfg.BlockTimeout); err != nil {
			return err
		}
	}
	for _, d := range dests {
		if d.Kind != message.Queue {
			continue
		}
		b.mu.RLock()
		q := b.mu.queues[d.Name]
		b.mu.RUnlock()
		if q == nil || q.mem == nil || !q.mem.over() {
			continue
		}
		if q.pol.NoProducerFlowControl {
			return fmt.Errorf("%w: queue %s holds %d of its %d bytes (producer flow control is off)",
				ErrMemoryLimit, d.Name, q.mem.used.Load(), q.mem.limit)
		}
		if err := q.mem.wait(ctx, b.cfg.BlockTimeout); err != nil {
			return fmt.Errorf("queue %s: %w", d.Name, err)
		}
	}
	return nil
}
