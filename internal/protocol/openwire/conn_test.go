package openwire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/netserve"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
	"github.com/piermq/pier/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type rig struct {
	t    testing.TB
	addr string
	st   *storetest.Memory
	srv  *Server
}

func newRig(t testing.TB) *rig {
	t.Helper()
	return newRigWith(t, Config{})
}

// newRigWith serves cfg on a loopback port until the test ends.
func newRigWith(t testing.TB, cfg Config) *rig {
	t.Helper()
	st := storetest.NewMemory(0)
	b, err := broker.New(broker.Config{MaxRedeliveries: broker.DefaultMaxRedeliveries}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg, b, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, netserve.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		b.Close()
	})
	return &rig{t: t, addr: ln.Addr().String(), st: st, srv: srv}
}

// client speaks raw OpenWire, as the Java client would.
type client struct {
	t   testing.TB
	nc  net.Conn
	dec *wire.Decoder
	enc *wire.Encoder
	id  int32
	bi  *wire.BrokerInfo // what the broker announced after negotiation
}

func (r *rig) dial() *client {
	r.t.Helper()
	return r.dialVersion(wire.ProtocolVersion)
}

// dialVersion negotiates OpenWire version v and switches the client's codec
// to it, as the Java client does.
func (r *rig) dialVersion(v int) *client {
	r.t.Helper()
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { nc.Close() })
	c := &client{t: r.t, nc: nc, dec: wire.NewDecoder(bufio.NewReader(nc), wire.Options{}), enc: wire.NewEncoder(nc, wire.Options{})}
	info := wire.NewBrokerWireFormat(wire.BrokerWireFormatConfig{MaxInactivityDuration: 30 * time.Second})
	info.Version = int32(v)
	c.write(info)
	if _, ok := c.read().(*wire.WireFormatInfo); !ok {
		r.t.Fatal("broker did not start with WireFormatInfo")
	}
	if err := c.dec.SetVersion(v); err != nil {
		r.t.Fatal(err)
	}
	if err := c.enc.SetVersion(v); err != nil {
		r.t.Fatal(err)
	}
	bi, ok := c.read().(*wire.BrokerInfo)
	if !ok {
		r.t.Fatal("no BrokerInfo after negotiation")
	}
	c.bi = bi
	return c
}

func (c *client) write(cmd wire.Command) {
	c.t.Helper()
	if err := c.enc.Encode(cmd); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) read() wire.Command {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		cmd, err := c.dec.Decode()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if _, ka := cmd.(*wire.KeepAliveInfo); !ka {
			return cmd
		}
	}
}

// request sends cmd with responseRequired and returns the answer.
func (c *client) request(cmd wire.BaseCommand) wire.Command {
	c.t.Helper()
	c.id++
	cmd.SetCommandID(c.id)
	cmd.SetResponseRequired(true)
	c.write(cmd)
	for {
		ans := c.read()
		switch a := ans.(type) {
		case *wire.Response:
			if a.CorrelationID == c.id {
				return a
			}
		case *wire.ExceptionResponse:
			if a.CorrelationID == c.id {
				return a
			}
		}
	}
}

func (c *client) ok(cmd wire.BaseCommand) {
	c.t.Helper()
	if ex, bad := c.request(cmd).(*wire.ExceptionResponse); bad {
		c.t.Fatalf("%T: %s: %s", cmd, ex.Exception.Class, ex.Exception.Message)
	}
}

