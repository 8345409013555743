package stomp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/broker"
)

func TestConnectNegotiatesVersionAndHeartBeat(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.dial()
	c.send(NewFrame(CmdStomp, "accept-version", "1.0,1.1,1.2", "host", "x", "heart-beat", "0,5000", "receipt", "c1"))
	f := c.expect(CmdConnected, "version", "1.2", "heart-beat", "5000,0", "receipt-id", "c1")
	if f.Get("session") == "" || !strings.HasPrefix(f.Get("server"), "Pier/") {
		t.Fatalf("CONNECTED headers %v", f.Headers)
	}
	c10 := r.dial()
	c10.send(NewFrame(CmdConnect))
	if f := c10.expect(CmdConnected); f.Get("version") != "" {
		t.Fatalf("1.0 CONNECTED carries version %q", f.Get("version"))
	}
}

func TestConnectRejections(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	for _, tc := range []struct {
		name  string
		frame *Frame
		want  string
	}{
		{"no common version", NewFrame(CmdConnect, "accept-version", "2.0"), "supported protocol versions"},
		{"not CONNECT first", NewFrame(CmdSend, "destination", "/queue/a"), "expected CONNECT"},
		{"bad heart-beat", NewFrame(CmdConnect, "accept-version", "1.2", "heart-beat", "x"), "heart-beat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := r.dial()
			c.t = t
			c.send(tc.frame)
			f := c.expect(CmdError)
			if !strings.Contains(f.Get("message"), tc.want) {
				t.Fatalf("message %q, want it to mention %q", f.Get("message"), tc.want)
			}
			c.closed()
		})
	}
	a := r.connect("1.2", "client-id", "app")
	_ = a
	dup := r.dial()
	dup.send(NewFrame(CmdConnect, "accept-version", "1.2", "client-id", "app"))
	dup.expect(CmdError)
	dup.closed()
}

func TestSendSubscribeAckEachVersion(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		t.Run(v, func(t *testing.T) {
			q := "/queue/v" + strings.ReplaceAll(v, ".", "")
			c := r.connect(v)
			c.t = t
			c.send(NewFrame(CmdSubscribe, "destination", q, "id", "s1", "ack", "client", "receipt", "r1"))
			c.expect(CmdReceipt, "receipt-id", "r1")
			c.send(NewFrame(CmdSend, "destination", q, "persistent", "true", "receipt", "r2", "color", "blue"))
			m := c.receiptAndMessage("r2")
			for k, want := range map[string]string{"destination": q, "subscription": "s1", "persistent": "true", "color": "blue"} {
				if got := m.Get(k); got != want {
					t.Fatalf("MESSAGE %s = %q, want %q", k, got, want)
				}
			}
			ack := NewFrame(CmdAck, "receipt", "r3")
			switch v {
			case "1.2":
				ack.Add("id", m.Get("ack"))
			case "1.1":
				ack.Add("message-id", m.Get("message-id"))
				ack.Add("subscription", "s1")
			default:
				ack.Add("message-id", m.Get("message-id"))
			}
			c.send(ack)
			c.expect(CmdReceipt, "receipt-id", "r3")
			if n := r.st.Count("queue://" + strings.TrimPrefix(q, "/queue/")); n != 0 {
				t.Fatalf("store holds %d after ack", n)
			}
			c.send(ack) // the same ack again
			if f := c.expect(CmdError); !strings.Contains(f.Get("message"), "unexpected ACK") {
				t.Fatalf("second ack: %v", f.Headers)
			}
		})
	}
}

func TestBinaryBodyAndMessageTypes(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.connect("1.2")
	c.send(NewFrame(CmdSubscribe, "destination", "/queue/bin", "id", "s"))
	body := []byte{0, 1, 2, 0xff, 0, 'x'}
	f := NewFrame(CmdSend, "destination", "/queue/bin", HdrContentLength, "6")
	f.Body = body
	c.send(f)
	m := c.expect(CmdMessage, HdrContentLength, "6")
	if !bytes.Equal(m.Body, body) {
		t.Fatalf("body %v want %v", m.Body, body)
	}
	// Without content-length it is a text message, delivered without one.
	c.send(&Frame{Command: CmdSend, Headers: []Header{{"destination", "/queue/bin"}}, Body: []byte("héllo")})
	m = c.expect(CmdMessage)
	if string(m.Body) != "héllo" {
		t.Fatalf("text body %q", m.Body)
	}
	if _, ok := m.Lookup(HdrContentLength); ok {
		t.Fatalf("text message carries content-length: %v", m.Headers)
	}
}

