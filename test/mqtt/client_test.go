//go:build crossprocess

package mqtt

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// conn is an MQTT client connection of the test's own, on Pier's codec:
// it shows what real clients hide (the DUP flag of each PUBLISH, reason
// codes, a DISCONNECT from the server) and sends what they never would.
// One goroutine reads; when the connection has an inbox, PUBLISH and
// PUBREL are recorded and acknowledged there, and every other packet is
// handed to next.
type conn struct {
	nc      net.Conn
	version byte
	box     *inbox

	wmu sync.Mutex
	w   *packet.Writer

	in   chan packet.Packet // closed when reading ends
	done chan struct{}
	err  error // why reading ended, once done is closed
}

// dial connects to addr (over TLS when tc is not nil), sends c and reads
// the answer: a CONNACK, which may refuse (the connection then ends), or
// an error. With box, the connection's messages go to it.
func dial(addr string, tc *tls.Config, c *packet.Connect, box *inbox) (*conn, *packet.Connack, error) {
	d := &net.Dialer{Timeout: wait}
	var nc net.Conn
	var err error
	if tc != nil {
		nc, err = tls.DialWithDialer(d, "tcp", addr, tc)
	} else {
		nc, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, nil, err
	}
	if c.Version == 0 {
		c.Version = packet.Version311
	}
	cn := open(nc, c.Version, box)
	if err := cn.send(c); err != nil {
		cn.close()
		return nil, nil, err
	}
	ack, err := expect[*packet.Connack](cn)
	if err != nil {
		cn.close()
		return nil, nil, err
	}
	return cn, ack, nil
}

// open starts reading nc, whose CONNECT (of version) is the caller's.
func open(nc net.Conn, version byte, box *inbox) *conn {
	c := &conn{nc: nc, version: version, box: box, w: packet.NewWriter(nc),
		in: make(chan packet.Packet, 1024), done: make(chan struct{})}
	go c.read(packet.NewReader(bufio.NewReader(nc), version, packet.Limits{}))
	return c
}

func (c *conn) read(r *packet.Reader) {
	defer close(c.done)
	defer close(c.in)
	for {
		p, err := r.ReadPacket()
		if err != nil {
			c.err = err
			return
		}
		if c.box != nil && c.box.take(c, p) {
			continue
		}
		c.in <- p
	}
}

// send writes one packet.
func (c *conn) send(p packet.Packet) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(wait))
	return c.w.WritePacket(p, c.version)
}

// errEnded is returned by next once the server has closed the connection.
var errEnded = errors.New("connection ended")

// next returns the next packet not taken by the inbox (PINGRESP skipped),
// waiting at most wait.
func (c *conn) next() (packet.Packet, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case p, ok := <-c.in:
			if !ok {
				return nil, fmt.Errorf("%w: %v", errEnded, c.err)
			}
			if _, ping := p.(*packet.Pingresp); ping {
				continue
			}
			return p, nil
		case <-timer.C:
			return nil, fmt.Errorf("no packet from the server within %s", wait)
		}
	}
}

// expect returns the next packet, which must be a T.
func expect[T packet.Packet](c *conn) (T, error) {
	var want T
	p, err := c.next()
	if err != nil {
		return want, fmt.Errorf("waiting for %s: %w", want.Type(), err)
	}
	got, ok := p.(T)
	if !ok {
		return want, fmt.Errorf("got %s (%+v), want %s", p.Type(), p, want.Type())
	}
	return got, nil
}

// ended waits at most wait until the server closes the connection and
// returns the packets it sent before.
func (c *conn) ended() ([]packet.Packet, error) {
	var got []packet.Packet
	for {
		p, err := c.next()
		if errors.Is(err, errEnded) {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("the server did not close the connection: %w", err)
		}
		got = append(got, p)
	}
}

// subscribe sends SUBSCRIBE and returns the SUBACK.
func (c *conn) subscribe(id uint16, props packet.Properties, subs ...packet.Subscription) (*packet.Suback, error) {
	if err := c.send(&packet.Subscribe{PacketID: id, Properties: props, Subscriptions: subs}); err != nil {
		return nil, err
	}
	return expect[*packet.Suback](c)
}

// publish1 publishes at QoS 1 and returns the PUBACK.
func (c *conn) publish1(p *packet.Publish) (*packet.Ack, error) {
	p.QoS = 1
	return roundTrip[*packet.Puback](c, p, p.PacketID)
}

