//go:build crossprocess

package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// selfSigned makes a self-signed certificate for 127.0.0.1 and localhost
// with openssl, in dir, and returns its certificate and key files; the
// certificate is its own CA.
func selfSigned(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl not found (apt-get install openssl): %v", err)
	}
	cert, key = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if out, err := runProgram(t, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-days", "2", "-subj", "/CN="+name, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
		"-addext", "basicConstraints=critical,CA:TRUE"); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	return cert, key
}

// TestTLS runs MQTT over TLS (transports.mqtt: mqtt+ssl://) with a
// certificate made for the run: mosquitto_pub and mosquitto_sub trusting
// it with --cafile (3.1.1 and 5) and the suite's client trusting it talk;
// a client trusting another CA is refused at the handshake, and one
// without TLS gets no CONNACK.
func TestTLS(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "pier-mqtt-suite")
	other, _ := selfSigned(t, dir, "stranger")
	b := startBroker(t, brokerOptions{CertFile: cert, KeyFile: key})
	eachVersion(t, b, func(t *testing.T, m mosquitto, version byte) {
		m.extra = []string{"--cafile", cert}
		topic := "tls/" + m.version
		sub := m.sub(t, "-q", "1", "-t", topic, "-C", "2")
		m.pub(t, "-q", "1", "-t", topic, "-m", "over tls")

		pool := x509.NewCertPool()
		pem, err := os.ReadFile(cert)
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("%s: %v", cert, err)
		}
		c, ack, err := dial(b.MQTT, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
			&packet.Connect{Version: version, ClientID: "tls-" + m.version, CleanStart: true}, nil)
		if err != nil || ack.Reason != packet.Success {
			t.Fatalf("the suite's client over TLS: %v %v", ack, err)
		}
		if pa, err := c.publish1(&packet.Publish{Topic: topic, PacketID: 1, Payload: []byte("from go")}); err != nil || pa.Reason.Failed() {
			t.Errorf("publish over TLS: %v %v", pa, err)
		}
		c.disconnect()
		if err := sub.exited(wait); err != nil {
			t.Fatal(err)
		}
		got := sub.lines("MSG ")
		if len(got) != 2 || got[0] != topic+" 1 0 over tls" || got[1] != topic+" 1 0 from go" {
			t.Errorf("mosquitto_sub over TLS got %q", got)
		}

		stranger := mosquitto{addr: b.MQTT, version: m.version, extra: []string{"--cafile", other}}
		if out, err := runProgram(t, "mosquitto_pub", stranger.args("-t", topic, "-m", "x")...); err == nil {
			t.Errorf("mosquitto_pub trusting another CA was not refused: %s", out)
		}
	})
	if c, ack, err := dial(b.MQTT, nil, &packet.Connect{Version: packet.Version5, ClientID: "plain", CleanStart: true}, nil); err == nil {
		c.close()
		t.Errorf("plain MQTT to the TLS port got %+v", ack)
	}
}