func TestSendReceiveAck(t *testing.T) {
	r := newRig(t)
	c := r.dial()
	conn := &wire.ConnectionID{Value: "ID:test-1"}
	c.ok(&wire.ConnectionInfo{ConnectionID: conn, ClientID: "app"})
	prod := &wire.ProducerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
	q := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "orders"}
	m := &wire.Message{Type: wire.TypeTextMessage, ProducerID: prod, Destination: q, Persistent: true, Priority: 4,
		MessageID: &wire.MessageID{ProducerID: prod, ProducerSequenceID: 1}, Content: wire.EncodeText("hello")}
	c.ok(m)
	if n := r.st.Count("queue://orders"); n != 1 {
		t.Fatalf("store holds %d after a synchronous send", n)
	}
	// The same message again (a resend after failover) is stored once.
	c.ok(m)
	if n := r.st.Count("queue://orders"); n != 1 {
		t.Fatalf("store holds %d after a resend", n)
	}
	cons := &wire.ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
	c.ok(&wire.ConsumerInfo{ConsumerID: cons, Destination: q, PrefetchSize: 10})
	md, ok := c.read().(*wire.MessageDispatch)
	if !ok || md.Message == nil {
		t.Fatalf("want a MessageDispatch, got %#v", md)
	}
	text, _, err := wire.DecodeText(md.Message.Content)
	if err != nil || text != "hello" || messageKey(md.Message.MessageID) != messageKey(m.MessageID) {
		t.Fatalf("dispatched %q %v (id %v)", text, err, md.Message.MessageID)
	}
	c.ok(&wire.MessageAck{ConsumerID: cons, Destination: q, AckType: wire.AckStandard,
		FirstMessageID: md.Message.MessageID, LastMessageID: md.Message.MessageID, MessageCount: 1})
	if n := r.st.Count("queue://orders"); n != 0 {
		t.Fatalf("store holds %d after the ack", n)
	}
}

func TestDuplicateClientIDIsRefused(t *testing.T) {
	r := newRig(t)
	a := r.dial()
	a.ok(&wire.ConnectionInfo{ConnectionID: &wire.ConnectionID{Value: "ID:a"}, ClientID: "same"})
	b := r.dial()
	ex, ok := b.request(&wire.ConnectionInfo{ConnectionID: &wire.ConnectionID{Value: "ID:b"}, ClientID: "same"}).(*wire.ExceptionResponse)
	if !ok || ex.Exception.Class != "javax.jms.InvalidClientIDException" {
		t.Fatalf("want InvalidClientIDException, got %#v", ex)
	}
	// The same connection id again (a failover replay) replaces the stale one.
	a2 := r.dial()
	a2.ok(&wire.ConnectionInfo{ConnectionID: &wire.ConnectionID{Value: "ID:a"}, ClientID: "same"})
}

func TestPullConsumerGetsEmptyDispatchOnTimeout(t *testing.T) {
	r := newRig(t)
	c := r.dial()
	conn := &wire.ConnectionID{Value: "ID:pull"}
	c.ok(&wire.ConnectionInfo{ConnectionID: conn})
	q := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "p"}
	cons := &wire.ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
	c.ok(&wire.ConsumerInfo{ConsumerID: cons, Destination: q, PrefetchSize: 0})
	c.write(&wire.MessagePull{ConsumerID: cons, Destination: q, Timeout: -1})
	if md, ok := c.read().(*wire.MessageDispatch); !ok || md.Message != nil {
		t.Fatalf("receiveNoWait on an empty queue: %#v", md)
	}
}

func TestGarbageGetsAnErrorAndClose(t *testing.T) {
	r := newRig(t)
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte{0, 0, 0, 5, 0xEE, 1, 2, 3, 4}) // unknown command type
	dec := wire.NewDecoder(bufio.NewReader(nc), wire.Options{})
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var sawError bool
	for {
		cmd, err := dec.Decode()
		if err != nil {
			break
		}
		if _, ok := cmd.(*wire.ConnectionError); ok {
			sawError = true
		}
	}
	if !sawError {
		t.Fatal("no ConnectionError before the close")
	}
}

