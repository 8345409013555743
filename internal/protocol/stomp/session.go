package stomp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/connbuf"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/store"
)

// outItem is one frame for the writer, optionally with a delivery to
// acknowledge once it is written (auto ack).
type outItem struct {
	f    *Frame
	auto *broker.Delivery
}

// session is one STOMP connection: a read loop (run) and a write loop.
type session struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	br     *connbuf.Reader // beneath r; sniff.go peeks at it
	r      *Reader
	bw     *connbuf.Writer
	w      *Writer
	ctx    context.Context
	cancel context.CancelFunc

	version   Version
	conn      *broker.Conn
	names     destNamer
	sendEvery time.Duration // server -> client heart-beats
	recvEvery time.Duration // client -> server heart-beats
	subs      map[string]*broker.Subscription
	txAcks    map[string][]txAck // acknowledgements inside open transactions
	acks      ackIndex

	out *netserve.Outbox[outItem]
}

func newSession(srv *Server, nc net.Conn) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{srv: srv, nc: nc, ctx: ctx, cancel: cancel, subs: map[string]*broker.Subscription{}, txAcks: map[string][]txAck{},
		out: netserve.NewOutbox[outItem]()}
	s.log = srv.log.With("conn", nc.RemoteAddr().String())
	// Small buffers while the connection is idle, 32 KiB each way once it
	// is busy (see connbuf).
	s.br = connbuf.NewReader(nc, 32<<10)
	s.r = NewReader(s.br, srv.cfg.Limits)
	s.bw = connbuf.NewWriter(nc, 32<<10, &srv.bufs)
	s.w = NewWriter(s.bw, V10)
	s.acks.init()
	return s
}

// refuse tells the client why it cannot connect and closes, so that the
// client reads the ERROR frame even if it is sending already.
func (s *session) refuse(msg string) {
	s.nc.SetWriteDeadline(time.Now().Add(time.Second))
	s.w.WriteFrame(NewFrame(CmdError, "message", msg))
	s.bw.Flush()
	netserve.CloseAfterError(s.nc, netserve.DrainTime)
}

// shutdown makes the read loop end (server shutdown).
func (s *session) Shutdown() {
	s.cancel() // first: the read loop checks ctx after setting its deadline
	s.nc.SetReadDeadline(time.Now())
}

func (s *session) Run() {
	if s.sniffOpenWire() {
		return
	}
	go s.out.Run(s.ctx, netserve.Writer[outItem]{
		Conn: s.nc, Timeout: s.srv.cfg.WriteTimeout, Write: s.write, Flush: s.bw.Flush, Beat: s.w.WriteHeartBeat,
	})
	err := s.readLoop()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		s.log.Debug("connection ends", "err", err)
	}
	// When the session, not the client, ended the connection (an ERROR
	// frame, a refused CONNECT, DISCONNECT), the client may still be
	// sending: the close then lets it read the last frames first.
	linger := netserve.Linger(err) && s.ctx.Err() == nil
	s.out.Finish(s.nc, s.srv.cfg.WriteTimeout, linger, s.cancel, func() {
		if s.conn != nil {
			s.conn.Close()
		}
	})
}

// write writes one frame, and acknowledges an auto-ack delivery once it is.
func (s *session) write(it outItem) error {
	if err := s.w.WriteFrame(it.f); err != nil {
		s.log.Debug("write failed", "err", err)
		return err
	}
	if it.auto != nil {
		s.conn.Ack(s.ctx, it.auto.Sub.ID(), it.auto.Tag, "", false)
	}
	return nil
}

// push queues a frame for the writer.
func (s *session) push(it outItem) { s.out.Push(it) }

// Deliver implements broker.Sink.
func (s *session) Deliver(d *broker.Delivery) {
	sub := d.Sub
	ackID := ""
	auto := sub.Options().Ack == broker.AckAuto
	if !auto {
		ackID = s.acks.add(d.Tag, sub.ID(), d.Msg.ID)
		if s.version < V12 {
			ackID = ""
		}
	}
	f := s.names.toFrame(d.Msg, sub.ID(), ackID)
	it := outItem{f: f}
	if auto {
		it.auto = d
	}
	s.push(it)
}

