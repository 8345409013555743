package wsserve

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/piermq/pier/internal/protocol/stomp"
)

func TestSubprotocolChoice(t *testing.T) {
	mqtt := newEcho("\x20\x02\x00\x00") // a CONNACK
	r := newRig(t, rigOptions{mqtt: mqtt})
	for _, tc := range []struct {
		offered []string
		want    string // negotiated; "mqtt…" ones reach the MQTT handler
	}{
		{nil, ""},
		{[]string{"v12.stomp"}, "v12.stomp"},
		{[]string{"v10.stomp", "v12.stomp"}, "v10.stomp"}, // the client's order
		{[]string{"x-unknown", "v11.stomp", "v12.stomp"}, "v11.stomp"},
		{[]string{"stomp"}, "stomp"},
		{[]string{"mqtt"}, "mqtt"},
		{[]string{"x-unknown", "mqttv3.1", "stomp"}, "mqttv3.1"},
	} {
		t.Run(strings.Join(tc.offered, ",")+"→"+tc.want, func(t *testing.T) {
			c := r.dial(tc.offered...)
			if c.sub != tc.want {
				t.Fatalf("negotiated %q, want %q", c.sub, tc.want)
			}
			if strings.HasPrefix(tc.want, "mqtt") {
				mqtt.next(t)
				ctx, cancel := context.WithTimeout(context.Background(), waitFor)
				defer cancel()
				typ, b, err := c.c.Read(ctx)
				if err != nil || typ != websocket.MessageBinary || string(b) != mqtt.greeting {
					t.Fatalf("MQTT handler's greeting: %v %q %v; want a binary message", typ, b, err)
				}
				return
			}
			c.connect()
		})
	}
}

func TestOnlyUnknownSubprotocolsRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mqtt    bool
		offered []string
		body    []string // in the 400 answer
	}{
		{"unknown", false, []string{"x-foo", "x-bar"},
			[]string{"x-foo, x-bar", "v12.stomp, v11.stomp, v10.stomp, stomp"}},
		{"mqtt without MQTT", false, []string{"mqtt"}, []string{"v12.stomp, v11.stomp, v10.stomp, stomp"}},
		{"unknown with MQTT", true, []string{"x-foo"}, []string{"v12.stomp, v11.stomp, v10.stomp, stomp, mqtt, mqttv3.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := rigOptions{}
			if tc.mqtt {
				o.mqtt = newEcho("")
			}
			r := newRig(t, o)
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, r.url+"/stomp", dialOptions(nil, tc.offered...))
			if err == nil {
				c.CloseNow()
				t.Fatalf("upgrade accepted with %q", c.Subprotocol())
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("answer %v, want 400", resp)
			}
			body, _ := io.ReadAll(resp.Body)
			for _, want := range tc.body {
				if !strings.Contains(string(body), want) {
					t.Errorf("answer %q does not name %q", body, want)
				}
			}
		})
	}
}

// A browser-like client subscribes over one WebSocket, sends over another
// (on /stomp, as ActiveMQ's examples), and receives the message: frames go
// as text messages, a body that is not UTF-8 as a binary one, byte for byte.
func TestSTOMPRoundTrip(t *testing.T) {
	r := newRig(t, rigOptions{})
	sub := r.dial("v12.stomp")
	sub.connect()
	sub.send(frame("SUBSCRIBE", []string{"id:0", "destination:/queue/orders", "receipt:r1"}, ""))
	if got := sub.expect(stomp.CmdReceipt).Get("receipt-id"); got != "r1" {
		t.Fatalf("receipt-id %q", got)
	}
	pub := r.dialWith(dialOptions(nil, "v12.stomp"), "/stomp")
	pub.connect()
	for _, body := range []string{"héllo ✓", "\xff\xfe binary \x00 body"} {
		pub.send(frame("SEND", []string{"destination:/queue/orders", "content-length:" + strconv.Itoa(len(body)), "receipt:s"}, body))
		pub.expect(stomp.CmdReceipt)
		m := sub.expect(stomp.CmdMessage)
		if string(m.Body) != body || m.Get("destination") != "/queue/orders" {
			t.Fatalf("MESSAGE %v %q, want body %q", m.Headers, m.Body, body)
		}
		want := websocket.MessageText
		if body[0] == 0xff {
			want = websocket.MessageBinary
		}
		if got := sub.types[len(sub.types)-1]; got != want {
			t.Errorf("MESSAGE with body %q came as %v, want %v", body, got, want)
		}
	}
}

