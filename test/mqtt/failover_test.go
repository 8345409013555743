//go:build crossprocess

package mqtt

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// The failover clients of TestFailover: a publisher and a subscriber on
// the test's own connections, each reconnecting to the next member of the
// group when its connection ends.

// haPublisher publishes the numbers 0, 1, 2, ... to topic, one at a time.
// At QoS 1 a publish whose PUBACK did not come is in doubt and not sent
// again (so that any copy the subscriber gets twice is the broker's
// redelivery, which must carry DUP). At QoS 2 an unfinished exchange is
// taken up on the next connection, as MQTT 5.0 section 4.4 says: the
// PUBLISH again with DUP before PUBREC, the PUBREL after.
type haPublisher struct {
	g       *group
	qos     byte
	topic   string
	connect func() *packet.Connect
	account

	mu struct {
		sync.Mutex
		acked []bool // by number
		times []time.Time
	}
}

// run publishes until stop is closed.
func (p *haPublisher) run(stop <-chan struct{}) {
	var c *conn
	member := 0
	defer func() {
		if c != nil {
			c.disconnect()
		}
	}()
	for i := 0; ; i++ {
		id := uint16(i%65535 + 1)
		pub := &packet.Publish{Topic: p.topic, QoS: p.qos, PacketID: id, Payload: []byte(strconv.Itoa(i))}
		p.mu.Lock()
		p.mu.acked = append(p.mu.acked, false)
		p.mu.times = append(p.mu.times, time.Time{})
		p.mu.Unlock()
		recBefore := false // QoS 2: PUBREC received on an earlier connection
		for {
			select {
			case <-stop:
				return
			default:
			}
			if c == nil {
				var ack *packet.Connack
				var err error
				c, ack, member, err = p.g.connect(member, p.connect, nil)
				if err != nil {
					p.problem("publisher: %v", err)
					return
				}
				p.record(connection{node: p.g.Nodes[member].ID, sessionPresent: ack.SessionPresent, at: time.Now()})
				if p.qos == 2 && len(p.connections()) > 1 && !ack.SessionPresent {
					p.problem("publisher: reconnected to %s with session present 0 (message %d in flight, PUBREC received %v): "+
						"its session (expiry 600 s) must still be there (MQTT 5.0 section 3.2.2.1.1)", p.g.Nodes[member].ID, i, recBefore)
				}
				pub.Dup = p.qos == 2 && ack.SessionPresent
			}
			done, rec, err := p.exchange(c, pub, recBefore)
			if err != nil {
				c.close()
				c = nil
			}
			if done {
				p.mu.Lock()
				p.mu.acked[i], p.mu.times[i] = true, time.Now()
				p.mu.Unlock()
			}
			if done || p.qos == 1 {
				break // at QoS 1 a publish in doubt is not sent again
			}
			recBefore = rec
		}
	}
}

// exchange publishes pub on c: at QoS 1 until PUBACK (done with or
// without it: a lost connection leaves it in doubt), at QoS 2 until
// PUBCOMP, from PUBREL on if rec (PUBREC came on an earlier connection).
func (p *haPublisher) exchange(c *conn, pub *packet.Publish, rec bool) (done, recNow bool, err error) {
	if p.qos == 1 {
		ack, err := c.publish1(pub)
		if err != nil {
			return false, false, err
		}
		if ack.Reason.Failed() {
			p.problem("publisher: PUBACK %s for %s", ack.Reason, pub.Payload)
		}
		return !ack.Reason.Failed(), false, nil
	}
	if !rec {
		r, err := roundTrip[*packet.Pubrec](c, pub, pub.PacketID)
		if err != nil {
			return false, false, err
		}
		if r.Reason.Failed() {
			p.problem("publisher: PUBREC %s for PUBLISH %d", r.Reason, pub.PacketID)
			return false, false, fmt.Errorf("PUBREC %s", r.Reason)
		}
	}
	comp, err := roundTrip[*packet.Pubcomp](c, &packet.Pubrel{Ack: packet.Ack{PacketID: pub.PacketID}}, pub.PacketID)
	if err != nil {
		return false, true, err
	}
	if comp.Reason.Failed() && comp.Reason != packet.PacketIDNotFound {
		// (Not found: the PUBREL was done before the connection was lost,
		// the PUBCOMP lost with it.)
		p.problem("publisher: PUBCOMP %s for PUBREL %d", comp.Reason, pub.PacketID)
	}
	return true, true, nil
}