func TestHeaderEscapingRoundTrips(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.connect("1.2")
	c.send(NewFrame(CmdSubscribe, "destination", "/topic/esc", "id", "s"))
	c.send(NewFrame(CmdSend, "destination", "/topic/esc", "odd", "a:b\nc\\d\re"))
	c.expect(CmdMessage, "odd", "a:b\nc\\d\re")
	c.raw("SEND\ndestination:/topic/esc\nbad:\\t\n\n\x00")
	if f := c.expect(CmdError); !strings.Contains(f.Get("message"), "escape") {
		t.Fatalf("invalid escape: %v", f.Headers)
	}
	c.closed()
}

func TestMalformedInputClosesOnlyThatConnection(t *testing.T) {
	r := newRig(t, Config{Limits: Limits{MaxFrameSize: 1024}}, broker.Config{})
	good := r.connect("1.2")
	good.send(NewFrame(CmdSubscribe, "destination", "/queue/ok", "id", "s"))
	for _, tc := range []struct{ name, input string }{
		{"garbage command", "HELLO WORLD\n\n\x00"},
		{"unknown command", "FROB\n\n\x00"},
		{"frame too large", "SEND\ndestination:/queue/ok\ncontent-length:5000\n\n" + strings.Repeat("x", 5000) + "\x00"},
		{"bad content-length", "SEND\ndestination:/queue/ok\ncontent-length:abc\n\nx\x00"},
		{"missing NUL after content", "SEND\ndestination:/queue/ok\ncontent-length:1\n\nxy\x00"},
		{"send without destination", "SEND\n\nx\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := r.connect("1.2")
			c.t = t
			c.raw(tc.input)
			c.expect(CmdError)
			c.closed()
		})
	}
	good.send(NewFrame(CmdSend, "destination", "/queue/ok", "receipt", "still"))
	if m := good.receiptAndMessage("still"); m.Get("destination") != "/queue/ok" {
		t.Fatalf("MESSAGE %v", m.Headers)
	}
}

func TestTransactionsOverStomp(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.connect("1.2")
	c.send(NewFrame(CmdBegin, "transaction", "t1"))
	c.send(NewFrame(CmdSend, "destination", "/queue/tx", "transaction", "t1", "persistent", "true"))
	c.send(NewFrame(CmdSubscribe, "destination", "/queue/tx", "id", "s", "ack", "client-individual", "receipt", "sub"))
	c.expect(CmdReceipt, "receipt-id", "sub")
	c.quiet() // not visible before COMMIT
	c.send(NewFrame(CmdCommit, "transaction", "t1", "receipt", "c"))
	m := c.receiptAndMessage("c")
	c.send(NewFrame(CmdBegin, "transaction", "t2"))
	c.send(NewFrame(CmdAck, "id", m.Get("ack"), "transaction", "t2"))
	c.send(NewFrame(CmdAbort, "transaction", "t2", "receipt", "a"))
	c.expect(CmdReceipt, "receipt-id", "a")
	if n := r.st.Count("queue://tx"); n != 1 {
		t.Fatalf("after ABORT the store holds %d, want 1", n)
	}
	// As in ActiveMQ, the aborted ACK can be given again.
	c.send(NewFrame(CmdAck, "id", m.Get("ack"), "receipt", "again"))
	c.expect(CmdReceipt, "receipt-id", "again")
	if n := r.st.Count("queue://tx"); n != 0 {
		t.Fatalf("after the second ACK the store holds %d", n)
	}
	c.send(NewFrame(CmdCommit, "transaction", "nope", "receipt", "x"))
	c.expect(CmdError, "receipt-id", "x")
	c.send(NewFrame(CmdSend, "destination", "/queue/elsewhere", "receipt", "alive"))
	c.expect(CmdReceipt, "receipt-id", "alive") // a non-fatal ERROR leaves the connection open
}