// Messages of either type are one stream: a frame may be split across
// messages, and one message may hold several frames.
func TestReadsTextAndBinaryAsOneStream(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.dial("v12.stomp")
	c.write(websocket.MessageBinary, "CONNECT\naccept-ver")
	c.write(websocket.MessageText, "sion:1.2\nhost:localhost\n\n")
	c.write(websocket.MessageBinary, "\x00")
	c.expect(stomp.CmdConnected)
	c.write(websocket.MessageText, frame("SUBSCRIBE", []string{"id:0", "destination:/queue/q"}, "")+
		frame("SEND", []string{"destination:/queue/q"}, "one")+frame("SEND", []string{"destination:/queue/q"}, "two"))
	for _, want := range []string{"one", "two"} {
		if m := c.expect(stomp.CmdMessage); string(m.Body) != want {
			t.Fatalf("body %q, want %q", m.Body, want)
		}
	}
}

// A client that waits before its CONNECT (past the STOMP server's one-second
// sniff of the first bytes) is served: a read deadline ends a read, not the
// WebSocket.
func TestSlowConnect(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.dial("v12.stomp")
	time.Sleep(1500 * time.Millisecond)
	c.connect()
}

// The ERROR frame that ends a session reaches the client, then the close
// frame, at once (not after CloseAfterError's drain).
func TestErrorFrameThenClose(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.dial("v12.stomp")
	c.connect()
	c.send(frame("BOGUS", nil, ""))
	f := c.expect(stomp.CmdError)
	if !strings.Contains(f.Get("message"), "BOGUS") {
		t.Errorf("ERROR message %q", f.Get("message"))
	}
	start := time.Now()
	if st := c.closeStatus(); st != websocket.StatusNormalClosure {
		t.Fatalf("close status %v (%v), want 1000", st, c.end)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("close frame came %v after the ERROR frame; want it at once, not after the drain", d)
	}
}

// A session that ends on a read deadline (the client's heart-beats stop)
// still sends its ERROR frame before the close.
func TestHeartBeatTimeoutSendsError(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.dial("v12.stomp")
	c.connect("heart-beat:100,0")
	f := c.expect(stomp.CmdError)
	if !strings.Contains(f.Get("message"), "heart-beat") {
		t.Fatalf("ERROR message %q", f.Get("message"))
	}
	if st := c.closeStatus(); st != websocket.StatusNormalClosure {
		t.Fatalf("close status %v (%v), want 1000", st, c.end)
	}
}

func TestReadLimit(t *testing.T) {
	r := newRig(t, rigOptions{cfg: Config{ReadLimit: 1024}})
	c := r.dial("v12.stomp")
	c.connect()
	fits := frame("SEND", []string{"destination:/queue/q", "receipt:ok"}, "")
	c.send(fits + strings.Repeat("\n", 1024-len(fits))) // exactly the limit
	c.expect(stomp.CmdReceipt)
	c.send(frame("SEND", []string{"destination:/queue/q"}, strings.Repeat("x", 1024)))
	if st := c.closeStatus(); st != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v (%v), want 1009", st, c.end)
	}
}

