//go:build crossprocess

package mqtt

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// awayCount is how many messages are published while a persistent
// session's client is away.
const awayCount = 5

// TestSession resumes persistent sessions: MQTT 3.1.1 with clean session
// 0 (Go paho), MQTT 5 with a session expiry (Python paho). The messages
// published while the client was away are delivered when it returns,
// without subscribing again, in order, and CONNACK says the session is
// present (3.1.1 section 3.2.2.2, 5.0 section 3.2.2.1.1); a clean session
// (clean session 1, clean start 1) starts empty and leaves nothing behind.
func TestSession(t *testing.T) {
	needTools(t)
	b := startBroker(t, brokerOptions{})
	t.Run("paho-go/311", func(t *testing.T) { pahoSession(t, b) })
	t.Run("paho-python/5", func(t *testing.T) { pythonSession(t, b) })
}

// publishAway publishes the numbers 0 .. awayCount-1 to topic at QoS 1
// with mosquitto_pub.
func publishAway(t *testing.T, b *broker, version, topic string) {
	t.Helper()
	m := mosquitto{addr: b.MQTT, version: version}
	if out, err := runInput(t, numbers(awayCount), "mosquitto_pub", m.args("-q", "1", "-t", topic, "-l")...); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
}

func pahoSession(t *testing.T, b *broker) {
	topic := "sess/paho-go"
	var mu sync.Mutex
	var got []string
	opts := func(clean bool) *paho.ClientOptions {
		return pahoOptions(b.MQTT, "session-311", clean).SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			mu.Lock()
			got = append(got, fmt.Sprintf("%s %d %s", m.Topic(), m.Qos(), m.Payload()))
			mu.Unlock()
		})
	}
	connect := func(clean bool) (paho.Client, bool) {
		c := paho.NewClient(opts(clean))
		tok := c.Connect()
		if err := pahoWait(tok); err != nil {
			t.Fatalf("connect: %v", err)
		}
		return c, tok.(*paho.ConnectToken).SessionPresent()
	}

	c, present := connect(false)
	if present {
		t.Errorf("a new persistent session: CONNACK session present 1")
	}
	if err := pahoWait(c.Subscribe(topic, 1, nil)); err != nil {
		t.Fatal(err)
	}
	c.Disconnect(250)
	publishAway(t, b, "mqttv311", topic)

	c, present = connect(false)
	if !present {
		t.Errorf("back after publishes: CONNACK session present 0, want 1 (MQTT 3.1.1 [MQTT-3.2.2-2])")
	}
	var want []string
	for i := range awayCount {
		want = append(want, fmt.Sprintf("%s 1 %d", topic, i))
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	if err := eventually(func() bool { return count() >= awayCount }); err != nil {
		t.Errorf("messages published while away: got %d of %d", count(), awayCount)
	}
	mu.Lock()
	if !slices.Equal(got, want) {
		t.Errorf("messages published while away: got %q, want %q", got, want)
	}
	got = nil
	mu.Unlock()
	c.Disconnect(250)

	// A clean session: nothing present, and the old subscription is gone
	// for good.
	c, present = connect(true)
	if present {
		t.Errorf("clean session 1: CONNACK session present 1, want 0 ([MQTT-3.2.2-1])")
	}
	c.Disconnect(250)
	publishAway(t, b, "mqttv311", topic)
	c, present = connect(false)
	if present {
		t.Errorf("after a clean session, clean session 0: CONNACK session present 1, want 0")
	}
	defer c.Disconnect(250)
	if err := pahoWait(c.Subscribe(topic+"/marker", 1, nil)); err != nil {
		t.Fatal(err)
	}
	if err := pahoWait(c.Publish(topic+"/marker", 1, false, "marker")); err != nil {
		t.Fatal(err)
	}
	if err := eventually(func() bool { return count() >= 1 }); err != nil {
		t.Fatalf("the marker: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, []string{topic + "/marker 1 marker"}) {
		t.Errorf("a session that was cleaned got %q, want only the marker", got)
	}
}

func pythonSession(t *testing.T, b *broker) {
	_, port, _ := strings.Cut(b.MQTT, ":")
	topic := "sess/paho-python"
	phase := func(args ...string) string {
		t.Helper()
		out, err := runProgram(t, python, append([]string{pyScript(t, "session5.py"), port, "session-5", topic}, args...)...)
		if err != nil || !strings.Contains(out, "DONE") {
			t.Fatalf("session5.py %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if out := phase("subscribe"); !strings.Contains(out, "CONNECTED 0 0\n") {
		t.Errorf("a new session (clean start 1): %s", out)
	}
	publishAway(t, b, "mqttv5", topic)
	out := phase("resume", strconv.Itoa(awayCount))
	if !strings.Contains(out, "CONNECTED 1 0\n") {
		t.Errorf("back after publishes: CONNACK session present 0, want 1 (MQTT 5.0 [MQTT-3.2.2-3]):\n%s", out)
	}
	var want strings.Builder
	for i := range awayCount {
		fmt.Fprintf(&want, "MSG %s 1 0 0 %d\n", topic, i)
	}
	if !strings.Contains(out, want.String()) {
		t.Errorf("messages published while away: got\n%swant\n%s", out, want.String())
	}
	if out := phase("clean"); !strings.Contains(out, "CONNECTED 0 0\n") {
		t.Errorf("clean start 1: CONNACK session present 1, want 0:\n%s", out)
	}
	publishAway(t, b, "mqttv5", topic)
	out = phase("empty")
	if !strings.Contains(out, "CONNECTED 0 0\n") {
		t.Errorf("after a clean start with expiry 0, clean start 0: session present 1, want 0:\n%s", out)
	}
	if msgs := lines(out, "MSG "); !slices.Equal(msgs, []string{topic + "/marker 1 0 0 marker"}) {
		t.Errorf("a session that was cleaned got %q, want only the marker", msgs)
	}
}

// lines returns the lines of out starting with prefix, without it.
func lines(out, prefix string) []string {
	var got []string
	for l := range strings.SplitSeq(out, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			got = append(got, rest)
		}
	}
	return got
}

// TestEmptySessionPresent: a persistent session with no subscription and
// nothing in flight still exists; its client coming back must be told so
// (MQTT 3.1.1 section 3.1.2.4, "the existence of a Session, even if the
// rest of the Session state is empty", and [MQTT-3.2.2-2]; MQTT 5.0
// section 3.2.2.1.1).
func TestEmptySessionPresent(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	for _, version := range []byte{packet.Version311, packet.Version5} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			connect := func() *packet.Connack {
				c := &packet.Connect{Version: version, ClientID: fmt.Sprintf("empty-%d", version)}
				if version == packet.Version5 {
					e := uint32(300)
					c.Properties.SessionExpiry = &e
				}
				cn, ack, err := dial(b.MQTT, nil, c, nil)
				if err != nil {
					t.Fatal(err)
				}
				cn.disconnect()
				return ack
			}
			if ack := connect(); ack.SessionPresent || ack.Reason != packet.Success {
				t.Fatalf("first connection: %+v", ack)
			}
			if ack := connect(); !ack.SessionPresent {
				t.Errorf("back to an empty persistent session: CONNACK session present 0, want 1")
			}
		})
	}
}

