//go:build crossprocess

package mqtt

import (
	"strconv"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// TestWill checks the will message (MQTT 3.1.1 section 3.1.2.5, 5.0
// section 3.1.3.2) in both versions: published when a mosquitto_sub
// holding one is killed -9 and when a client closes its socket without
// DISCONNECT; not published after a normal DISCONNECT (mosquitto_pub's
// own, and the suite's client's). Absence is shown by order, not by
// waiting: another client's will on the same topic, published after,
// must come first.
func TestWill(t *testing.T) {
	needTools(t)
	b := startBroker(t, brokerOptions{})
	eachVersion(t, b, func(t *testing.T, m mosquitto, version byte) {
		v := m.version
		base := "will/" + v
		victim := m.sub(t, "-t", "will/unused", "--will-topic", base+"/killed", "--will-payload", "mosquitto_sub died", "--will-qos", "1")
		watch := m.sub(t, "-q", "1", "-t", base+"/#")
		victim.kill()
		if err := watch.await("MSG "+base+"/killed 1 0 mosquitto_sub died", wait); err != nil {
			t.Fatalf("the will of a mosquitto_sub killed -9: %v", err)
		}

		c := willClient(t, b.MQTT, version, "will-close-"+v, base+"/closed", "socket closed")
		c.close()
		if err := watch.await("MSG "+base+"/closed 1 0 socket closed", wait); err != nil {
			t.Fatalf("the will of a connection closed without DISCONNECT: %v", err)
		}

		m.pub(t, "-t", base+"/other", "-m", "x", "--will-topic", base+"/order", "--will-payload", "mosquitto_pub's will", "--will-qos", "1")
		c = willClient(t, b.MQTT, version, "will-clean-"+v, base+"/order", "DISCONNECT sent")
		c.disconnect()
		c = willClient(t, b.MQTT, version, "will-after-"+v, base+"/order", "the later will")
		c.close()
		if err := watch.await("MSG "+base+"/order 1 0 the later will", wait); err != nil {
			t.Fatal(err)
		}
		for _, l := range watch.lines("MSG " + base + "/order ") {
			if !strings.HasSuffix(l, "the later will") {
				t.Errorf("a will published after a normal DISCONNECT: %q", l)
			}
		}
	})
}

// willClient connects the suite's client as id with a QoS 1 will.
func willClient(t *testing.T, addr string, version byte, id, topic, payload string) *conn {
	t.Helper()
	c, ack, err := dial(addr, nil, &packet.Connect{Version: version, ClientID: id, CleanStart: true,
		Will: &packet.Will{QoS: 1, Topic: topic, Payload: []byte(payload)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Reason != packet.Success {
		t.Fatalf("CONNACK %s", ack.Reason)
	}
	return c
}

// TestWillDelay checks MQTT 5's Will Delay Interval (section 3.1.3.2.2)
// with Python paho clients killed -9: a will whose client does not come
// back is published, and one whose client comes back (same client id,
// session kept) before the delay ends is not. For the latter, a third
// client's will with a longer delay, killed after, is the sign that the
// first delay has passed.
func TestWillDelay(t *testing.T) {
	needTools(t)
	b := startBroker(t, brokerOptions{})
	_, port, _ := strings.Cut(b.MQTT, ":")
	m := mosquitto{addr: b.MQTT, version: "mqttv5"}
	watch := m.sub(t, "-q", "1", "-t", "willdelay/#")
	holder := func(id, topic, payload string, delay int) *program {
		p := start(t, python, pyScript(t, "will_client.py"), port, id, topic, payload, strconv.Itoa(delay), "60")
		if err := p.await("CONNECTED", wait); err != nil {
			t.Fatal(err)
		}
		return p
	}

	gone := holder("wd-gone", "willdelay/gone", "not back", 1)
	gone.kill()
	if err := watch.await("MSG willdelay/gone 1 0 not back", wait); err != nil {
		t.Fatalf("the delayed will of a client that did not come back: %v", err)
	}

	back := holder("wd-back", "willdelay/back", "came back in time", 3)
	back.kill()
	again := start(t, python, pyScript(t, "will_client.py"), port, "wd-back", "-", "-", "0", "60", "disconnect")
	if err := again.await("DISCONNECTED", wait); err != nil {
		t.Fatal(err)
	}
	// (Its session, holding no subscription, should be present too:
	// TestSession checks that.)
	t.Logf("the client that came back: %s", strings.TrimSpace(again.output()))
	later := holder("wd-later", "willdelay/back", "the later will", 5)
	later.kill()
	if err := watch.await("MSG willdelay/back 1 0 the later will", wait); err != nil {
		t.Fatal(err)
	}
	if l := watch.lines("MSG willdelay/back "); len(l) != 1 {
		t.Errorf("on willdelay/back: %q, want only the later will (the client that came back in time has no will published)", l)
	}
}