// roundTrip sends p and reads the answer, which must be a T (PUBACK,
// PUBREC, PUBREL or PUBCOMP) for packet id id; it returns its Ack.
func roundTrip[T packet.Packet](c *conn, p packet.Packet, id uint16) (*packet.Ack, error) {
	if err := c.send(p); err != nil {
		return nil, err
	}
	got, err := expect[T](c)
	if err != nil {
		return nil, err
	}
	var ack *packet.Ack
	switch a := any(got).(type) {
	case *packet.Puback:
		ack = &a.Ack
	case *packet.Pubrec:
		ack = &a.Ack
	case *packet.Pubrel:
		ack = &a.Ack
	case *packet.Pubcomp:
		ack = &a.Ack
	default:
		return nil, fmt.Errorf("%s is not an acknowledgement", got.Type())
	}
	if ack.PacketID != id {
		return ack, fmt.Errorf("%s of packet id %d, want %d", got.Type(), ack.PacketID, id)
	}
	return ack, nil
}

// disconnect sends DISCONNECT and closes the connection.
func (c *conn) disconnect() {
	c.send(&packet.Disconnect{})
	c.close()
}

// close closes the socket without DISCONNECT and waits for the reader.
func (c *conn) close() {
	c.nc.Close()
	<-c.done
}

// received is one PUBLISH as a subscriber got it.
type received struct {
	Payload string
	Topic   string
	QoS     byte
	Dup     bool
	Retain  bool
	ID      uint16
	Props   packet.Properties
	// Repeat marks a QoS 2 PUBLISH whose packet id awaited its PUBREL:
	// acknowledged again and not delivered again (MQTT 5.0 section
	// 4.3.3, method B).
	Repeat bool
}

// inbox is what a subscriber received, kept across its connections as a
// client keeps its side of a session: the QoS 2 packet ids awaiting
// PUBREL.
type inbox struct {
	mu      sync.Mutex
	got     []received
	pending map[uint16]bool
	hold    bool // acknowledge nothing (a client that dies before it does)
	wake    chan struct{}
}

func newInbox() *inbox {
	return &inbox{pending: map[uint16]bool{}, wake: make(chan struct{}, 1)}
}

// take records and acknowledges PUBLISH and PUBREL; false for other
// packets.
func (b *inbox) take(c *conn, p packet.Packet) bool {
	switch p := p.(type) {
	case *packet.Publish:
		b.mu.Lock()
		r := received{Payload: string(p.Payload), Topic: p.Topic, QoS: p.QoS, Dup: p.Dup, Retain: p.Retain,
			ID: p.PacketID, Props: p.Properties, Repeat: p.QoS == 2 && b.pending[p.PacketID]}
		b.got = append(b.got, r)
		if p.QoS == 2 {
			b.pending[p.PacketID] = true
		}
		hold := b.hold
		b.mu.Unlock()
		select {
		case b.wake <- struct{}{}:
		default:
		}
		if hold {
			return true
		}
		switch p.QoS {
		case 1:
			c.send(&packet.Puback{Ack: packet.Ack{PacketID: p.PacketID}})
		case 2:
			c.send(&packet.Pubrec{Ack: packet.Ack{PacketID: p.PacketID}})
		}
		return true
	case *packet.Pubrel:
		b.mu.Lock()
		delete(b.pending, p.PacketID)
		hold := b.hold
		b.mu.Unlock()
		if !hold {
			c.send(&packet.Pubcomp{Ack: packet.Ack{PacketID: p.PacketID}})
		}
		return true
	}
	return false
}

// setHold stops (or resumes) acknowledging: PUBLISHes received while held
// stay unacknowledged, as if the client died before its PUBACK or PUBREC
// went out.
func (b *inbox) setHold(hold bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hold = hold
}

// all returns a copy of what was received so far.
func (b *inbox) all() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.got...)
}

// delivered returns the PUBLISHes that were delivered (not Repeat).
func (b *inbox) delivered() []received {
	var out []received
	for _, r := range b.all() {
		if !r.Repeat {
			out = append(out, r)
		}
	}
	return out
}

// await waits at most within until ok holds for what was received.
func (b *inbox) await(within time.Duration, ok func([]received) bool) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for !ok(b.all()) {
		select {
		case <-b.wake:
		case <-deadline.C:
			return fmt.Errorf("not received within %s; got %d PUBLISH", within, len(b.all()))
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// awaitCount waits until n PUBLISHes were delivered.
func (b *inbox) awaitCount(n int) error {
	return b.await(wait, func(r []received) bool { return countDelivered(r) >= n })
}

func countDelivered(rs []received) int {
	n := 0
	for _, r := range rs {
		if !r.Repeat {
			n++
		}
	}
	return n
}
