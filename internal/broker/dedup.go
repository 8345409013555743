package broker

import (
	"sync"

	"github.com/piermq/pier/internal/message"
)

// maxProducers bounds how many producers' sequence numbers are remembered
// for duplicate detection (the store promises at least as many).
const maxProducers = 1 << 16

// producerAudit recognises a persistent message sent again by its producer
// after a failover (same producer id, sequence number not above the highest
// stored), as ActiveMQ's producer audit does, so it is stored once.
type producerAudit struct {
	mu    sync.Mutex
	high  map[string]int64
	order []string // first sightings, oldest first, for eviction
}

func newProducerAudit(seen map[string]int64) *producerAudit {
	a := &producerAudit{high: make(map[string]int64, len(seen))}
	for id, seq := range seen {
		a.note(id, seq)
	}
	return a
}

// duplicate reports whether m was stored before.
func (a *producerAudit) duplicate(m *message.Message) bool {
	if !m.Persistent || m.ProducerID == "" || m.ProducerSeq <= 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	high, ok := a.high[m.ProducerID]
	return ok && m.ProducerSeq <= high
}

// stored records that m is durable.
func (a *producerAudit) stored(m *message.Message) {
	if !m.Persistent || m.ProducerID == "" || m.ProducerSeq <= 0 {
		return
	}
	a.mu.Lock()
	a.note(m.ProducerID, m.ProducerSeq)
	a.mu.Unlock()
}

func (a *producerAudit) note(id string, seq int64) {
	high, ok := a.high[id]
	if !ok {
		a.order = append(a.order, id)
		if len(a.order) > maxProducers {
			delete(a.high, a.order[0])
			a.order = a.order[1:]
		}
	}
	if seq > high {
		a.high[id] = seq
	}
}
