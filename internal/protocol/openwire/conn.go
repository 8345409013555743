package openwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/connbuf"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// conn is one OpenWire connection: a read loop (Run) and a write loop.
type conn struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	br     *connbuf.Reader // beneath dec; sniff.go peeks at it
	dec    *wire.Decoder
	bw     *connbuf.Writer
	enc    *wire.Encoder
	ctx    context.Context
	cancel context.CancelFunc

	readCheck time.Duration // drop the client after this long without data
	bc        *broker.Conn  // set by ConnectionInfo
	connID    string
	// duplex is a network bridge's request to be bridged back, held until
	// the connection has authenticated (read loop only).
	duplex  *DuplexRequest
	login   struct{ user, password string } // of a user who may bridge (read loop only)
	version int                             // negotiated OpenWire version (read loop only)
	stale   atomic.Bool
	// faultTolerant: the client fails over (its ConnectionInfo, or a
	// ConnectionControl it sent, said so); it is sent cluster updates.
	faultTolerant atomic.Bool
	cl            struct { // guarded by srv.cluster (cluster.go)
		accepted bool   // ConnectionInfo answered: UpdateCluster considers it
		sent     string // the connectedBrokers last sent
	}
	producers map[string]*wire.ProducerInfo // read loop only
	txAcks    map[string][]txAck            // read loop only
	pending   []func()                      // run after the current command is answered
	out       *netserve.Outbox[wire.Command]

	cmu       sync.Mutex
	consumers map[string]*consumer

	timers struct {
		sync.Mutex
		list []*time.Timer
	}
}

func newConn(srv *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{srv: srv, nc: nc, ctx: ctx, cancel: cancel, out: netserve.NewOutbox[wire.Command](),
		producers: map[string]*wire.ProducerInfo{}, txAcks: map[string][]txAck{}, consumers: map[string]*consumer{}}
	c.log = srv.log.With("conn", nc.RemoteAddr().String())
	// Small buffers while the connection is idle, 64 KiB each way once it
	// is busy (see connbuf).
	c.br = connbuf.NewReader(nc, 64<<10)
	c.dec = wire.NewDecoder(c.br, wire.Options{MaxFrameSize: int(srv.cfg.MaxFrameSize)})
	c.bw = connbuf.NewWriter(nc, 64<<10, &srv.bufs)
	c.enc = wire.NewEncoder(c.bw, wire.Options{})
	return c
}

// sendWireFormat writes the broker's WireFormatInfo at once (the client
// waits for it before sending anything else).
func (c *conn) sendWireFormat() { c.writeNow(c.srv.local) }

// writeNow writes one command directly; only before the write loop runs.
func (c *conn) writeNow(cmd wire.Command) {
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if c.enc.Encode(cmd) == nil {
		c.bw.Flush()
	}
}

// Shutdown implements netserve.Session: the read loop ends soon.
func (c *conn) Shutdown() {
	c.cancel() // first: the read loop checks ctx after setting its deadline
	c.nc.SetReadDeadline(time.Now())
}

// closeStale ends a connection whose client came back on another socket.
func (c *conn) closeStale() {
	c.stale.Store(true)
	if c.bc != nil {
		c.bc.Close()
	}
	c.nc.SetReadDeadline(time.Now())
	c.nc.Close()
}

// Run implements netserve.Session.
func (c *conn) Run() {
	isSTOMP := sniffSTOMP(c.nc, c.br, min(sniffWait, c.srv.cfg.InactivityInitialDelay))
	switch {
	case c.ctx.Err() != nil: // Shutdown while waiting for the first bytes
		c.nc.Close()
		return
	case isSTOMP:
		c.log.Info("a STOMP client connected to the OpenWire port; told it where STOMP is", "stomp", c.srv.cfg.STOMPURL)
		ReplySTOMP(c.nc, c.srv.cfg.STOMPURL)
		c.cancel()
		return
	}
	c.sendWireFormat()
	go c.out.Run(c.ctx, netserve.Writer[wire.Command]{
		Conn: c.nc, Timeout: c.srv.cfg.WriteTimeout, Flush: c.bw.Flush,
		Write: func(cmd wire.Command) error {
			err := c.enc.Encode(cmd)
			if err != nil {
				c.log.Warn("cannot encode a command; closing", "err", err)
			}
			return err
		},
		Beat: func() error { return c.enc.Encode(&wire.KeepAliveInfo{}) },
	})
	err := c.readLoop()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && c.ctx.Err() == nil && !c.stale.Load() {
		c.log.Debug("connection ends", "err", err)
	}
	// When the broker, not the client, ended the connection (a
	// ConnectionError, a refused ConnectionInfo), the client may still be
	// sending: the close then lets it read the last commands first.
	linger := netserve.Linger(err) && c.ctx.Err() == nil && !c.stale.Load()
	c.out.Finish(c.nc, c.srv.cfg.WriteTimeout, linger, c.cancel, func() {
		c.timers.Lock()
		for _, t := range c.timers.list {
			t.Stop()
		}
		c.timers.Unlock()
		if c.bc != nil {
			c.bc.Close()
			c.srv.release(c.connID, c)
		}
	})
}