// TestOlderVersionSendReceiveAck negotiates an older OpenWire version (10, as
// the brief requires, and 9 and 1, whose messages differ from v12) and does a
// send/receive/ack round trip; the client decodes everything at that version,
// so a frame the broker wrote in another version's field list fails.
func TestOlderVersionSendReceiveAck(t *testing.T) {
	for _, v := range []int{10, 9, 1} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			r := newRig(t)
			c := r.dialVersion(v)
			conn := &wire.ConnectionID{Value: fmt.Sprintf("ID:old-%d", v)}
			c.ok(&wire.ConnectionInfo{ConnectionID: conn, ClientID: "old"})
			prod := &wire.ProducerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
			q := &wire.Destination{Type: wire.TypeQueue, PhysicalName: "old.q"}
			c.ok(&wire.ProducerInfo{ProducerID: prod, Destination: q})
			m := &wire.Message{Type: wire.TypeTextMessage, ProducerID: prod, Destination: q, Persistent: true,
				Priority: 4, MessageID: &wire.MessageID{ProducerID: prod, ProducerSequenceID: 1},
				Content: wire.EncodeText("from v" + fmt.Sprint(v)), JMSXGroupFirstForConsumer: true}
			c.ok(m)
			cons := &wire.ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
			c.ok(&wire.ConsumerInfo{ConsumerID: cons, Destination: q, PrefetchSize: 10, ClientID: "old"})
			md, ok := c.read().(*wire.MessageDispatch)
			if !ok || md.Message == nil {
				t.Fatalf("want a MessageDispatch, got %#v", md)
			}
			text, _, err := wire.DecodeText(md.Message.Content)
			if err != nil || text != "from v"+fmt.Sprint(v) || messageKey(md.Message.MessageID) != messageKey(m.MessageID) {
				t.Fatalf("dispatched %q %v (id %v)", text, err, md.Message.MessageID)
			}
			// Re-encoding at v gives what the broker sent only if it used v.
			frame, err := wire.AppendFrame(nil, md, wire.Options{Version: v})
			if err != nil {
				t.Fatal(err)
			}
			if again, err := wire.Unmarshal(frame, wire.Options{Version: v}); err != nil || !reflect.DeepEqual(again, md) {
				t.Fatalf("dispatch does not round-trip at v%d: %v", v, err)
			}
			c.ok(&wire.MessageAck{ConsumerID: cons, Destination: q, AckType: wire.AckStandard,
				FirstMessageID: md.Message.MessageID, LastMessageID: md.Message.MessageID, MessageCount: 1})
			if n := r.st.Count("queue://old.q"); n != 0 {
				t.Fatalf("store holds %d after the ack", n)
			}
		})
	}
}

func TestUnsupportedVersionIsRefused(t *testing.T) {
	r := newRig(t)
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	info := wire.NewBrokerWireFormat(wire.BrokerWireFormatConfig{})
	info.Version = 5
	if err := wire.NewEncoder(nc, wire.Options{}).Encode(info); err != nil {
		t.Fatal(err)
	}
	dec := wire.NewDecoder(bufio.NewReader(nc), wire.Options{})
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		cmd, err := dec.Decode()
		if err != nil {
			t.Fatalf("no ConnectionError before the close: %v", err)
		}
		if ce, ok := cmd.(*wire.ConnectionError); ok {
			if !strings.Contains(ce.Exception.Message, "OpenWire version 5 is not supported") {
				t.Fatalf("error %q", ce.Exception.Message)
			}
			return
		}
	}
}

func TestBrowserWithAnInvalidSelectorIsRefused(t *testing.T) {
	r := newRig(t)
	c := r.dial()
	conn := &wire.ConnectionID{Value: "ID:browse"}
	c.ok(&wire.ConnectionInfo{ConnectionID: conn})
	cons := &wire.ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 1}
	ans := c.request(&wire.ConsumerInfo{ConsumerID: cons, Browser: true, Selector: "color = ",
		Destination: &wire.Destination{Type: wire.TypeQueue, PhysicalName: "q"}})
	if ex, ok := ans.(*wire.ExceptionResponse); !ok || ex.Exception.Class != "javax.jms.InvalidSelectorException" {
		t.Fatalf("want InvalidSelectorException, got %#v", ans)
	}
}
