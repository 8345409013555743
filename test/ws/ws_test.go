//go:build crossprocess

// Package ws tests the WebSocket transport across processes: pier serve
// with transports.ws, a headless chromium whose page speaks STOMP over a
// browser WebSocket, and Go clients over STOMP and WebSocket.
package ws

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/piermq/pier/client/clienttest"
	"github.com/piermq/pier/internal/stompclient"
	"github.com/piermq/pier/test/internal/piertest"
)

// waitFor bounds every wait of a test.
const waitFor = 15 * time.Second

// broker is a pier serve with STOMP over TCP and over a WebSocket.
type broker struct {
	*piertest.Pier
	stomp string // host:port
	ws    string // ws://host:port or wss://host:port
}

// startBroker starts pier with STOMP on a free port and transports.ws on
// another, as scheme (ws or wss), and extra top-level YAML (tls:,
// security:).
func startBroker(t *testing.T, scheme, extra string) *broker {
	t.Helper()
	dir := t.TempDir()
	b := &broker{stomp: piertest.FreeAddr(t), ws: scheme + "://" + piertest.FreeAddr(t)}
	// The journal is in the data directory (store.journal.dir's default).
	b.Pier = piertest.StartWith(t, piertest.Options{Args: []string{"--log-level", "debug"}, Config: fmt.Sprintf(`broker:
  name: ws
  data_dir: %s
console:
  listen: ""
transports:
  openwire: ""
  stomp: stomp://%s
  ws: %s
%s
`, dir, b.stomp, b.ws, extra)})
	return b
}

// tlsYAML is a tls section with a certificate for 127.0.0.1 from ca, and
// with clientCerts client certificates verified against ca.
func tlsYAML(t *testing.T, ca *clienttest.CA, clientCerts bool) string {
	caFile, certFile, keyFile := ca.Files(t, "broker", "127.0.0.1", "localhost")
	s := fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile)
	if clientCerts {
		s += fmt.Sprintf("  client_ca_file: %s\n", caFile)
	}
	return s
}

// A browser's page subscribes over ws:// (or wss://) and receives what a
// Go client sends over STOMP on TCP; what the page sends reaches a Go
// consumer. The page comes from another origin than the broker's. The
// wss:// broker asks for no client certificate: headless chromium gives up
// a TLS handshake that asks for one (TestCertificateLoginOverWSS covers
// certificates).
func TestBrowserSTOMP(t *testing.T) {
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			var extra string
			var flags []string
			if scheme == "wss" {
				extra = tlsYAML(t, clienttest.NewCA(t, "ws test CA"), false)
				flags = append(flags, "ignore-certificate-errors")
			}
			b := startBroker(t, scheme, extra)
			p := openPage(t, b.ws+"/stomp", "/queue/to.browser", flags...)
			p.wait("the page's subscription", `window.state === "subscribed"`)
			if proto, err := eval[string](p, "window.protocol"); err != nil || proto != "v12.stomp" {
				t.Errorf("negotiated subprotocol %q (%v), want v12.stomp", proto, err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			c, err := stompclient.Dial(ctx, b.stomp, stompclient.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			toBrowser := "from Go over TCP ✓ " + scheme
			if err := c.Send(ctx, "/queue/to.browser", []byte(toBrowser), stompclient.WithReceipt()); err != nil {
				t.Fatal(err)
			}
			p.wait("the message from Go", "window.received.includes("+jsString(toBrowser)+")")

			sub, err := c.Subscribe(ctx, "/queue/from.browser", stompclient.SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			fromBrowser := "from the browser ✓ " + scheme
			if _, err := eval[bool](p, "sendTo('/queue/from.browser', "+jsString(fromBrowser)+")"); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-sub.C:
				if string(m.Body) != fromBrowser {
					t.Fatalf("Go consumer got %q, want %q", m.Body, fromBrowser)
				}
			case <-time.After(waitFor):
				t.Fatal("the browser's message did not reach the Go consumer")
			}
		})
	}
}