// send queues a command for the writer.
func (c *conn) send(cmd wire.Command) { c.out.Push(cmd) }

// readLoop reads commands until the connection ends.
func (c *conn) readLoop() error {
	c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.InactivityInitialDelay))
	first, err := c.dec.Decode()
	if err != nil {
		c.decodeFailed(err)
		return err
	}
	info, ok := first.(*wire.WireFormatInfo)
	if !ok {
		c.fatal("expected WireFormatInfo first")
		return nil
	}
	if err := c.negotiate(info); err != nil {
		c.fatal(err.Error())
		return nil
	}
	for {
		if c.readCheck > 0 {
			c.nc.SetReadDeadline(time.Now().Add(c.readCheck))
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
		if c.ctx.Err() != nil {
			return nil // Shutdown: its deadline may have been overwritten just now
		}
		cmd, err := c.dec.Decode()
		if err != nil {
			c.decodeFailed(err)
			return err
		}
		if cmd == nil {
			continue // null frame
		}
		if done := c.handle(cmd); done {
			return nil
		}
	}
}

// decodeFailed reports why reading stopped, to the client when it sent
// something unreadable.
func (c *conn) decodeFailed(err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && c.ctx.Err() == nil && !c.stale.Load():
		c.log.Info("client inactive; closing", "after", c.readCheck.String())
	case errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrFrameTooLarge), errors.Is(err, wire.ErrUnknownType):
		c.fatal(err.Error())
	}
}

// negotiate checks the client's WireFormatInfo and sets up keep-alives.
func (c *conn) negotiate(info *wire.WireFormatInfo) error {
	n, err := wire.Negotiate(c.srv.local, info)
	if err != nil {
		return err
	}
	if n.TightEncoding || n.Cache || n.SizePrefixDisabled {
		return errors.New("this broker speaks loose encoding, without marshal cache, with size prefixes")
	}
	v := int(n.Version)
	if !wire.VersionSupported(v) {
		return fmt.Errorf("OpenWire version %d is not supported; this broker speaks versions 1, 9, 10, 11 and 12", v)
	}
	// Both directions use the negotiated version from the next frame on. The
	// write loop has not encoded anything yet: it first encodes after the
	// keepAlive or send below, which order these calls before it.
	_ = c.dec.SetVersion(v) // cannot fail: checked above
	_ = c.enc.SetVersion(v)
	c.version = v
	if n.MaxInactivityDuration > 0 {
		c.readCheck = n.MaxInactivityDuration + n.MaxInactivityDuration/2
		c.out.SetBeat(n.MaxInactivityDuration / 3)
	}
	c.sendBrokerInfo()
	return nil
}

// sendBrokerInfo announces the broker at once, as ActiveMQ does: its
// network bridges wait for it before they log in. On a secured broker it
// carries only the broker's id and name (ID:<name>), never its URL, so a
// stranger learns nothing it could use.
func (c *conn) sendBrokerInfo() {
	info := &wire.BrokerInfo{BrokerID: &wire.BrokerID{Value: c.srv.brokerID}, BrokerName: c.srv.cfg.BrokerName}
	if !c.srv.b.Secured() {
		info.BrokerURL = c.srv.cfg.BrokerURL
	}
	c.send(info)
}

// fatal tells the client why the connection ends.
func (c *conn) fatal(msg string) {
	c.log.Info("protocol error; closing", "err", msg)
	c.send(&wire.ConnectionError{Exception: &wire.Throwable{Class: "java.io.IOException", Message: msg}})
}

// afterFunc runs f after d unless the connection ends first.
func (c *conn) afterFunc(d time.Duration, f func()) {
	t := time.AfterFunc(d, f)
	c.timers.Lock()
	c.timers.list = append(c.timers.list, t)
	c.timers.Unlock()
}