// Shutdown ends every WebSocket with status 1001, CONNECTed or not, and
// does not wait long for clients that do not answer the close frame.
func TestShutdownEndsConnections(t *testing.T) {
	for _, reading := range []bool{true, false} {
		t.Run(fmt.Sprintf("clients reading %v", reading), func(t *testing.T) {
			r := newRig(t, rigOptions{})
			var cs []*wsClient
			for range 3 {
				c := r.dial("v12.stomp")
				c.connect()
				cs = append(cs, c)
			}
			cs = append(cs, r.dial()) // upgraded, no CONNECT yet
			type result struct {
				st  websocket.StatusCode
				err error
				end error // what ended the WebSocket
			}
			results := make(chan result, len(cs))
			read := func() {
				for _, c := range cs {
					go func() {
						st, err := c.readToClose()
						results <- result{st, err, c.end}
					}()
				}
			}
			if reading {
				read()
			}
			start := time.Now()
			r.shutdown()
			// Answered at once; but the STOMP session of a connection
			// just opened may be in its one-second sniff of the first
			// bytes, whose deadline can overwrite Shutdown's.
			limit := 1500 * time.Millisecond
			if !reading {
				limit += closeGrace
				read()
			}
			if d := time.Since(start); d > limit {
				t.Errorf("Shutdown took %v, want under %v", d, limit)
			}
			for range cs {
				res := <-results
				if res.err != nil {
					t.Error(res.err)
				} else if reading && res.st != websocket.StatusGoingAway {
					t.Errorf("close status %v, want 1001 (%v)", res.st, res.end)
				}
			}
			if c, _, err := websocket.Dial(context.Background(), r.url, nil); err == nil {
				c.CloseNow()
				t.Fatal("upgrade accepted after Shutdown")
			}
		})
	}
}

// The session sees the client's own address (the broker's connection
// list, the audit log and the credentials show it).
func TestRemoteAddr(t *testing.T) {
	r := newRig(t, rigOptions{})
	var local net.Addr
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			local = nc.LocalAddr()
		}
		return nc, err
	}}}
	c := r.dialWith(dialOptions(client, "v12.stomp"), "/")
	c.connect()
	conns := r.b.Connections()
	if len(conns) != 1 || conns[0].Remote != local.String() {
		t.Fatalf("broker's connections %+v, want one from %s", conns, local)
	}
}

// What a client sends right behind its upgrade request, before the
// answer, is read first (it sits in the HTTP server's buffer at the
// upgrade), however long.
func TestDataPipelinedWithTheUpgrade(t *testing.T) {
	r := newRig(t, rigOptions{})
	nc, err := net.Dial("tcp", strings.TrimPrefix(r.url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	body := strings.Repeat("b", 3000)
	req := "GET /stomp HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n"
	data := maskedText(frame("CONNECT", []string{"accept-version:1.2", "host:localhost"}, "")) +
		maskedText(frame("SUBSCRIBE", []string{"id:0", "destination:/queue/p"}, "")+frame("SEND", []string{"destination:/queue/p"}, body))
	if _, err := io.WriteString(nc, req+data); err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(waitFor))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("answer %v %v", resp, err)
	}
	pr, pw := io.Pipe()
	go func() { // the server's messages' payloads as one stream
		for {
			h := make([]byte, 2)
			if _, err := io.ReadFull(br, h); err != nil {
				pw.CloseWithError(err)
				return
			}
			n := int(h[1] & 0x7f)
			if n == 126 {
				ext := make([]byte, 2)
				io.ReadFull(br, ext)
				n = int(binary.BigEndian.Uint16(ext))
			}
			p := make([]byte, n)
			if _, err := io.ReadFull(br, p); err != nil {
				pw.CloseWithError(err)
				return
			}
			pw.Write(p)
		}
	}()
	fr := stomp.NewReader(bufio.NewReader(pr), stomp.Limits{})
	for _, want := range []string{stomp.CmdConnected, stomp.CmdMessage} {
		f, err := nextFrame(fr)
		if err != nil || f.Command != want {
			t.Fatalf("got %v %v, want %s", f, err, want)
		}
		if want == stomp.CmdMessage && string(f.Body) != body {
			t.Fatalf("MESSAGE body of %d bytes, want %d", len(f.Body), len(body))
		}
	}
	nc.Close()
	pr.Close()
}

// maskedText is s as one masked text frame, as a client sends it.
func maskedText(s string) string {
	key := []byte{1, 2, 3, 4}
	h := []byte{0x81}
	if len(s) < 126 {
		h = append(h, 0x80|byte(len(s)))
	} else {
		h = append(h, 0x80|126, byte(len(s)>>8), byte(len(s)))
	}
	p := []byte(s)
	for i := range p {
		p[i] ^= key[i%4]
	}
	return string(h) + string(key) + string(p)
}
