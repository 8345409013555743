//go:build crossprocess

package security

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// quiet is how long a listener must see no connection, and a socket no
// frame, for "nothing happened".
const quiet = 3 * time.Second

// TestDuplexBrokerInfo: a duplex BrokerInfo (what a network connector
// with duplex: true sends to be bridged back) written with the Go codec
// on a raw socket to a secured broker's OpenWire port names a listener of
// the test as the broker to dial. The broker must dial nothing for a
// socket that has not logged in, then fails to log in, or logs in as a
// user outside security.bridges; for a user in security.bridges it must
// dial (the positive control). Before a login the broker sends nothing
// but its WireFormatInfo and a BrokerInfo with its id and name only.
func TestDuplexBrokerInfo(t *testing.T) {
	p, addr, _ := securePier(t, "duplex")

	t.Run("group", func(t *testing.T) {
		t.Run("unauthenticated", func(t *testing.T) {
			t.Parallel()
			l := listen(t)
			c := openRaw(t, addr)
			c.send(duplexInfo(l.addr()))
			// (a) No ConnectionInfo: nothing comes back, nothing is dialled.
			c.expectSilence(quiet)
			l.expectNone(0)
			// (b) Then a wrong password: refused, the socket closes, and
			// still nothing is dialled.
			c.send(connectionInfo(2, "ID:raw-wrong-password", "bridge", "not-"+passwords["bridge"]))
			ex := c.exceptionTo(2)
			if ex.Exception == nil || ex.Exception.Class != "java.lang.SecurityException" ||
				!strings.Contains(ex.Exception.Message, "User name [bridge] or password is invalid.") {
				t.Fatalf("the wrong password was answered with %+v", ex.Exception)
			}
			c.expectClosed()
			l.expectNone(quiet)
		})
		t.Run("not-in-bridges", func(t *testing.T) {
			t.Parallel()
			l := listen(t)
			c := openRaw(t, addr)
			c.send(duplexInfo(l.addr()))
			// (c) app logs in (it may connect, not bridge): the broker
			// dials nothing.
			c.send(connectionInfo(2, "ID:raw-app", "app", passwords["app"]))
			c.responseTo(2)
			l.expectNone(quiet)
		})
		t.Run("bridge-user", func(t *testing.T) {
			t.Parallel()
			l := listen(t)
			c := openRaw(t, addr)
			c.send(duplexInfo(l.addr()))
			// (d) The bridge user: the broker bridges back, dialling the
			// listener and speaking OpenWire to it.
			c.send(connectionInfo(2, "ID:raw-bridge", "bridge", passwords["bridge"]))
			c.responseTo(2)
			nc := l.expectOne(20 * time.Second)
			nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			first, err := wire.NewDecoder(bufio.NewReader(nc), wire.Options{}).Decode()
			if err != nil {
				t.Fatalf("the broker's bridge connection: %v", err)
			}
			if w, ok := first.(*wire.WireFormatInfo); !ok || !w.Valid() {
				t.Fatalf("the broker's bridge connection began with %T", first)
			}
		})
	})
	for _, want := range [][]string{
		{"duplex bridge refused", "user=app"},
		{"msg=\"login refused\"", "user=bridge"},
	} {
		if countLines(p.Log(), want...) == 0 {
			t.Errorf("the broker's log has no line with %q", want)
		}
	}
	if n := countLines(p.Log(), "duplex bridge refused"); n != 1 {
		t.Errorf("%d duplex bridges refused in the log, want 1 (app's)", n)
	}
}

// duplexInfo is a network connector's BrokerInfo asking to be bridged
// back to the failover URL of addr.
func duplexInfo(addr string) *wire.BrokerInfo {
	return &wire.BrokerInfo{
		CommandHeader:     wire.CommandHeader{ID: 1},
		BrokerID:          &wire.BrokerID{Value: "ID:stranger-" + addr},
		BrokerName:        "stranger",
		BrokerURL:         "failover:(tcp://" + addr + ")",
		DuplexConnection:  true,
		NetworkConnection: true,
		NetworkProperties: "name=x",
	}
}

func connectionInfo(id int32, connID, user, password string) *wire.ConnectionInfo {
	return &wire.ConnectionInfo{
		CommandHeader: wire.CommandHeader{ID: id, NeedsResponse: true},
		ConnectionID:  &wire.ConnectionID{Value: connID},
		ClientID:      connID,
		UserName:      user,
		Password:      password,
	}
}

// rawConn is an OpenWire socket driven frame by frame.
type rawConn struct {
	t   *testing.T
	nc  net.Conn
	enc *wire.Encoder
	dec *wire.Decoder
}

