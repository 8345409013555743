package stomp

import (
	"time"

	"github.com/piermq/pier/internal/protocol/openwire"
)

// sniffWait bounds how long sniffOpenWire waits for a connection's first
// bytes; refuseTimeout the exchange that tells an OpenWire client it is on
// the STOMP port.
const (
	sniffWait     = time.Second
	refuseTimeout = 5 * time.Second
)

// sniffOpenWire recognises an OpenWire client by its first bytes (its
// WireFormatInfo: see openwire.IsOpenWire): it logs one line, answers the
// client in OpenWire that this port speaks STOMP and where OpenWire is
// (openwire.RefuseOnSTOMPPort), and reports true: the connection is over.
// Both kinds of client send first, so the wait costs a client nothing; one
// that sends nothing within sniffWait is left to the read loop's connect
// timeout. A Shutdown during the wait ends the connection (true).
func (s *session) sniffOpenWire() bool {
	s.nc.SetReadDeadline(time.Now().Add(min(sniffWait, s.srv.cfg.ConnectTimeout))) // the read loop sets its own next
	b, err := s.br.Peek(1)
	switch {
	case s.ctx.Err() != nil:
		s.nc.Close()
		return true
	case err != nil || !openwire.IsOpenWire(b):
		return false
	}
	if n := min(s.br.Buffered(), 13); n > 1 {
		if b, _ = s.br.Peek(n); !openwire.IsOpenWire(b) {
			return false
		}
	}
	s.log.Info("an OpenWire client connected to the STOMP port; told it where OpenWire is", "openwire", s.srv.cfg.OpenWireURL)
	openwire.RefuseOnSTOMPPort(s.nc, s.br, s.srv.cfg.OpenWireURL, refuseTimeout)
	s.cancel()
	return true
}
