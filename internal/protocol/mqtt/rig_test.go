package mqtt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
	"github.com/piermq/pier/internal/store/storetest"
)

// rig is a broker with an MQTT server on a loopback port; restart starts a
// new broker and server over the same stored data (a failover).
type rig struct {
	t    *testing.T
	cfg  Config
	addr string
	b    *broker.Broker
	st   *storetest.Memory
	stop func()
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, cfg: cfg, st: storetest.NewMemory(0)}
	r.start()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *rig) start() {
	t := r.t
	b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries}, r.st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:0"
	if r.addr != "" {
		addr = r.addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(r.cfg, b, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	r.b, r.addr = b, ln.Addr().String()
	r.stop = func() {
		srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		b.Close()
	}
}

// restart stops the broker and starts another over the same store.
func (r *rig) restart() {
	r.stop()
	r.st = r.st.Reopen()
	r.start()
}

// client is a raw MQTT client over Pier's codec.
type client struct {
	t  *testing.T
	nc net.Conn
	r  *packet.Reader
	w  *packet.Writer
	v  byte
}

func (r *rig) dial(v byte) *client {
	r.t.Helper()
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { nc.Close() })
	return &client{t: r.t, nc: nc, r: packet.NewReader(bufio.NewReader(nc), v, packet.Limits{}), w: packet.NewWriter(nc), v: v}
}

// connect dials and connects; it fails the test unless CONNACK is Success.
func (r *rig) connect(v byte, c packet.Connect) (*client, *packet.Connack) {
	r.t.Helper()
	cl := r.dial(v)
	c.Version = v
	cl.send(&c)
	ack := expect[*packet.Connack](cl)
	if ack.Reason != packet.Success {
		r.t.Fatalf("CONNACK %v (%s)", ack.Reason, ack.Properties.ReasonString)
	}
	return cl, ack
}

func (c *client) send(p packet.Packet) {
	c.t.Helper()
	if err := c.w.WritePacket(p, c.v); err != nil {
		c.t.Fatalf("send %s: %v", p.Type(), err)
	}
}

func (c *client) recv() (packet.Packet, error) {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c.r.ReadPacket()
}

// expect reads the next packet and fails unless it is a T.
func expect[T packet.Packet](c *client) T {
	c.t.Helper()
	p, err := c.recv()
	if err != nil {
		c.t.Fatalf("want %T: %v", *new(T), err)
	}
	v, ok := p.(T)
	if !ok {
		c.t.Fatalf("want %T, got %s %+v", *new(T), p.Type(), p)
	}
	return v
}

// quiet asserts nothing arrives for a short while.
func (c *client) quiet() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	p, err := c.r.ReadPacket()
	if err == nil {
		c.t.Fatalf("unexpected %s %+v", p.Type(), p)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("connection ended: %v", err)
	}
}

// closed asserts the server closes the connection (after what it sent).
func (c *client) closed() {
	c.t.Helper()
	for {
		p, err := c.recv()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("the server did not close the connection")
			}
			return
		}
		c.t.Logf("before the close: %s %+v", p.Type(), p)
	}
}

func (c *client) subscribe(id uint16, subs ...packet.Subscription) *packet.Suback {
	c.t.Helper()
	c.send(&packet.Subscribe{PacketID: id, Subscriptions: subs})
	ack := expect[*packet.Suback](c)
	if ack.PacketID != id {
		c.t.Fatalf("SUBACK for %d, want %d", ack.PacketID, id)
	}
	return ack
}

// publish publishes and completes the QoS's exchange.
func (c *client) publish(p *packet.Publish) packet.ReasonCode {
	c.t.Helper()
	c.send(p)
	switch p.QoS {
	case 1:
		a := expect[*packet.Puback](c)
		return a.Reason
	case 2:
		a := expect[*packet.Pubrec](c)
		if a.Reason.Failed() {
			return a.Reason
		}
		c.send(&packet.Pubrel{Ack: packet.Ack{PacketID: p.PacketID}})
		expect[*packet.Pubcomp](c)
		return a.Reason
	}
	return packet.Success
}

// receive reads a PUBLISH and completes its exchange.
func (c *client) receive() *packet.Publish {
	c.t.Helper()
	p := expect[*packet.Publish](c)
	c.ackPublish(p)
	return p
}

func (c *client) ackPublish(p *packet.Publish) {
	c.t.Helper()
	switch p.QoS {
	case 1:
		c.send(&packet.Puback{Ack: packet.Ack{PacketID: p.PacketID}})
	case 2:
		c.send(&packet.Pubrec{Ack: packet.Ack{PacketID: p.PacketID}})
		rel := expect[*packet.Pubrel](c)
		if rel.PacketID != p.PacketID {
			c.t.Fatalf("PUBREL %d, want %d", rel.PacketID, p.PacketID)
		}
		c.send(&packet.Pubcomp{Ack: packet.Ack{PacketID: p.PacketID}})
	}
}

func pub(topic string, qos byte, id uint16, payload string) *packet.Publish {
	return &packet.Publish{Topic: topic, QoS: qos, PacketID: id, Payload: []byte(payload)}
}

func u32(v uint32) *uint32 { return &v }

func describe(p *packet.Publish) string {
	return fmt.Sprintf("%s q%d r%v d%v %q", p.Topic, p.QoS, p.Retain, p.Dup, p.Payload)
}