func TestNackGoesToDeadLetterQueue(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.connect("1.2")
	c.send(NewFrame(CmdSubscribe, "destination", "/queue/n", "id", "s", "ack", "client-individual"))
	c.send(NewFrame(CmdSend, "destination", "/queue/n", "persistent", "true"))
	m := c.expect(CmdMessage)
	c.send(NewFrame(CmdNack, "id", m.Get("ack")))
	c.send(NewFrame(CmdSubscribe, "destination", "/queue/ActiveMQ.DLQ", "id", "d"))
	c.expect(CmdMessage, "destination", "/queue/ActiveMQ.DLQ", "original-destination", "/queue/n",
		"message-id", m.Get("message-id"))
}

func TestDurableSubscriptionOverStomp(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.connect("1.2", "client-id", "app")
	c.send(NewFrame(CmdSubscribe, "destination", "/topic/news", "id", "d", "activemq.subscriptionName", "n1", "receipt", "s"))
	c.expect(CmdReceipt)
	c.send(NewFrame(CmdDisconnect, "receipt", "bye"))
	c.expect(CmdReceipt, "receipt-id", "bye")
	c.closed()
	p := r.connect("1.2")
	p.send(NewFrame(CmdSend, "destination", "/topic/news", "persistent", "true", "receipt", "p"))
	p.expect(CmdReceipt)
	c = r.connect("1.2", "client-id", "app")
	c.send(NewFrame(CmdSubscribe, "destination", "/topic/news", "id", "d", "activemq.subscriptionName", "n1"))
	c.expect(CmdMessage, "destination", "/topic/news")
	c.send(NewFrame(CmdUnsubscribe, "id", "d", "activemq.subscriptionName", "n1", "receipt", "u"))
	c.expect(CmdReceipt, "receipt-id", "u")
	if _, ok := r.b.DurableStats("app", "n1"); ok {
		t.Fatal("durable subscription survived UNSUBSCRIBE with activemq.subscriptionName")
	}
}

func TestTempQueueRequestReply(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	req := r.connect("1.2")
	svc := r.connect("1.2")
	svc.send(NewFrame(CmdSubscribe, "destination", "/queue/svc", "id", "s", "receipt", "s"))
	svc.expect(CmdReceipt)
	req.send(NewFrame(CmdSubscribe, "destination", "/temp-queue/replies", "id", "r", "receipt", "r"))
	req.expect(CmdReceipt)
	req.send(NewFrame(CmdSend, "destination", "/queue/svc", "reply-to", "/temp-queue/replies", "correlation-id", "42"))
	m := svc.expect(CmdMessage, "correlation-id", "42")
	replyTo := m.Get("reply-to")
	if !strings.HasPrefix(replyTo, "/remote-temp-queue/") {
		t.Fatalf("service sees reply-to %q", replyTo)
	}
	svc.send(NewFrame(CmdSend, "destination", replyTo, "correlation-id", "42"))
	req.expect(CmdMessage, "destination", "/temp-queue/replies", "correlation-id", "42")
}

func TestSilentClientIsDroppedAfterHeartBeatInterval(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.dial()
	c.send(NewFrame(CmdConnect, "accept-version", "1.2", "heart-beat", "100,0"))
	c.expect(CmdConnected, "heart-beat", "0,100")
	// Say nothing: the server gives up after the interval times its grace.
	if f := c.expect(CmdError); !strings.Contains(f.Get("message"), "heart-beat") {
		t.Fatalf("ERROR %v", f.Headers)
	}
	c.closed()
}

func TestServerSendsHeartBeats(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	c := r.dial()
	c.send(NewFrame(CmdConnect, "accept-version", "1.2", "heart-beat", "0,100"))
	c.expect(CmdConnected, "heart-beat", "100,0")
	c.nc.SetReadDeadline(deadline(5))
	f, err := c.r.ReadFrame()
	if err != nil || f != nil {
		t.Fatalf("want a heart-beat, got %v %v", f, err)
	}
}
