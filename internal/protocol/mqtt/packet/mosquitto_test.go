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

// capture runs mosquitto_pub with args against a one-connection server
// that decodes what it sends and answers CONNACK (with connack), PUBACK
// and PUBREC/PUBCOMP with this package's encoder. It returns the packets
// decoded, the bytes received, the decoder's last error and the client's
// output.
func capture(t *testing.T, connack *Connack, args ...string) (ps []Packet, raw []byte, readErr error, out string) {
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
			var reply Packet
			switch p := p.(type) {
			case *Connect:
				reply = connack
			case *Publish:
				switch p.QoS {
				case 1:
					reply = &Puback{Ack{PacketID: p.PacketID}}
				case 2:
					reply = &Pubrec{Ack{PacketID: p.PacketID}}
				}
			case *Pubrel:
				reply = &Pubcomp{Ack{PacketID: p.PacketID}}
			case *Disconnect:
				return
			}
			if reply != nil {
				if err := w.WritePacket(reply, r.Version()); err != nil {
					readErr = err
					return
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mosquitto_pub", append([]string{"-h", "127.0.0.1", "-p", port}, args...)...)
	b, _ := cmd.CombinedOutput()
	ln.Close()
	<-done
	return ps, raw, readErr, string(b)
}

func needMosquitto(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		t.Skip("mosquitto_pub is not installed (Debian package mosquitto-clients; scripts/test.sh installs it)")
	}
}

// mosquitto_pub's CONNECT, PUBLISH and DISCONNECT, in both versions,
// decode to what its command line asked for.
func TestMosquittoPub(t *testing.T) {
	needMosquitto(t)
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
			ps, raw, err, out := capture(t, &Connack{}, append(c.args, common...)...)
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
	needMosquitto(t)
	ps, raw, err, out := capture(t, &Connack{}, "-V", "mqttv5", "-q", "2", "-t", "q2", "-m", "x")
	if err != nil || len(ps) != 4 {
		t.Fatalf("QoS 2: %v, %v (client said %q)\n% x", ps, err, out, raw)
	}
	if rel, ok := ps[2].(*Pubrel); !ok || rel.PacketID != ps[1].(*Publish).PacketID {
		t.Errorf("third packet %#v, want the PUBREL", ps[2])
	}
	_, raw, err, out = capture(t, &Connack{}, "-V", "mqttv31", "-t", "old", "-m", "x")
	t.Logf("mosquitto_pub -V mqttv31 sent:\n% x\nand said %q", raw, out)
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("MQTT 3.1: %v, want Unsupported Protocol Version", err)
	}
	// A server refusing the client's credentials: mosquitto_pub reports it.
	_, _, _, out = capture(t, &Connack{Reason: BadUsernameOrPassword}, "-V", "mqttv5", "-t", "t", "-m", "x")
	t.Logf("refused with %s, mosquitto_pub said %q", BadUsernameOrPassword, out)
	if !strings.Contains(strings.ToLower(out), "user name or password") {
		t.Errorf("mosquitto_pub said %q, want a bad user name or password", out)
	}
}