// fail sends an ERROR frame; fatal ones end the connection.
func (s *session) fail(req *Frame, msg string, fatal bool) {
	f := NewFrame(CmdError, "message", msg)
	if req != nil {
		if r, ok := req.Lookup("receipt"); ok {
			f.Add("receipt-id", r)
		}
	}
	f.Add("content-type", "text/plain")
	f.Body = []byte(msg + "\n")
	s.push(outItem{f: f})
	if fatal {
		s.log.Debug("protocol error; closing", "err", msg)
	}
}

// receipt acknowledges a frame that asked for one. The read loop calls it
// and writes the receipt itself when nothing else is being written
// (netserve.Outbox.Write), as OpenWire does its Response.
func (s *session) receipt(req *Frame) {
	if r, ok := req.Lookup("receipt"); ok {
		s.out.Write(outItem{f: NewFrame(CmdReceipt, "receipt-id", r)})
	}
}

func (s *session) readLoop() error {
	s.nc.SetReadDeadline(time.Now().Add(s.srv.cfg.ConnectTimeout))
	for {
		if s.ctx.Err() != nil {
			return nil // Shutdown: a deadline set since (connect) may have overwritten its own
		}
		f, err := s.r.ReadFrame()
		if err != nil {
			if errors.Is(err, ErrMalformed) || errors.Is(err, ErrFrameTooLarge) ||
				errors.Is(err, ErrTooManyHeaders) || errors.Is(err, ErrHeaderTooLong) {
				s.fail(nil, err.Error(), true)
			} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() && s.ctx.Err() == nil {
				s.fail(nil, "no data received within the heart-beat interval", true)
			}
			return err
		}
		if s.recvEvery > 0 {
			grace := time.Duration(float64(s.recvEvery) * s.srv.cfg.HeartBeatGrace)
			s.nc.SetReadDeadline(time.Now().Add(grace))
		} else if s.conn != nil {
			s.nc.SetReadDeadline(time.Time{})
		}
		if s.ctx.Err() != nil {
			return nil // Shutdown: its deadline may have been overwritten just now
		}
		if f == nil {
			continue // heart-beat
		}
		if done, err := s.handle(f); done || err != nil {
			return err
		}
	}
}

// handle processes one client frame; done means the connection ends.
func (s *session) handle(f *Frame) (done bool, err error) {
	if s.conn == nil {
		if f.Command != CmdConnect && f.Command != CmdStomp {
			s.fail(f, fmt.Sprintf("expected CONNECT, got %s", f.Command), true)
			return true, nil
		}
		return !s.connect(f), nil
	}
	var herr error
	switch f.Command {
	case CmdSend:
		herr = s.onSend(f)
	case CmdSubscribe:
		herr = s.onSubscribe(f)
	case CmdUnsubscribe:
		herr = s.onUnsubscribe(f)
	case CmdAck, CmdNack:
		herr = s.onAck(f)
	case CmdBegin:
		herr = s.onTx(f, s.conn.Begin)
	case CmdCommit:
		herr = s.onTx(f, func(tx string) error {
			err := s.conn.Commit(s.ctx, tx)
			for _, a := range s.txAcks[tx] {
				s.acks.settle(a.tag, a.sub, a.cumulative)
			}
			delete(s.txAcks, tx)
			return err
		})
	case CmdAbort:
		herr = s.onTx(f, func(tx string) error {
			delete(s.txAcks, tx)
			return s.conn.Abort(tx, false)
		})
	case CmdDisconnect:
		// Release the connection (client id, subscriptions) before the
		// receipt, so a client that reconnects at once finds it gone.
		s.conn.Close()
		s.receipt(f)
		return true, nil
	case CmdConnect, CmdStomp:
		s.fail(f, "already connected", true)
		return true, nil
	default:
		s.fail(f, fmt.Sprintf("unknown command %q", f.Command), true)
		return true, nil
	}
	if herr != nil {
		var pe *protoError
		if errors.Is(herr, store.ErrUnavailable) {
			// No longer master: the client must reconnect to the new one.
			s.fail(f, herr.Error(), true)
			return true, nil
		}
		if errors.As(herr, &pe) && pe.fatal {
			s.fail(f, herr.Error(), true)
			return true, nil
		}
		s.fail(f, herr.Error(), false)
		return false, nil
	}
	s.receipt(f)
	return false, nil
}

