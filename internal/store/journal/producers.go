package journal

import (
	"github.com/piermq/pier/internal/message"
	"strings"
)

// producers is the high-water mark of each producer id (store.State's
// ProducerSeqs), bounded to the max most recently written producers: the
// least recently written one is evicted when a new one would exceed the
// bound. The recency list is threaded through a slice by index, so a write
// is one map lookup and a few integer stores, with no allocation unless the
// producer is new.
type producers struct {
	max   int
	ids   map[string]int32 // producer id -> slot in nodes
	nodes []prodNode
	head  int32 // most recently written; -1 when empty
	tail  int32 // least recently written; -1 when empty
}

type prodNode struct {
	id         string
	seq        int64
	prev, next int32 // towards head, towards tail; -1 at the ends
}

func newProducers(max int) *producers {
	return &producers{max: max, ids: map[string]int32{}, head: -1, tail: -1}
}

// len returns how many producers are remembered.
func (p *producers) len() int { return len(p.ids) }

// note records that producer id wrote seq: its mark becomes at least seq
// and it becomes the most recently written producer.
func (p *producers) note(id string, seq int64) {
	if i, ok := p.ids[id]; ok {
		n := &p.nodes[i]
		n.seq = max(n.seq, seq)
		if i != p.head {
			p.unlink(i)
			p.pushHead(i)
		}
		return
	}
	var i int32
	if len(p.nodes) < p.max {
		i = int32(len(p.nodes))
		p.nodes = append(p.nodes, prodNode{})
	} else { // full: reuse the least recently written producer's slot
		i = p.tail
		p.unlink(i)
		delete(p.ids, p.nodes[i].id)
	}
	// Clone: the id may share memory with a large buffer (a decoded frame).
	p.nodes[i] = prodNode{id: strings.Clone(id), seq: seq}
	p.ids[p.nodes[i].id] = i
	p.pushHead(i)
}

func (p *producers) unlink(i int32) {
	n := &p.nodes[i]
	if n.prev >= 0 {
		p.nodes[n.prev].next = n.next
	} else {
		p.head = n.next
	}
	if n.next >= 0 {
		p.nodes[n.next].prev = n.prev
	} else {
		p.tail = n.prev
	}
}

func (p *producers) pushHead(i int32) {
	n := &p.nodes[i]
	n.prev, n.next = -1, p.head
	if p.head >= 0 {
		p.nodes[p.head].prev = i
	} else {
		p.tail = i
	}
	p.head = i
}

// oldestFirst calls fn for every producer, least recently written first,
// so that noting them in this order rebuilds the same table.
func (p *producers) oldestFirst(fn func(id string, seq int64)) {
	for i := p.tail; i >= 0; i = p.nodes[i].prev {
		fn(p.nodes[i].id, p.nodes[i].seq)
	}
}

// snapshot returns the marks as a new map, nil if there are none.
func (p *producers) snapshot() map[string]int64 {
	if len(p.ids) == 0 {
		return nil
	}
	m := make(map[string]int64, len(p.ids))
	for id, i := range p.ids {
		m[id] = p.nodes[i].seq
	}
	return m
}

// producerOf returns the producer id and sequence of an encoded message
// without decoding the rest of it, so that replay can rebuild the producer
// table cheaply (the message codec owns the format).
func producerOf(b []byte) (id []byte, seq int64, ok bool) { return message.PeekProducer(b) }
