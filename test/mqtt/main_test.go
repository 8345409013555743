//go:build crossprocess

// Package mqtt runs real MQTT clients against real pier processes with
// transports.mqtt: Debian's mosquitto_pub and mosquitto_sub (MQTT 3.1.1 and
// 5), Debian's Python paho-mqtt 1.6.1 (scripts in py/, run with
// /usr/bin/python3), the Go paho client (3.1.1), and a small client of the
// test's own on Pier's codec (client_test.go) where a real client hides
// what the test must see: the DUP flag, reason codes, malformed input. Its
// messages meet STOMP (Pier's Go client) and JMS (the ActiveMQ 5.17 Java
// client, programs in java/) on the same topics. TestFailover and
// TestFailoverQoS2 run a replicated group of three through kill -9 of the
// master.
//
// Each test starts its own broker (or group) on free loopback ports.
package mqtt

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/piermq/pier/test/internal/piertest"
)

// broker is one pier process with MQTT, STOMP and OpenWire listeners on
// free loopback ports, and its journal in a temporary directory; the ports
// and the data survive Restart.
type broker struct {
	*piertest.Pier
	MQTT     string // host:port of transports.mqtt (mqtt+ssl:// with a certificate)
	TLS      bool   // transports.mqtt is mqtt+ssl://
	STOMP    string // host:port of stomp://
	OpenWire string // host:port of tcp://
}

// brokerOptions say what a broker has beyond its listeners.
type brokerOptions struct {
	// Extra is top-level YAML sections (security:, limits:, mqtt:).
	Extra string
	// CertFile and KeyFile, when set, make transports.mqtt an
	// mqtt+ssl:// listener with them (the tls section).
	CertFile, KeyFile string
}

// startBroker starts a broker and waits until it is ready; it is killed
// when the test ends.
func startBroker(t *testing.T, opts brokerOptions) *broker {
	t.Helper()
	dir := t.TempDir()
	b := &broker{MQTT: piertest.FreeAddr(t), STOMP: piertest.FreeAddr(t), OpenWire: piertest.FreeAddr(t)}
	scheme, tlsYAML := "mqtt", ""
	if opts.CertFile != "" {
		b.TLS, scheme = true, "mqtt+ssl"
		tlsYAML = fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n", opts.CertFile, opts.KeyFile)
	}
	cfg := fmt.Sprintf(`broker:
  name: mqtt-suite
  data_dir: %s
transports:
  openwire: tcp://%s
  stomp: stomp://%s
  mqtt: %s://%s
  ws: ""
  amqp: ""
console: {listen: ""}
store: {kind: journal}
%s%s
`, dir, b.OpenWire, b.STOMP, scheme, b.MQTT, tlsYAML, opts.Extra)
	b.Pier = piertest.StartWith(t, piertest.Options{Config: cfg, Name: "mqtt-suite"})
	return b
}

// python is Debian's interpreter, which sees python3-paho-mqtt (the first
// python3 on PATH may be another installation).
const python = "/usr/bin/python3"

// needTools fails (not skips: scripts/test.sh installs them) when a
// client program is missing.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (apt-get install mosquitto-clients): %v", tool, err)
		}
	}
	out, err := exec.Command(python, "-c", "import paho.mqtt; print(paho.mqtt.__version__)").CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import paho.mqtt (apt-get install python3-paho-mqtt): %v\n%s", python, err, out)
	}
	if v := strings.TrimSpace(string(out)); !strings.HasPrefix(v, "1.") {
		t.Logf("paho-mqtt %s (the scripts are written for 1.6)", v)
	}
}