// TestResendOriginalIDs: a persistent session's subscriber receives QoS 1
// and QoS 2 messages and loses its connection before acknowledging them;
// when it reconnects the server must send them again with DUP set and
// their original packet identifiers (MQTT 3.1.1 section 4.4 and 5.0
// section 4.4, [MQTT-4.4.0-1]; DUP: [MQTT-3.3.1-1]) — at QoS 2 that is how
// the client knows a message it already has (section 4.3.3).
func TestResendOriginalIDs(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	for _, version := range []byte{packet.Version311, packet.Version5} {
		for _, qos := range []byte{1, 2} {
			t.Run(fmt.Sprintf("v%d/qos%d", version, qos), func(t *testing.T) {
				resendOriginalIDs(t, b, version, qos)
			})
		}
	}
}

func resendOriginalIDs(t *testing.T, b *broker, version, qos byte) {
	topic := fmt.Sprintf("resend/v%d/q%d", version, qos)
	connect := func(clean bool) *packet.Connect {
		c := &packet.Connect{Version: version, ClientID: "resend-" + strings.ReplaceAll(topic, "/", "-"), CleanStart: clean}
		if version == packet.Version5 {
			e := uint32(300)
			c.Properties.SessionExpiry = &e
		}
		if version == packet.Version311 {
			c.CleanStart = false // clean session 1 would not outlive the connection
		}
		return c
	}
	box := newInbox()
	c, _, err := dial(b.MQTT, nil, connect(true), box)
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := c.subscribe(1, packet.Properties{}, packet.Subscription{Filter: topic, QoS: qos}); err != nil || ack.Reasons[0] != packet.ReasonCode(qos) {
		t.Fatalf("subscribe: %v %v", ack, err)
	}
	m := mosquitto{addr: b.MQTT, version: "mqttv5"}
	publish := func(n int) {
		if out, err := runInput(t, numbers(n), "mosquitto_pub", m.args("-q", strconv.Itoa(int(qos)), "-t", topic, "-l")...); err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
	}
	// Five acknowledged first, so that the packet ids of the next are not
	// those a new connection would start with.
	publish(5)
	if err := box.awaitCount(5); err != nil {
		t.Fatal(err)
	}
	box.setHold(true)
	publish(3)
	if err := box.awaitCount(8); err != nil {
		t.Fatal(err)
	}
	c.close()
	first := box.all()[5:]
	box.setHold(false)
	c, ack, err := dial(b.MQTT, nil, connect(false), box)
	if err != nil {
		t.Fatal(err)
	}
	defer c.disconnect()
	if !ack.SessionPresent {
		t.Errorf("CONNACK session present 0 for the session holding the messages")
	}
	if err := box.await(wait, func(rs []received) bool { return len(rs) >= 11 }); err != nil {
		t.Fatalf("the unacknowledged messages sent again: %v (got %+v)", err, box.all())
	}
	again := box.all()[8:]
	for i, r := range again {
		f := first[i]
		if r.Payload != f.Payload || !r.Dup || r.ID != f.ID {
			t.Errorf("sent again: %q DUP %v packet id %d; first sent as %q packet id %d: want the same packet id, DUP 1", r.Payload, r.Dup, r.ID, f.Payload, f.ID)
		}
	}
	if qos == 2 {
		if d := box.delivered(); len(d) != 8 {
			t.Errorf("at QoS 2 the client delivered %d messages, want 8 (those sent again are known by their packet ids)", len(d))
		}
	}
}
