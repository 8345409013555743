package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// conn is one MQTT client connection, written to through w (one Write call
// per packet: straight to the socket, or to bw when acknowledgements are
// batched) and read through r. Reading and writing may run in two
// goroutines; neither may run in more.
type conn struct {
	nc      net.Conn
	br      *bufio.Reader
	r       *packet.Reader
	bw      *bufio.Writer // nil when w writes to nc directly
	w       *packet.Writer
	version byte
}

// dialer opens connections the same way: protocol version, keep-alive and
// the local addresses to bind (round-robin; none: the kernel's choice).
type dialer struct {
	addr      string
	version   byte
	keepAlive uint16
	src       []net.IP
	timeout   time.Duration
}

// dial connects as clientID with a clean session and waits for a
// successful CONNACK. With buffered, packets are written to a
// bufio.Writer that the caller flushes.
func (d dialer) dial(ctx context.Context, i int, clientID string, buffered bool) (*conn, error) {
	nd := net.Dialer{Timeout: d.timeout}
	if len(d.src) > 0 {
		nd.LocalAddr = &net.TCPAddr{IP: d.src[i%len(d.src)]}
	}
	nc, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), version: d.version}
	c.r = packet.NewReader(c.br, d.version, packet.Limits{})
	if buffered {
		c.bw = bufio.NewWriterSize(nc, 64<<10)
		c.w = packet.NewWriter(c.bw)
	} else {
		c.w = packet.NewWriter(nc)
	}
	connect := &packet.Connect{Version: d.version, CleanStart: true, KeepAlive: d.keepAlive, ClientID: clientID}
	if err := c.handshake(connect); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: %w", clientID, err)
	}
	return c, nil
}

// handshake sends the CONNECT and reads the CONNACK within the dialer's
// timeout (set on the connection by the caller's deadline, if any).
func (c *conn) handshake(connect *packet.Connect) error {
	c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	if err := c.write(connect); err != nil {
		return fmt.Errorf("send CONNECT: %w", err)
	}
	ack, err := readReply[*packet.Connack](c)
	if err != nil {
		return err
	}
	if ack.Reason != packet.Success {
		return fmt.Errorf("CONNACK refused: %s", ack.Reason)
	}
	return nil
}

// readReply reads the next packet, which must be a T.
func readReply[T packet.Packet](c *conn) (T, error) {
	var want T // a nil pointer, whose Type method still answers
	p, err := c.r.ReadPacket()
	if err != nil {
		return want, fmt.Errorf("read %s: %w", want.Type(), err)
	}
	t, ok := p.(T)
	if !ok {
		return want, fmt.Errorf("got %s, want %s", p.Type(), want.Type())
	}
	return t, nil
}

// write sends p, flushing when buffered.
func (c *conn) write(p packet.Packet) error {
	if err := c.w.WritePacket(p, c.version); err != nil {
		return err
	}
	if c.bw != nil {
		return c.bw.Flush()
	}
	return nil
}

// subscribe subscribes to filter at qos and waits for a SUBACK that grants
// it.
func (c *conn) subscribe(filter string, qos byte) error {
	sub := &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: qos}}}
	if err := c.write(sub); err != nil {
		return fmt.Errorf("send SUBSCRIBE: %w", err)
	}
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer c.nc.SetReadDeadline(time.Time{})
	ack, err := readReply[*packet.Suback](c)
	switch {
	case err != nil:
		return err
	case len(ack.Reasons) != 1 || ack.Reasons[0] >= 0x80:
		return fmt.Errorf("SUBACK refused %s: %v", filter, ack.Reasons)
	case byte(ack.Reasons[0]) < qos:
		return fmt.Errorf("SUBACK granted QoS %d of %d", ack.Reasons[0], qos)
	}
	return nil
}

// disconnect sends DISCONNECT (best effort) and closes the connection.
func (c *conn) disconnect() {
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.write(&packet.Disconnect{})
	c.nc.Close()
}
