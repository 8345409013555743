package netserve

import (
	"errors"
	"io"
	"net"
	"time"
)

// How long, and how much, CloseAfterError reads from a peer that goes on
// sending after being told why its connection ends.
const (
	DrainTime  = time.Second
	DrainBytes = 1 << 20
)

// Linger reports whether a connection whose read loop ended with err should
// be closed by CloseAfterError: unless the peer has closed its side already
// (nothing more will come) or the socket is closed. A session adds its own
// conditions (not when the server is shutting down).
func Linger(err error) bool {
	return !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, net.ErrClosed)
}

// CloseAfterError closes nc so that the peer can read what was written to
// it last — the error frame that says why the connection ends.
//
// Closing a TCP socket while input it has not read is waiting makes the
// kernel send a reset instead of a FIN, and a reset makes the peer's stack
// throw away what it received but its application has not read yet: the
// client would see "connection reset" instead of the error. So
// CloseAfterError first half-closes the write side (a FIN after the data
// already written; on TLS a close_notify alert, then the FIN), then reads
// and discards what the peer still sends until it closes its side, for at
// most drain (DrainTime if drain <= 0) and DrainBytes bytes, and only then
// closes nc. Call it once everything has been written and flushed, and
// with no other goroutine reading nc; a read deadline set on nc meanwhile
// (a server shutdown) ends the wait early.
func CloseAfterError(nc net.Conn, drain time.Duration) {
	if drain <= 0 {
		drain = DrainTime
	}
	deadline := time.Now().Add(drain)
	nc.SetWriteDeadline(deadline)
	closeWrite(nc)
	nc.SetReadDeadline(deadline)
	io.CopyN(io.Discard, nc, DrainBytes) // ends at EOF, the deadline or the cap
	nc.Close()
}

// closeWrite half-closes nc's write side, and that of the connection
// beneath a TLS one. It reports whether it could.
func closeWrite(nc net.Conn) bool {
	cw, ok := nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		// A TLS connection whose handshake has not completed cannot send
		// close_notify; the drain below still keeps the close a FIN
		// unless the peer keeps sending.
		return false
	}
	// *tls.Conn's CloseWrite leaves the connection beneath open.
	if u, ok := nc.(interface{ NetConn() net.Conn }); ok {
		closeWrite(u.NetConn())
	}
	return true
}