// openRaw connects to addr and exchanges WireFormatInfo; the broker's
// must be its first frame.
func openRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawConn{t: t, nc: nc, enc: wire.NewEncoder(nc, wire.Options{}), dec: wire.NewDecoder(bufio.NewReader(nc), wire.Options{})}
	mine := &wire.WireFormatInfo{Version: wire.ProtocolVersion}
	copy(mine.Magic[:], wire.Magic)
	mine.SetBool(wire.PropTightEncodingEnabled, false)
	mine.SetBool(wire.PropCacheEnabled, false)
	mine.SetBool(wire.PropSizePrefixDisabled, false)
	mine.SetBool(wire.PropStackTraceEnabled, false)
	mine.SetBool(wire.PropTCPNoDelayEnabled, true)
	mine.SetInt64(wire.PropMaxInactivityDuration, 0) // no keep-alives either way
	mine.SetInt64(wire.PropMaxInactivityDurationInitalDelay, 0)
	c.send(mine)
	first := c.read(10 * time.Second)
	theirs, ok := first.(*wire.WireFormatInfo)
	if !ok || !theirs.Valid() {
		t.Fatalf("the broker's first frame is %T, not a WireFormatInfo", first)
	}
	n, err := wire.Negotiate(mine, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.dec.SetVersion(int(n.Version)); err != nil {
		t.Fatal(err)
	}
	if err := c.enc.SetVersion(int(n.Version)); err != nil {
		t.Fatal(err)
	}
	// Then its BrokerInfo, which ActiveMQ's network bridges wait for
	// before they log in: on a secured broker its id and name only.
	bi, ok := c.read(10 * time.Second).(*wire.BrokerInfo)
	switch {
	case !ok:
		t.Fatal("the broker's second frame is not its BrokerInfo")
	case bi.BrokerID == nil || bi.BrokerID.Value == "" || bi.BrokerName == "":
		t.Fatalf("the BrokerInfo lacks the broker's id or name: %+v", bi)
	case bi.BrokerURL != "" || len(bi.PeerBrokerInfos) > 0 || bi.NetworkProperties != "":
		t.Fatalf("before a login the BrokerInfo tells a stranger more than id and name: %+v", bi)
	}
	return c
}

func (c *rawConn) send(cmd wire.Command) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.enc.Encode(cmd); err != nil {
		c.t.Fatalf("write %T: %v", cmd, err)
	}
}

// read returns the next frame, failing the test after within.
func (c *rawConn) read(within time.Duration) wire.Command {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(within))
	cmd, err := c.dec.Decode()
	if err != nil {
		c.t.Fatalf("read a frame: %v", err)
	}
	return cmd
}

// expectSilence fails if the broker sends anything but keep-alives
// within d.
func (c *rawConn) expectSilence(d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	for {
		cmd, err := c.dec.Decode()
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return
		case err != nil:
			c.t.Fatalf("before a login: %v", err)
		}
		if _, ok := cmd.(*wire.KeepAliveInfo); !ok {
			c.t.Fatalf("before a login the broker sent %T %+v", cmd, cmd)
		}
	}
}

// responseTo reads until the Response to command id, failing on an
// ExceptionResponse.
func (c *rawConn) responseTo(id int32) {
	c.t.Helper()
	for {
		switch x := c.read(15 * time.Second).(type) {
		case *wire.Response:
			if x.CorrelationID == id {
				return
			}
		case *wire.ExceptionResponse:
			c.t.Fatalf("command %d refused: %+v", x.CorrelationID, x.Exception)
		}
	}
}

// exceptionTo reads until the ExceptionResponse to command id; anything
// else but keep-alives fails the test.
func (c *rawConn) exceptionTo(id int32) *wire.ExceptionResponse {
	c.t.Helper()
	for {
		switch x := c.read(15 * time.Second).(type) {
		case *wire.ExceptionResponse:
			if x.CorrelationID == id {
				return x
			}
		case *wire.KeepAliveInfo:
		default:
			c.t.Fatalf("want an ExceptionResponse to %d, got %T %+v", id, x, x)
		}
	}
}

// expectClosed fails unless the broker closes the socket within 10 s.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	cmd, err := c.dec.Decode()
	var ne net.Error
	switch {
	case err == nil:
		c.t.Fatalf("after the refused login the broker sent %T", cmd)
	case errors.As(err, &ne) && ne.Timeout():
		c.t.Fatalf("the broker did not close the socket after the refused login: %v", err)
	}
	// io.EOF or a reset: closed.
}

// watcher is a listener of the test that records the connections made
// to it.
type watcher struct {
	t     *testing.T
	ln    net.Listener
	conns chan net.Conn
}

func listen(t *testing.T) *watcher {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{t: t, ln: ln, conns: make(chan net.Conn, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case w.conns <- nc:
			default:
				nc.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(w.conns)
		for nc := range w.conns {
			nc.Close()
		}
	})
	return w
}

func (w *watcher) addr() string { return w.ln.Addr().String() }

// expectNone fails if a connection was made, or is made within d.
func (w *watcher) expectNone(d time.Duration) {
	w.t.Helper()
	select {
	case nc := <-w.conns:
		w.t.Fatalf("the broker dialled the test's listener %s (from %s)", w.addr(), nc.RemoteAddr())
	default:
	}
	select {
	case nc := <-w.conns:
		w.t.Fatalf("the broker dialled the test's listener %s (from %s)", w.addr(), nc.RemoteAddr())
	case <-time.After(d):
	}
}

// expectOne returns the first connection made within d.
func (w *watcher) expectOne(d time.Duration) net.Conn {
	w.t.Helper()
	select {
	case nc := <-w.conns:
		return nc
	case <-time.After(d):
		w.t.Fatalf("nothing dialled the test's listener %s within %s", w.addr(), d)
		return nil
	}
}
