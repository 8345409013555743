package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/connbuf"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/store"
)

// outItem is one packet for the writer, optionally with a delivery to
// acknowledge once it is written (QoS 0).
type outItem struct {
	p    packet.Packet
	auto *broker.Delivery
	// done, if set, is called once p is written or dropped: a QoS 1 or 2
	// PUBLISH too large for the client is dropped, and acknowledged as if
	// the client had.
	dropped func()
}

// session is one MQTT connection: a read loop (Run) and a write loop.
type session struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	br     *connbuf.Reader
	r      *packet.Reader
	bw     *connbuf.Writer
	w      *packet.Writer
	ctx    context.Context
	cancel context.CancelFunc
	out    *netserve.Outbox[outItem]

	version   byte
	clientID  string
	conn      *broker.Conn
	keepAlive time.Duration
	expiry    uint32 // session expiry, seconds: 0 ends it with the connection, 0xFFFFFFFF never (3.1.1: 0 or never)
	will      *packet.Will
	// ending says why the connection ends, once the session knows:
	// endNormal (DISCONNECT), endTakenOver, endAdmin.
	ending atomic.Int32
	// stopping says the server is shutting down (Shutdown): the
	// connection ends with no will, the session is the next master's.
	stopping atomic.Bool

	// Inbound state, the read loop's own.
	aliases map[uint16]string // MQTT 5 topic aliases the client set
	qos2In  map[uint16]bool   // QoS 2 publishes received, PUBREL pending
	batch   []inbound         // QoS 1 publishes to store together (publish.go)

	mu struct {
		sync.Mutex
		subs     map[string]*sub // by filter
		inflight map[uint16]*flight
		waiting  []waiting // deliveries waiting for room in flight
		nextID   uint16
		quota    int // how many may be in flight: the client's Receive Maximum, at most MaxInflight
	}
}

// sub is one MQTT subscription: a broker subscription whose id is the
// filter.
type sub struct {
	filter  string // as subscribed: the subscription's id
	topic   string // the filter without $share/NAME/
	share   string // the share name of a shared subscription
	qos     byte
	opts    packet.Subscription
	subID   uint32 // MQTT 5 subscription identifier, 0 for none
	durable string // the broker's durable subscription name, "" if none
	bsub    *broker.Subscription
}

// flight is a QoS 1 or 2 message sent and not yet acknowledged, or a QoS 2
// one the client has received (PUBREC) whose PUBREL is not yet completed.
type flight struct {
	d      *broker.Delivery // nil for a retained message (nothing to acknowledge)
	qos    byte
	pubrel bool // PUBREC received, PUBREL sent
	marked bool // the PUBREL is marked in the store (a persistent session)
}

// waiting is a delivery (or retained message) waiting for room in flight.
type waiting struct {
	d        *broker.Delivery
	retained *message.Message
	s        *sub
	qos      byte
}

// ends of a connection the session chose
const (
	endNone int32 = iota
	endNormal
	endWill // MQTT 5 DISCONNECT with reason 0x04: publish the will
	endTakenOver
	endAdmin
	endProtocol
)

func newSession(srv *Server, nc net.Conn) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{srv: srv, nc: nc, ctx: ctx, cancel: cancel, out: netserve.NewOutbox[outItem](),
		aliases: map[uint16]string{}, qos2In: map[uint16]bool{}}
	s.log = srv.log.With("conn", nc.RemoteAddr().String())
	s.br = connbuf.NewReader(nc, 32<<10)
	s.r = packet.NewReader(s.br, 0, packet.Limits{MaxPacketSize: srv.cfg.MaxPacketSize})
	s.bw = connbuf.NewWriter(nc, 32<<10, &srv.bufs)
	s.w = packet.NewWriter(s.bw)
	s.mu.subs = map[string]*sub{}
	s.mu.inflight = map[uint16]*flight{}
	return s
}

// refuse answers a connection over the limit: a CONNACK if its CONNECT
// comes within a second, then the close.
func (s *session) refuse(reason string) {
	s.nc.SetReadDeadline(time.Now().Add(time.Second))
	p, err := s.r.ReadPacket()
	if c, ok := p.(*packet.Connect); ok && err == nil {
		s.version = c.Version
		s.nc.SetWriteDeadline(time.Now().Add(time.Second))
		s.w.WritePacket(&packet.Connack{Reason: packet.ServerBusy, Properties: packet.Properties{ReasonString: reason}}, s.version)
		s.bw.Flush()
	}
	netserve.CloseAfterError(s.nc, netserve.DrainTime)
}

