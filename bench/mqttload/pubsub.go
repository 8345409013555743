package main

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// headerSize is what every payload starts with: the publisher's index
// (uint32), the message's sequence number (uint64) and when it was sent
// (uint64 ns since the run's base time), big-endian; zeros follow.
const headerSize = 20

// subscriber reads one connection's PUBLISH packets, acknowledges those of
// QoS 1 (batched: flushed when nothing more is buffered to read) and keeps
// the latency of each message from the measured phase.
type subscriber struct {
	c      *conn
	run    *run
	last   []atomic.Int64 // per publisher: the highest sequence number received
	got    atomic.Int64   // messages of the measured phase received
	lastAt atomic.Int64   // ns since base of the last of them
	lat    []int64        // their latencies in ns; read only after readLoop returned
}

// readLoop reads until the connection fails or is closed; it returns nil
// when the run closed it.
func (s *subscriber) readLoop() error {
	pending := false
	for {
		p, err := s.c.r.ReadPacket()
		if err != nil {
			if s.run.closing.Load() {
				return nil
			}
			return fmt.Errorf("subscriber: %w", err)
		}
		pub, ok := p.(*packet.Publish)
		if !ok || len(pub.Payload) < headerSize {
			continue
		}
		now := int64(time.Since(s.run.base))
		b := pub.Payload
		pi := binary.BigEndian.Uint32(b)
		seq := int64(binary.BigEndian.Uint64(b[4:]))
		if seq >= s.run.measureFrom {
			s.lat = append(s.lat, now-int64(binary.BigEndian.Uint64(b[12:])))
			s.lastAt.Store(now)
			s.got.Add(1)
		}
		if int(pi) < len(s.last) {
			s.last[pi].Store(seq)
		}
		if pub.QoS > 0 {
			if err := s.c.w.WritePacket(&packet.Puback{Ack: packet.Ack{PacketID: pub.PacketID}}, s.c.version); err != nil {
				return fmt.Errorf("subscriber: send PUBACK: %w", err)
			}
			pending = true
		}
		if pending && s.c.br.Buffered() == 0 {
			if err := s.c.bw.Flush(); err != nil {
				return fmt.Errorf("subscriber: send PUBACK: %w", err)
			}
			pending = false
		}
		s.run.notify()
	}
}

// publisher sends PUBLISH packets one Write call each; at QoS 1 at most
// inflight of them are unacknowledged, and ackLoop counts the PUBACKs.
type publisher struct {
	c      *conn
	run    *run
	index  uint32
	sem    chan struct{} // one token per unacknowledged PUBLISH (QoS 1)
	gate   *gate
	acked  atomic.Int64
	ackAt  atomic.Int64 // ns since base of the last PUBACK
	sentAt int64        // ns since base of the last PUBLISH written
	buf    []byte
}

// publish sends sequence numbers [from, to), never more than the run's
// ahead window past the slowest subscriber.
func (p *publisher) publish(from, to int64) error {
	r := p.run
	pub := &packet.Publish{QoS: r.cfg.qos, Topic: r.cfg.topic, Payload: p.buf}
	for seq := from; seq < to; seq++ {
		if ahead := int64(r.cfg.ahead); ahead > 0 && seq-r.slowest(p.index) > ahead {
			caughtUp := func() bool { return seq-r.slowest(p.index) <= ahead }
			if !p.gate.wait(caughtUp, r.cfg.timeout) {
				return fmt.Errorf("publisher %d: no subscriber progress for %v at message %d", p.index, r.cfg.timeout, seq)
			}
		}
		if pub.QoS > 0 {
			if err := p.take(); err != nil {
				return err
			}
			pub.PacketID = uint16(seq%65535) + 1
		}
		binary.BigEndian.PutUint32(p.buf, p.index)
		binary.BigEndian.PutUint64(p.buf[4:], uint64(seq))
		now := int64(time.Since(r.base))
		binary.BigEndian.PutUint64(p.buf[12:], uint64(now))
		if err := p.c.w.WritePacket(pub, p.c.version); err != nil {
			return fmt.Errorf("publisher %d: %w", p.index, err)
		}
		p.sentAt = now
	}
	return nil
}

// take takes an inflight token, waiting for a PUBACK to return one when
// none is left.
func (p *publisher) take() error {
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(p.run.cfg.timeout)
	defer t.Stop()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("publisher %d: no PUBACK for %v", p.index, p.run.cfg.timeout)
	}
}

// ackLoop reads the publisher's connection: PUBACKs at QoS 1, nothing
// else expected.
func (p *publisher) ackLoop() error {
	for {
		pk, err := p.c.r.ReadPacket()
		if err != nil {
			if p.run.closing.Load() {
				return nil
			}
			return fmt.Errorf("publisher %d: %w", p.index, err)
		}
		if _, ok := pk.(*packet.Puback); ok {
			select {
			case <-p.sem:
			default:
				return fmt.Errorf("publisher %d: PUBACK for nothing unacknowledged", p.index)
			}
			p.ackAt.Store(int64(time.Since(p.run.base)))
			p.acked.Add(1)
			p.run.notify()
		}
	}
}

// gate lets one goroutine wait for progress that others report through
// notify, which costs an atomic load while nobody waits.
type gate struct {
	waiting atomic.Bool
	ch      chan struct{}
	timer   *time.Timer
}

func newGate() *gate {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &gate{ch: make(chan struct{}, 1), timer: t}
}

func (g *gate) notify() {
	if g.waiting.Load() {
		select {
		case g.ch <- struct{}{}:
		default:
		}
	}
}

// wait returns true once done() holds, false after idle without any
// notification.
func (g *gate) wait(done func() bool, idle time.Duration) bool {
	defer g.waiting.Store(false)
	for {
		g.waiting.Store(true)
		if done() {
			return true
		}
		g.timer.Reset(idle)
		select {
		case <-g.ch:
			g.timer.Stop()
		case <-g.timer.C:
			return done()
		}
	}
}
