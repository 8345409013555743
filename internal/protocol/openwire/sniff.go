package openwire

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/piermq/pier/internal/protocol/connbuf"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// A client of the other protocol on this port is told so in its own
// protocol, and the broker logs one line: a STOMP client on the OpenWire
// port gets a STOMP ERROR frame (ReplySTOMP), an OpenWire client on the
// STOMP port an exception in answer to its ConnectionInfo (Refuse, called
// by the STOMP adapter), which ActiveMQ's JMS client throws from
// createConnection or start. Each adapter recognises the other protocol
// by the first bytes of a connection: an OpenWire client starts with its
// WireFormatInfo (a frame size, whose first byte is 0, then type 1 and
// the magic "ActiveMQ"), a STOMP client with CONNECT or STOMP (perhaps
// after heart-beat newlines).

// sniffWait bounds how long a new connection's first bytes are awaited
// before the broker sends its WireFormatInfo anyway: OpenWire clients
// send theirs at once, without waiting for the broker's.
const sniffWait = time.Second

// magic is the start of every OpenWire WireFormatInfo's body.
var magic = []byte("ActiveMQ")

// IsOpenWire reports whether b, the first bytes of a connection, are
// OpenWire's (a WireFormatInfo frame): the size's first byte is 0, and
// the magic follows the size and the type as far as b goes.
func IsOpenWire(b []byte) bool {
	if len(b) == 0 || b[0] != 0 {
		return false
	}
	if len(b) <= 5 {
		return true
	}
	rest := b[5:]
	n := min(len(rest), len(magic))
	return b[4] == wire.TypeWireFormatInfo && bytes.Equal(rest[:n], magic[:n])
}

// isSTOMP reports whether b, the first bytes of a connection, begin a
// STOMP frame that opens a connection (CONNECT or STOMP), perhaps after
// heart-beat newlines, as far as b goes.
func isSTOMP(b []byte) bool {
	b = bytes.TrimLeft(b, "\r\n")
	if len(b) == 0 {
		return true
	}
	for _, cmd := range []string{"CONNECT", "STOMP"} {
		n := min(len(b), len(cmd))
		if string(b[:n]) == cmd[:n] {
			return true
		}
	}
	return false
}

// sniffSTOMP waits up to wait for the connection's first bytes and
// reports whether they are STOMP's. It consumes nothing.
func sniffSTOMP(nc net.Conn, r *connbuf.Reader, wait time.Duration) bool {
	nc.SetReadDeadline(time.Now().Add(wait)) // the read loop sets its own next
	if _, err := r.Peek(1); err != nil {
		return false
	}
	b, _ := r.Peek(min(r.Buffered(), 16))
	return isSTOMP(b)
}

// ReplySTOMP answers a STOMP client that connected to the OpenWire port
// with an ERROR frame that says so and where STOMP is (stompURL, "" if the
// broker has no STOMP port), then closes the connection. It is written
// for every STOMP version: no header value needs escaping.
func ReplySTOMP(nc net.Conn, stompURL string) {
	msg := "this port speaks OpenWire; "
	body := "This port speaks OpenWire (ActiveMQ's JMS protocol), not STOMP."
	if stompURL != "" {
		msg += "STOMP is on port " + portOf(stompURL)
		body += " STOMP is on " + stompURL + "."
	} else {
		msg += "this broker has no STOMP port"
	}
	body += "\n"
	frame := "ERROR\nmessage:" + msg + "\ncontent-type:text/plain\ncontent-length:" + strconv.Itoa(len(body)) +
		"\n\n" + body + "\x00"
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write([]byte(frame))
	netserve.CloseAfterError(nc, netserve.DrainTime)
}

// portOf returns the port of a URL or host:port (the URL itself if it has
// none), for a STOMP header that must not hold a colon.
func portOf(u string) string {
	hp := u
	if _, rest, ok := strings.Cut(u, "://"); ok {
		hp = rest
	}
	if _, port, err := net.SplitHostPort(hp); err == nil {
		return port
	}
	return u
}

// Refuse speaks just enough OpenWire to tell a client on the wrong port
// why it cannot connect: it sends a WireFormatInfo, reads the client's,
// answers the first command that asks for a response (the ConnectionInfo)
// with an exception carrying msg (javax.jms.JMSException), and closes. r
// reads nc (and holds what was read of it already). timeout bounds the
// whole exchange.
func Refuse(nc net.Conn, r io.Reader, msg string, timeout time.Duration) {
	defer netserve.CloseAfterError(nc, netserve.DrainTime)
	nc.SetDeadline(time.Now().Add(timeout))
	dec := wire.NewDecoder(r, wire.Options{MaxFrameSize: 1 << 20})
	bw := bufio.NewWriter(nc)
	enc := wire.NewEncoder(bw, wire.Options{})
	local := wire.NewBrokerWireFormat(wire.BrokerWireFormatConfig{ProviderName: "Pier"})
	if enc.Encode(local) != nil || bw.Flush() != nil {
		return
	}
	first, err := dec.Decode()
	if err != nil {
		return
	}
	info, ok := first.(*wire.WireFormatInfo)
	if !ok {
		return
	}
	n, err := wire.Negotiate(local, info)
	if err != nil || n.TightEncoding || n.Cache || n.SizePrefixDisabled || !wire.VersionSupported(int(n.Version)) {
		return
	}
	_ = dec.SetVersion(int(n.Version))
	_ = enc.SetVersion(int(n.Version))
	ex := &wire.Throwable{Class: "javax.jms.JMSException", Message: msg}
	for range 16 { // the client's first commands: ConnectionInfo comes among them
		cmd, err := dec.Decode()
		if err != nil {
			return
		}
		bc, ok := cmd.(wire.BaseCommand)
		if !ok || !bc.ResponseRequired() {
			continue
		}
		if enc.Encode(&wire.ExceptionResponse{CorrelationID: bc.CommandID(), Exception: ex}) == nil {
			bw.Flush()
		}
		return
	}
}

// wrongPort is the message Refuse gives an OpenWire client of the STOMP
// port at openwireURL ("" if the broker has no OpenWire port).
func wrongPort(openwireURL string) string {
	if openwireURL == "" {
		return "this port speaks STOMP, not OpenWire, and this broker has no OpenWire port"
	}
	return fmt.Sprintf("this port speaks STOMP, not OpenWire; OpenWire is on %s", openwireURL)
}

// RefuseOnSTOMPPort is Refuse with the message for an OpenWire client on
// the STOMP port; openwireURL is where OpenWire is ("" if nowhere).
func RefuseOnSTOMPPort(nc net.Conn, r io.Reader, openwireURL string, timeout time.Duration) {
	Refuse(nc, r, wrongPort(openwireURL), timeout)
}