// protoError is a client mistake; fatal ones close the connection.
type protoError struct {
	msg   string
	fatal bool
}

func (e *protoError) Error() string { return e.msg }

func badFrame(format string, args ...any) error {
	return &protoError{msg: fmt.Sprintf(format, args...), fatal: true}
}

func (s *session) connect(f *Frame) bool {
	v, ok := Negotiate(f.Get("accept-version"), V10, V11, V12)
	if !ok {
		s.version = V10
		e := NewFrame(CmdError, "version", "1.0,1.1,1.2", "message", "supported protocol versions are 1.0, 1.1 and 1.2")
		e.Add("content-type", "text/plain")
		s.push(outItem{f: e})
		return false
	}
	cx, cy, err := ParseHeartBeat(f.Get("heart-beat"))
	if err != nil {
		s.fail(f, err.Error(), true)
		return false
	}
	cred := auth.Credentials{Username: f.Get("login"), Password: f.Get("passcode"), Remote: s.nc.RemoteAddr().String(),
		Protocol: "stomp", Certificates: netserve.PeerCertificates(s.nc)}
	conn, err := s.srv.b.Connect(s.ctx, broker.ConnOptions{ClientID: f.Get("client-id"), Credentials: cred, Sink: s})
	if err != nil {
		s.fail(f, err.Error(), true)
		return false
	}
	s.conn = conn
	s.names = destNamer{tempPrefix: conn.ID() + ":"}
	s.version = v
	s.r.SetVersion(v)
	s.w.SetVersion(v)
	// Mirror the client, as ActiveMQ does: send as often as it wants to
	// receive, expect data as often as it says it sends.
	s.sendEvery, s.recvEvery = cy, cx
	if s.sendEvery > 0 && s.sendEvery < 100*time.Millisecond {
		s.sendEvery = 100 * time.Millisecond
	}
	resp := NewFrame(CmdConnected)
	if v > V10 {
		resp.Add("version", v.String())
		resp.Add("heart-beat", FormatHeartBeat(s.sendEvery, s.recvEvery))
	}
	resp.Add("session", conn.ID())
	resp.Add("server", s.srv.cfg.ServerName)
	if r, ok := f.Lookup("receipt"); ok {
		resp.Add("receipt-id", r)
	}
	if r, ok := f.Lookup("request-id"); ok {
		resp.Add("response-id", r)
	}
	s.push(outItem{f: resp})
	if s.recvEvery > 0 {
		s.nc.SetReadDeadline(time.Now().Add(time.Duration(float64(s.recvEvery) * s.srv.cfg.HeartBeatGrace)))
	} else {
		s.nc.SetReadDeadline(time.Time{})
	}
	if s.sendEvery > 0 {
		s.out.SetBeat(s.sendEvery)
	}
	return true
}

func (s *session) destination(f *Frame, header string) (message.Destination, error) {
	raw, ok := f.Lookup(header)
	if !ok || raw == "" {
		return message.Destination{}, badFrame("%s frame without a %s header", f.Command, header)
	}
	d, local, err := s.names.parse(raw)
	if err != nil {
		return d, &protoError{msg: err.Error()}
	}
	if local != "" {
		return s.conn.TempDestination(d.Kind, d.Name)
	}
	return d, nil
}
