package packet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recorder keeps a copy of every byte read through it.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

// capture runs a mosquitto client (bin, with args) against a one-connection
// server that decodes what it sends and answers with this package's
// encoder, as a broker would: CONNACK (connack), PUBACK, PUBREC, PUBREL,
// PUBCOMP, and to a SUBSCRIBE a SUBACK followed by the deliver packets. It
// returns the packets decoded, the bytes received, the decoder's last
// error and the client's output.
func capture(t *testing.T, connack *Connack, deliver []Packet, bin string, args ...string) (ps []Packet, raw []byte, readErr error, out string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			readErr = err
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		rec := &recorder{r: nc}
		defer func() { raw = rec.buf.Bytes() }()
		r := NewReader(bufio.NewReader(rec), 0, Limits{MaxPacketSize: 1 << 20})
		w := NewWriter(nc)
		for {
			p, err := r.ReadPacket()
			if err != nil {
				readErr = err
				var e *Error
				if errors.As(err, &e) && e.Type == CONNECT {
					// Answer a refused CONNECT as a server would.
					w.WritePacket(&Connack{Reason: e.Reason}, e.Version)
				}
				return
			}
			ps = append(ps, p)
			if _, ok := p.(*Disconnect); ok {
				return
			}
			for _, reply := range replies(p, connack, deliver) {
				if err := w.WritePacket(reply, r.Version()); err != nil {
					readErr = err
					return
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-h", "127.0.0.1", "-p", port}, args...)...)
	b, _ := cmd.CombinedOutput()
	ln.Close()
	<-done
	return ps, raw, readErr, string(b)
}

// replies is what the test server answers to p.
func replies(p Packet, connack *Connack, deliver []Packet) []Packet {
	switch p := p.(type) {
	case *Connect:
		return []Packet{connack}
	case *Publish:
		switch p.QoS {
		case 1:
			return []Packet{&Puback{Ack{PacketID: p.PacketID}}}
		case 2:
			return []Packet{&Pubrec{Ack{PacketID: p.PacketID}}}
		}
	case *Pubrec:
		return []Packet{&Pubrel{Ack{PacketID: p.PacketID}}}
	case *Pubrel:
		return []Packet{&Pubcomp{Ack{PacketID: p.PacketID}}}
	case *Subscribe:
		ack := &Suback{PacketID: p.PacketID}
		for _, s := range p.Subscriptions {
			ack.Reasons = append(ack.Reasons, ReasonCode(s.QoS))
		}
		return append([]Packet{ack}, deliver...)
	}
	return nil
}

func needMosquitto(t *testing.T, bin string) {
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s is not installed (Debian package mosquitto-clients; scripts/test.sh installs it)", bin)
	}
}

// mosquitto_pub's CONNECT, PUBLISH and DISCONNECT, in both versions,
// decode to what its command line asked for.
func TestMosquittoPub(t *testing.T) {
	needMosquitto(t, "mosquitto_pub")
	common := []string{"-q", "1", "-r", "-t", "pier/interop", "-m", "hello, pier", "-i", "pier-interop",
		"-k", "30", "-u", "alice", "-P", "s3cret",
		"--will-topic", "pier/will", "--will-payload", "gone", "--will-qos", "2", "--will-retain"}
	for _, c := range []struct {
		name    string
		version byte
		args    []string
	}{
		{"3.1.1", Version311, []string{"-V", "mqttv311"}},
		{"5", Version5, []string{"-V", "mqttv5", "-x", "3600",
			"-D", "PUBLISH", "user-property", "a", "b", "-D", "PUBLISH", "user-property", "a", "c",
			"-D", "PUBLISH", "message-expiry-interval", "60", "-D", "PUBLISH", "content-type", "text/plain",
			"-D", "CONNECT", "user-property", "client", "mosquitto"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps, raw, err, out := capture(t, &Connack{}, nil, "mosquitto_pub", append(c.args, common...)...)
			t.Logf("mosquitto_pub -V %s sent:\n% x", c.name, raw)
			if err != nil {
				t.Fatalf("decoding: %v (client said %q)", err, out)
			}
			if len(ps) != 3 {
				t.Fatalf("got %d packets %v, want CONNECT, PUBLISH, DISCONNECT (client said %q)", len(ps), ps, out)
			}
			conn, ok := ps[0].(*Connect)
			if !ok || conn.Version != c.version || conn.ClientID != "pier-interop" || conn.KeepAlive != 30 ||
				!conn.CleanStart || conn.Username != "alice" || string(conn.Password) != "s3cret" ||
				conn.Will == nil || conn.Will.Topic != "pier/will" || string(conn.Will.Payload) != "gone" ||
				conn.Will.QoS != 2 || !conn.Will.Retain {
				t.Errorf("CONNECT %#v", ps[0])
			}
			pub, ok := ps[1].(*Publish)
			if !ok || pub.QoS != 1 || !pub.Retain || pub.Dup || pub.Topic != "pier/interop" || pub.PacketID == 0 ||
				string(pub.Payload) != "hello, pier" {
				t.Errorf("PUBLISH %#v", ps[1])
			}
			if d, ok := ps[2].(*Disconnect); !ok || d.Reason != Success {
				t.Errorf("DISCONNECT %#v", ps[2])
			}
			if c.version != Version5 {
				return
			}
			if p := conn.Properties; p.SessionExpiry == nil || *p.SessionExpiry != 3600 ||
				fmt.Sprint(p.User) != "[{client mosquitto}]" {
				t.Errorf("CONNECT properties %+v", p)
			}
			if p := pub.Properties; fmt.Sprint(p.User) != "[{a b} {a c}]" || p.MessageExpiry == nil ||
				*p.MessageExpiry != 60 || p.ContentType != "text/plain" {
				t.Errorf("PUBLISH properties %+v", p)
			}
			// What mosquitto sent encodes back to as many bytes, which decode
			// to the same packets (properties are written in identifier
			// order, mosquitto's order differs: the order has no meaning).
			var again []byte
			for _, p := range ps {
				again, err = Append(again, p, c.version)
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(again) != len(raw) {
				t.Errorf("re-encoded\n% x\nreceived\n% x", again, raw)
			}
			r := NewReader(bufio.NewReader(bytes.NewReader(again)), 0, Limits{})
			for i, want := range ps {
				if got, err := r.ReadPacket(); err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("packet %d re-encoded: %#v, %v", i, got, err)
				}
			}
		})
	}
}

// QoS 2 through PUBREC, PUBREL and PUBCOMP; and MQTT 3.1 refused the way
// a 3.1 client understands (CONNACK return code 1).
func TestMosquittoPubQoS2AndRefusal(t *testing.T) {
	needMosquitto(t, "mosquitto_pub")
	ps, raw, err, out := capture(t, &Connack{}, nil, "mosquitto_pub", "-V", "mqttv5", "-q", "2", "-t", "q2", "-m", "x")
	if err != nil || len(ps) != 4 {
		t.Fatalf("QoS 2: %v, %v (client said %q)\n% x", ps, err, out, raw)
	}
	if rel, ok := ps[2].(*Pubrel); !ok || rel.PacketID != ps[1].(*Publish).PacketID {
		t.Errorf("third packet %#v, want the PUBREL", ps[2])
	}
	_, raw, err, out = capture(t, &Connack{}, nil, "mosquitto_pub", "-V", "mqttv31", "-t", "old", "-m", "x")
	t.Logf("mosquitto_pub -V mqttv31 sent:\n% x\nand said %q", raw, out)
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("MQTT 3.1: %v, want Unsupported Protocol Version", err)
	}
	// A server refusing the client's credentials: mosquitto_pub reports it.
	_, _, _, out = capture(t, &Connack{Reason: BadUsernameOrPassword}, nil, "mosquitto_pub", "-V", "mqttv5", "-t", "t", "-m", "x")
	t.Logf("refused with %s, mosquitto_pub said %q", BadUsernameOrPassword, out)
	if !strings.Contains(strings.ToLower(out), "user name or password") {
		t.Errorf("mosquitto_pub said %q, want a bad user name or password", out)
	}
}

// mosquitto_sub's SUBSCRIBE decodes, and it prints the PUBLISH packets
// this package encodes: QoS 0, 1 and 2, retained, with MQTT 5 properties.
func TestMosquittoSub(t *testing.T) {
	needMosquitto(t, "mosquitto_sub")
	deliver := func(v byte) []Packet {
		var props Properties
		if v == Version5 {
			props = Properties{ContentType: "text/plain", User: []UserProperty{{"a", "b"}, {"a", "c"}},
				SubscriptionIDs: []uint32{7}}
		}
		return []Packet{
			&Publish{Topic: "pier/0", Payload: []byte("zero")},
			&Publish{QoS: 1, Retain: true, Topic: "pier/1", PacketID: 1, Properties: props, Payload: []byte("one")},
			&Publish{QoS: 2, Topic: "x", PacketID: 2, Payload: []byte("two")},
		}
	}
	for _, c := range []struct {
		version byte
		args    []string
		want    string
	}{
		{Version311, []string{"-V", "mqttv311", "-F", "%t|%q|%r|%p"}, "pier/0|0|0|zero\npier/1|1|1|one\nx|2|0|two\n"},
		{Version5, []string{"-V", "mqttv5", "-F", "%t|%q|%r|%C|%P|%p", "-D", "SUBSCRIBE", "subscription-identifier", "7"},
			"pier/0|0|0|||zero\npier/1|1|1|text/plain|a:b a:c|one\nx|2|0|||two\n"},
	} {
		t.Run(fmt.Sprint(c.version), func(t *testing.T) {
			args := append(c.args, "-q", "2", "-t", "pier/#", "-t", "$share/g/x", "-C", "3", "-W", "10")
			ps, raw, err, out := capture(t, &Connack{}, deliver(c.version), "mosquitto_sub", args...)
			t.Logf("mosquitto_sub -V %d sent:\n% x", c.version, raw)
			if err != nil {
				t.Fatalf("decoding: %v (client said %q)", err, out)
			}
			if out != c.want {
				t.Errorf("mosquitto_sub printed\n%s\nwant\n%s", out, c.want)
			}
			var sub *Subscribe
			for _, p := range ps {
				if s, ok := p.(*Subscribe); ok {
					sub = s
				}
			}
			if sub == nil || len(sub.Subscriptions) != 2 || sub.Subscriptions[0].Filter != "pier/#" ||
				sub.Subscriptions[1].Filter != "$share/g/x" || sub.Subscriptions[0].QoS != 2 {
				t.Fatalf("SUBSCRIBE %#v", sub)
			}
			if c.version == Version5 && fmt.Sprint(sub.Properties.SubscriptionIDs) != "[7]" {
				t.Errorf("SUBSCRIBE properties %+v", sub.Properties)
			}
		})
	}
}