// A client certificate presented over wss:// logs in as the user its
// common name names, as over stomp+ssl://; the audit log shows the
// client's own address and port.
func TestCertificateLoginOverWSS(t *testing.T) {
	bin := piertest.Bin(t)
	ca := clienttest.NewCA(t, "ws test CA")
	hash, err := passwordHash(bin, "alice-secret")
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, "wss", tlsYAML(t, ca, true)+fmt.Sprintf(`security:
  users:
    - name: alice
      password_hash: %q
      groups: [apps]
`, hash))
	for _, tc := range []struct {
		name    string
		certs   []tls.Certificate
		login   bool
		refused bool
	}{
		{"certificate", []tls.Certificate{ca.Issue(t, "alice")}, false, false},
		{"neither certificate nor password", nil, false, true},
		{"password", nil, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := b.LogLen()
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			ccfg := ca.ClientConfig()
			ccfg.Certificates = tc.certs
			var local net.Addr
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: ccfg,
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
					if err == nil {
						local = nc.LocalAddr()
					}
					return nc, err
				}}}
			ws, _, err := websocket.Dial(ctx, b.ws+"/", &websocket.DialOptions{
				Subprotocols: []string{"v12.stomp"}, HTTPClient: client})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			opts := stompclient.Options{Host: "localhost"}
			if tc.login {
				opts.Login, opts.Passcode = "alice", "alice-secret"
			}
			nc := websocket.NetConn(context.Background(), ws, websocket.MessageText)
			c, err := stompclient.NewConn(ctx, nc, opts)
			if tc.refused {
				if err == nil {
					c.Close()
					t.Fatal("CONNECT without credentials accepted")
				}
				return
			}
			if err != nil {
				t.Fatalf("CONNECT: %v", err)
			}
			defer c.Close()
			method := "certificate"
			if tc.login {
				method = "password"
			}
			re := regexp.MustCompile(`msg=login .*user=alice proto=stomp peer=` + regexp.QuoteMeta(local.String()) + ` method=` + method)
			// The broker writes the line beside CONNECTED, not before it:
			// wait for it to reach the log.
			deadline := time.Now().Add(10 * time.Second)
			for !re.MatchString(b.LogSince(mark)) {
				if time.Now().After(deadline) {
					t.Fatalf("no audit line matching %s in:\n%s", re, b.LogSince(mark))
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// passwordHash is `pier passwd`'s hash of password.
func passwordHash(bin, password string) (string, error) {
	cmd := exec.Command(bin, "passwd")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("pier passwd: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// An MQTT 3.1.1 client that offers the "mqtt" subprotocol reaches the
// MQTT adapter: CONNECT, SUBSCRIBE and a PUBLISH it receives back, every
// packet from the broker in binary messages.
func TestMQTTOverWebSocket(t *testing.T) {
	b := startBroker(t, "ws", "")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, _, err := websocket.Dial(ctx, b.ws+"/mqtt", &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != "mqtt" {
		t.Fatalf("negotiated %q", c.Subprotocol())
	}
	var got []byte // what the broker sent, as one stream
	expect := func(what string, want []byte) {
		t.Helper()
		for len(got) < len(want) {
			typ, p, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("%s: %v (read so far %x)", what, err, got)
			}
			if typ != websocket.MessageBinary {
				t.Fatalf("%s: a %v message", what, typ)
			}
			got = append(got, p...)
		}
		if string(got[:len(want)]) != string(want) {
			t.Fatalf("%s: got %x, want %x", what, got, want)
		}
		got = got[len(want):]
	}
	send := func(p []byte) {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageBinary, p); err != nil {
			t.Fatal(err)
		}
	}
	send([]byte("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04wsmq")) // CONNECT, clean session
	expect("CONNACK", []byte("\x20\x02\x00\x00"))
	send([]byte("\x82\x09\x00\x01\x00\x04ws/t\x00")) // SUBSCRIBE ws/t at QoS 0
	expect("SUBACK", []byte("\x90\x03\x00\x01\x00"))
	publish := []byte("\x30\x0b\x00\x04ws/thello") // QoS 0 to ws/t
	send(publish)
	expect("PUBLISH", publish)
}