// Shutdown implements netserve.Session: the server is stopping.
func (s *session) Shutdown() {
	s.stopping.Store(true)
	s.cancel()
	s.nc.SetReadDeadline(time.Now())
}

// CloseFromBroker implements broker.Closer: another connection took the
// client id over, or an administrator closed the connection.
func (s *session) CloseFromBroker(reason string) {
	end, code := endAdmin, packet.AdministrativeAction
	if reason == broker.TakeOverReason {
		end, code = endTakenOver, packet.SessionTakenOver
	}
	if !s.ending.CompareAndSwap(endNone, end) {
		return
	}
	// The broker closes the connection when this returns: a will due now
	// goes out while the connection can still send it. Taken over, a
	// session with a will delay goes on in the new connection, which
	// comes back within any delay: no will (MQTT 5 section 3.1.3.2.2).
	if end != endTakenOver || !s.persistent() || s.will == nil || s.will.Properties.WillDelay == 0 {
		s.publishWillNow()
	}
	if s.version == packet.Version5 {
		s.out.Push(outItem{p: &packet.Disconnect{Reason: code, Properties: packet.Properties{ReasonString: reason}}})
	}
	s.out.Close()
	s.nc.SetReadDeadline(time.Now())
}

// Run implements netserve.Session.
func (s *session) Run() {
	go s.out.Run(s.ctx, netserve.Writer[outItem]{
		Conn: s.nc, Timeout: s.srv.cfg.WriteTimeout, Write: s.write, Flush: s.bw.Flush,
		Beat: func() error { return nil },
	})
	err := s.readLoop()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && s.ctx.Err() == nil {
		s.log.Debug("connection ends", "client_id", s.clientID, "err", err)
	}
	linger := netserve.Linger(err) && s.ctx.Err() == nil
	s.out.Finish(s.nc, s.srv.cfg.WriteTimeout, linger, s.cancel, s.release)
}

