package client

import (
	"strings"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// Destination is a queue, a topic or a temporary queue or topic. Values are
// immutable and may be shared; a nil *Destination means "none" (for
// example an anonymous producer).
type Destination struct {
	kind byte // wire.TypeQueue ... wire.TypeTempTopic
	name string
}

// Queue returns the queue called name. A comma-separated name is a
// composite destination, as in ActiveMQ.
func Queue(name string) *Destination { return &Destination{kind: wire.TypeQueue, name: name} }

// Topic returns the topic called name.
func Topic(name string) *Destination { return &Destination{kind: wire.TypeTopic, name: name} }

// ParseDestination reads "queue://name", "topic://name",
// "temp-queue://name" or "temp-topic://name"; a name without a prefix is a
// queue.
func ParseDestination(s string) *Destination {
	for _, p := range []struct {
		prefix string
		kind   byte
	}{{"queue://", wire.TypeQueue}, {"topic://", wire.TypeTopic},
		{"temp-queue://", wire.TypeTempQueue}, {"temp-topic://", wire.TypeTempTopic}} {
		if rest, ok := strings.CutPrefix(s, p.prefix); ok {
			return &Destination{kind: p.kind, name: rest}
		}
	}
	return Queue(s)
}

// Name returns the physical name.
func (d *Destination) Name() string {
	if d == nil {
		return ""
	}
	return d.name
}

// IsTopic reports whether d is a topic or a temporary topic.
func (d *Destination) IsTopic() bool {
	return d != nil && (d.kind == wire.TypeTopic || d.kind == wire.TypeTempTopic)
}

// IsTemporary reports whether d is a temporary queue or topic.
func (d *Destination) IsTemporary() bool {
	return d != nil && (d.kind == wire.TypeTempQueue || d.kind == wire.TypeTempTopic)
}

// String returns "queue://name", "topic://name", "temp-queue://name" or
// "temp-topic://name"; "" for nil.
func (d *Destination) String() string {
	if d == nil {
		return ""
	}
	return d.toWire().String()
}

// Equal reports whether d and o name the same destination.
func (d *Destination) Equal(o *Destination) bool {
	if d == nil || o == nil {
		return d == o
	}
	return d.kind == o.kind && d.name == o.name
}

func (d *Destination) toWire() *wire.Destination {
	if d == nil {
		return nil
	}
	return &wire.Destination{Type: d.kind, PhysicalName: d.name}
}

func destFromWire(w *wire.Destination) *Destination {
	if w == nil {
		return nil
	}
	return &Destination{kind: w.DataType(), name: w.PhysicalName}
}
