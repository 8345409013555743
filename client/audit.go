package client

import (
	"sync"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// auditWindow is how many recent sequence numbers per producer the audit
// tells apart (ActiveMQ's default audit depth is 2048).
const auditWindow = 2048

// maxAuditProducers bounds the producers the audit remembers.
const maxAuditProducers = 64

// audit remembers the messages the application has consumed for good
// (auto-acknowledged, acknowledged, committed), by producer id and
// sequence, so that a copy the broker sends again after a failover —
// because the acknowledgement was lost with the old socket — is
// acknowledged and dropped instead of delivered twice. The Java client does
// the same with its connection audit (checkForDuplicates).
type audit struct {
	mu        sync.Mutex
	producers map[string]*seqWindow
	order     []string // least recently added first
}

// seqWindow marks sequence numbers in (high-auditWindow, high].
type seqWindow struct {
	high int64
	bits [auditWindow / 64]uint64
}

func auditKey(id *wire.MessageID) (string, int64, bool) {
	if id == nil || id.ProducerID == nil || id.ProducerSequenceID <= 0 {
		return "", 0, false
	}
	return id.ProducerID.String(), id.ProducerSequenceID, true
}

// consumed records that the application is done with the message.
func (a *audit) consumed(id *wire.MessageID) {
	p, seq, ok := auditKey(id)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.producers == nil {
		a.producers = map[string]*seqWindow{}
	}
	w := a.producers[p]
	if w == nil {
		w = &seqWindow{high: seq}
		a.producers[p] = w
		a.order = append(a.order, p)
		if len(a.order) > maxAuditProducers {
			delete(a.producers, a.order[0])
			a.order = a.order[1:]
		}
	}
	w.mark(seq)
}

// duplicate reports whether the application consumed this message already.
func (a *audit) duplicate(id *wire.MessageID) bool {
	p, seq, ok := auditKey(id)
	if !ok {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.producers[p]
	return w != nil && w.has(seq)
}

func (w *seqWindow) mark(seq int64) {
	if seq > w.high {
		shift := seq - w.high
		if shift >= auditWindow {
			w.bits = [auditWindow / 64]uint64{}
		} else {
			for s := w.high + 1; s <= seq; s++ {
				w.clear(s)
			}
		}
		w.high = seq
	}
	if seq <= w.high-auditWindow {
		return // too old to tell apart
	}
	w.bits[(seq%auditWindow)/64] |= 1 << (uint64(seq%auditWindow) % 64)
}

func (w *seqWindow) clear(seq int64) {
	w.bits[(seq%auditWindow)/64] &^= 1 << (uint64(seq%auditWindow) % 64)
}

func (w *seqWindow) has(seq int64) bool {
	if seq > w.high || seq <= w.high-auditWindow {
		return false
	}
	return w.bits[(seq%auditWindow)/64]&(1<<(uint64(seq%auditWindow)%64)) != 0
}