// release ends the session's hold on the broker as the connection ends:
// the will, the session's state when it does not outlive the connection.
func (s *session) release() {
	if s.conn == nil {
		return
	}
	end := s.ending.Load()
	shutdown := s.stopping.Load() && end == endNone
	if !shutdown && (end == endNone || end == endWill || end == endProtocol) {
		s.publishWill()
	}
	var shared []*sub
	if !s.persistent() {
		s.mu.Lock()
		for _, sb := range s.mu.subs {
			if sb.share != "" {
				shared = append(shared, sb)
			}
		}
		s.mu.Unlock()
	}
	s.conn.Close()
	if shutdown || end == endTakenOver {
		return
	}
	switch {
	case !s.persistent():
		for _, sb := range shared { // attached no more: the last member ends the share
			s.srv.leaveShare(context.Background(), s.clientID, sb)
		}
		s.endSession(context.Background())
	case s.expiry != 0xFFFFFFFF:
		at := time.Now().Add(time.Duration(s.expiry) * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.srv.b.Mark(ctx, expiryMark(s.clientID, at)); err != nil {
			s.log.Warn("session expiry not recorded; only this broker will end it", "client_id", s.clientID, "err", err)
		}
		s.srv.expireAt(s.clientID, at)
	}
}

// write writes one packet, and acknowledges a QoS 0 delivery once it is.
func (s *session) write(it outItem) error {
	err := s.w.WritePacket(it.p, s.version)
	if errors.Is(err, packet.ErrTooLarge) {
		// Larger than the client's Maximum Packet Size: not sent, and
		// settled as if delivered (MQTT 5 section 3.1.2.11.4).
		s.log.Debug("message larger than the client accepts; dropped", "client_id", s.clientID)
		if it.dropped != nil {
			it.dropped()
		}
		err = nil
	} else if err != nil {
		return err
	}
	if it.auto != nil {
		s.conn.Ack(s.ctx, it.auto.Sub.ID(), it.auto.Tag, "", false)
	}
	return nil
}

// fail ends the connection for a protocol error: an MQTT 5 client is told
// why (DISCONNECT with the reason), a 3.1.1 client only sees the close.
func (s *session) fail(code packet.ReasonCode, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	s.ending.CompareAndSwap(endNone, endProtocol)
	if s.version == packet.Version5 {
		s.out.Push(outItem{p: &packet.Disconnect{Reason: code, Properties: packet.Properties{ReasonString: msg}}})
	}
	s.log.Debug("protocol error; closing", "client_id", s.clientID, "reason", code, "err", msg)
	return &protoError{msg}
}

type protoError struct{ msg string }

func (e *protoError) Error() string { return e.msg }

func (s *session) readLoop() error {
	s.nc.SetReadDeadline(time.Now().Add(s.srv.cfg.ConnectTimeout))
	for {
		// Shutdown and CloseFromBroker set a deadline to end the read; a
		// deadline set since (connect) may have overwritten it.
		if s.ctx.Err() != nil || s.ending.Load() != endNone {
			s.flush()
			return nil
		}
		p, err := s.r.ReadPacket()
		if err != nil {
			if s.conn != nil && s.ctx.Err() == nil {
				s.flush() // what came before the end is stored and acknowledged
			}
			var pe *packet.Error
			switch {
			case errors.As(err, &pe):
				if s.conn == nil {
					// A CONNECT it cannot take is answered — in 3.1.1
					// only for a protocol level it does not speak
					// (MQTT-3.1.2-2; other faults close, MQTT-3.1.4-1);
					// anything else first is closed (MQTT-3.1.0-1).
					if pe.Type == packet.CONNECT && (pe.Version == packet.Version5 || pe.Reason == packet.UnsupportedProtocolVersion) {
						s.version = pe.Version
						s.out.Push(outItem{p: &packet.Connack{Reason: pe.Reason, Properties: packet.Properties{ReasonString: pe.Msg}}})
					}
					return err
				}
				return s.fail(pe.Reason, "%s", pe.Msg)
			case s.ctx.Err() != nil:
				return nil
			case isTimeout(err) && s.conn != nil && s.ending.Load() == endNone:
				return s.fail(packet.KeepAliveTimeout, "no packet within 1.5 times the keep-alive")
			}
			return err
		}
		if s.keepAlive > 0 {
			s.nc.SetReadDeadline(time.Now().Add(s.keepAlive * 3 / 2))
		} else if s.conn != nil {
			s.nc.SetReadDeadline(time.Time{})
		}
		if s.ctx.Err() != nil || s.ending.Load() != endNone {
			return nil
		}
		if _, ok := p.(*packet.Publish); !ok {
			if err := s.flush(); err != nil {
				return err
			}
		}
		if done, err := s.handle(p); done || err != nil {
			return err
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handle processes one packet; done means the connection ends.
func (s *session) handle(p packet.Packet) (done bool, err error) {
	if s.conn == nil {
		c, ok := p.(*packet.Connect)
		if !ok {
			return true, s.fail(packet.ProtocolError, "the first packet must be CONNECT")
		}
		return !s.connect(c), nil
	}
	switch p := p.(type) {
	case *packet.Publish:
		return false, s.onPublish(p)
	case *packet.Pubrel:
		return false, s.onPubrel(p)
	case *packet.Puback:
		return false, s.onPuback(p.PacketID)
	case *packet.Pubrec:
		return false, s.onPubrec(p)
	case *packet.Pubcomp:
		return false, s.onPubcomp(p.PacketID)
	case *packet.Subscribe:
		return false, s.onSubscribe(p)
	case *packet.Unsubscribe:
		return false, s.onUnsubscribe(p)
	case *packet.Pingreq:
		s.out.Write(outItem{p: &packet.Pingresp{}})
		return false, nil
	case *packet.Disconnect:
		return true, s.onDisconnect(p)
	case *packet.Connect:
		return true, s.fail(packet.ProtocolError, "a second CONNECT")
	case *packet.Auth:
		return true, s.fail(packet.BadAuthenticationMethod, "enhanced authentication is not supported")
	default:
		return true, s.fail(packet.ProtocolError, "a client may not send %s", p.Type())
	}
}

func (s *session) onDisconnect(p *packet.Disconnect) error {
	end := endNormal
	if p.Reason == packet.DisconnectWithWill {
		end = endWill
	}
	if s.version == packet.Version5 && p.Properties.SessionExpiry != nil {
		e := *p.Properties.SessionExpiry
		if s.expiry == 0 && e != 0 {
			return s.fail(packet.ProtocolError, "a session expiry set at DISCONNECT when CONNECT had none")
		}
		s.expiry = s.capExpiry(e)
	}
	s.ending.CompareAndSwap(endNone, end)
	return nil
}

// connect handles CONNECT; false means the connection ends.
func (s *session) connect(c *packet.Connect) bool {
	s.version = c.Version
	cfg := &s.srv.cfg
	v5 := c.Version == packet.Version5
	refuse := func(code packet.ReasonCode, msg string) bool {
		s.out.Push(outItem{p: &packet.Connack{Reason: code, Properties: packet.Properties{ReasonString: msg}}})
		s.log.Debug("CONNECT refused", "client_id", c.ClientID, "reason", code, "err", msg)
		return false
	}
	var ack packet.Connack
	id := c.ClientID
	if id == "" {
		if !v5 && !c.CleanStart {
			return refuse(packet.ClientIDNotValid, "a persistent session needs a client id")
		}
		id = "pier-" + randomID()
		ack.Properties.AssignedClientID = id
	}
	s.clientID = id
	switch {
	case !v5 && c.CleanStart:
		s.expiry = 0
	case !v5:
		s.expiry = 0xFFFFFFFF
	case c.Properties.SessionExpiry != nil:
		s.expiry = s.capExpiry(*c.Properties.SessionExpiry)
	}
	if c.Will != nil {
		if err := packet.ValidTopicName(c.Will.Topic); err != nil {
			return refuse(packet.TopicNameInvalid, "will topic: "+err.Error())
		}
		s.will = c.Will
	}
	s.keepAlive = time.Duration(c.KeepAlive) * time.Second
	if cfg.MaxKeepAlive > 0 && (s.keepAlive == 0 || s.keepAlive > cfg.MaxKeepAlive) {
		s.keepAlive = cfg.MaxKeepAlive.Truncate(time.Second)
		ka := uint16(s.keepAlive / time.Second)
		ack.Properties.ServerKeepAlive = &ka
	}
	s.mu.quota = cfg.MaxInflight
	if v5 {
		if rm := int(c.Properties.ReceiveMaximum); rm > 0 && rm < s.mu.quota {
			s.mu.quota = rm
		}
		s.w.MaxPacketSize = c.Properties.MaximumPacketSize
	}
	cred := auth.Credentials{Remote: s.nc.RemoteAddr().String(), Protocol: cfg.Protocol,
		Certificates: netserve.PeerCertificates(s.nc)}
	if c.HasUsername {
		cred.Username = c.Username
	}
	if c.HasPassword {
		cred.Password = string(c.Password)
	}
	s.srv.back(id) // a delayed will or an expiring session wait no more
	conn, err := s.srv.b.Connect(s.ctx, broker.ConnOptions{ClientID: id, Credentials: cred, Sink: s, TakeOver: true})
	if err != nil {
		switch {
		case errors.Is(err, auth.ErrAuthentication):
			return refuse(packet.BadUsernameOrPassword, err.Error())
		case errors.Is(err, auth.ErrNotAuthorized):
			return refuse(packet.NotAuthorized, err.Error())
		}
		return refuse(packet.ServerUnavailable, err.Error())
	}
	s.conn = conn
	s.srv.cancelWills(s.ctx, id) // back before its delayed will: not published
	if ks := s.srv.expiryMarks(id); len(ks) > 0 {
		s.srv.b.Unmark(s.ctx, ks...) // back in time: the session goes on
	}
	st := s.storedSession()
	if c.CleanStart || !s.persistent() {
		if st.present() {
			s.endSession(s.ctx)
		}
		st = &stored{}
	}
	ack.SessionPresent = st.present()
	if s.persistent() && !st.marked {
		if err := s.srv.b.Mark(s.ctx, sessionMark(id)); err != nil {
			conn.Close()
			s.conn = nil
			return refuse(packet.ServerUnavailable, err.Error())
		}
	}
	if v5 {
		pr := &ack.Properties
		pr.ReceiveMaximum = cfg.ReceiveMaximum
		pr.MaximumPacketSize = cfg.MaxPacketSize
		pr.TopicAliasMaximum = cfg.TopicAliasMaximum
		if c.Properties.SessionExpiry != nil && s.expiry != *c.Properties.SessionExpiry {
			e := s.expiry
			pr.SessionExpiry = &e
		}
	}
	s.out.Push(outItem{p: &ack})
	if s.keepAlive > 0 {
		s.nc.SetReadDeadline(time.Now().Add(s.keepAlive * 3 / 2))
	} else {
		s.nc.SetReadDeadline(time.Time{})
	}
	s.log.Debug("connected", "client_id", id, "version", c.Version, "persistent", s.persistent(), "session_present", ack.SessionPresent)
	s.resend(st.out) // first: their packet ids are taken
	if err := s.resume(st); err != nil {
		s.fail(packet.ServerUnavailable, "%v", err)
		return false
	}
	return true
}

// persistent reports whether the session outlives the connection.
func (s *session) persistent() bool { return s.expiry != 0 }

// capExpiry applies MaxSessionExpiry to a requested session expiry.
func (s *session) capExpiry(e uint32) uint32 {
	if max := s.srv.cfg.MaxSessionExpiry; max > 0 && (e == 0xFFFFFFFF || time.Duration(e)*time.Second > max) {
		return uint32(max / time.Second)
	}
	return e
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// publishWill publishes the will, now or after its delay.
func (s *session) publishWill() {
	w := s.will
	if w == nil {
		return
	}
	delay := w.Properties.WillDelay
	if s.persistent() && delay > 0 {
		if s.expiry < delay {
			delay = s.expiry
		}
		d := time.Duration(delay) * time.Second
		if s.scheduleWill(w, d) {
			return
		}
		subject := s.conn.Subject()
		id := s.clientID
		s.srv.away(id, func(a *absent) {
			a.will = time.AfterFunc(d, func() { s.srv.publishWill(id, subject, w) })
		})
		return
	}
	s.publishWillNow()
}

// willPrefix starts the marks of a client's delayed wills: the scheduler's
// job ids follow.
func willPrefix(clientID string) string { return "mqtt:will:" + clientID + ":" }

// scheduleWill hands a delayed will to the broker's scheduler, marked with
// its job id in the same write, so that it is published after the delay by
// whichever master then serves, unless the client comes back first
// (cancelWills). False: no scheduler (broker.scheduler: false) or an error;
// the will then waits in this process.
func (s *session) scheduleWill(w *packet.Will, d time.Duration) bool {
	m, err := willMessage(w)
	if err != nil {
		s.log.Warn("will not published", "client_id", s.clientID, "topic", w.Topic, "err", err)
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.conn.ScheduleMarked(ctx, m, d, willPrefix(s.clientID)); err != nil {
		if !errors.Is(err, broker.ErrNoScheduler) {
			s.log.Warn("delayed will not scheduled; it waits in this process", "client_id", s.clientID, "err", err)
		}
		return false
	}
	s.will = nil
	return true
}

// cancelWills removes a returning client's scheduled wills.
func (srv *Server) cancelWills(ctx context.Context, clientID string) {
	prefix := willPrefix(clientID)
	keys := srv.b.Marks(prefix)
	for _, k := range keys {
		if err := srv.b.RemoveScheduledJob(ctx, k[len(prefix):]); err != nil && !errors.Is(err, broker.ErrNoSuchJob) {
			srv.log.Warn("delayed will not cancelled", "client_id", clientID, "err", err)
		}
	}
	if len(keys) > 0 {
		srv.b.Unmark(ctx, keys...)
	}
}

// publishWillNow publishes the will on the session's connection.
func (s *session) publishWillNow() {
	w := s.will
	if w == nil || s.conn == nil {
		return
	}
	s.will = nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sendWill(ctx, s.conn, w); err != nil {
		s.log.Warn("will not published", "client_id", s.clientID, "topic", w.Topic, "err", err)
	}
}

// publishWill publishes a delayed will as the user its client logged in as.
func (srv *Server) publishWill(clientID string, subject *auth.Subject, w *packet.Will) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := srv.b.Connect(ctx, broker.ConnOptions{Subject: subject, Sink: nopSink{},
		Credentials: auth.Credentials{Protocol: srv.cfg.Protocol, Remote: "will of " + clientID}})
	if err == nil {
		err = sendWill(ctx, c, w)
		c.Close()
	}
	if err != nil {
		srv.log.Warn("will not published", "client_id", clientID, "topic", w.Topic, "err", err)
	}
}

func sendWill(ctx context.Context, c *broker.Conn, w *packet.Will) error {
	m, err := willMessage(w)
	if err != nil {
		return err
	}
	return c.Send(ctx, m, "")
}

type nopSink struct{}

func (nopSink) Deliver(*broker.Delivery) {}

// unavailable says the broker is no longer master.
func unavailable(err error) bool {
	return errors.Is(err, store.ErrUnavailable) || errors.Is(err, broker.ErrClosed)
}