// ackedCount is how many publishes were acknowledged so far.
func (p *haPublisher) ackedCount() int { return p.ackedAfter(time.Time{}) }

// ackedAfter is how many publishes were acknowledged after t.
func (p *haPublisher) ackedAfter(t time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i, a := range p.mu.acked {
		if a && p.mu.times[i].After(t) {
			n++
		}
	}
	return n
}

// ledger returns which numbers were acknowledged, and how many were sent.
func (p *haPublisher) ledger() (acked []bool, sent int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bool(nil), p.mu.acked...), len(p.mu.acked)
}

// haSubscriber is a persistent-session subscriber whose inbox outlives
// its connections; after the first it never subscribes again.
type haSubscriber struct {
	g       *group
	box     *inbox
	connect func() *packet.Connect
	account

	mu struct {
		sync.Mutex
		c      *conn
		member int
	}
}

// start connects to the master and subscribes; again says the connection
// was lost on the way (the session may then be present the next time).
func (s *haSubscriber) start(topic string, qos byte) (again bool, err error) {
	c, ack, member, err := s.g.connect(0, s.connect, s.box)
	if err != nil {
		return false, err
	}
	first := len(s.connections()) == 0
	s.mu.c, s.mu.member = c, member
	s.record(connection{node: s.g.Nodes[member].ID, sessionPresent: ack.SessionPresent, at: time.Now()})
	if ack.SessionPresent && first {
		return false, fmt.Errorf("subscriber: a session present on a new group")
	}
	sa, err := c.subscribe(1, packet.Properties{}, packet.Subscription{Filter: topic, QoS: qos})
	if err != nil {
		c.close()
		return true, err
	}
	if len(sa.Reasons) != 1 || sa.Reasons[0] != packet.ReasonCode(qos) {
		return false, fmt.Errorf("subscriber: SUBACK %v, want QoS %d granted", sa.Reasons, qos)
	}
	return false, nil
}

// run reconnects whenever the connection ends, until stop is closed.
func (s *haSubscriber) run(stop <-chan struct{}) {
	for {
		s.mu.Lock()
		c, member := s.mu.c, s.mu.member
		s.mu.Unlock()
		select {
		case <-stop:
			return
		case <-c.done:
		}
		nc, ack, m, err := s.g.connect(member+1, s.connect, s.box)
		if err != nil {
			s.problem("subscriber: %v", err)
			return
		}
		s.record(connection{node: s.g.Nodes[m].ID, sessionPresent: ack.SessionPresent, at: time.Now()})
		s.mu.Lock()
		s.mu.c, s.mu.member = nc, m
		s.mu.Unlock()
	}
}

// close ends the subscriber's connection with DISCONNECT.
func (s *haSubscriber) close() {
	s.mu.Lock()
	c := s.mu.c
	s.mu.Unlock()
	if c != nil {
		c.disconnect()
	}
}

// account is what a failover client records: its connections and the
// problems it saw.
type account struct {
	mu       sync.Mutex
	conns    []connection
	problems []string
}

func (a *account) record(c connection) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.conns = append(a.conns, c)
}

func (a *account) problem(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.problems = append(a.problems, fmt.Sprintf(format, args...))
}

// seen returns the problems so far.
func (a *account) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.problems...)
}

func (a *account) connections() []connection {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]connection(nil), a.conns...)
}
