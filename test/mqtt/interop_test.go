//go:build crossprocess

package mqtt

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
	"github.com/piermq/pier/internal/stompclient"
	"github.com/piermq/pier/test/internal/javarun"
)

// TestInteropSTOMP: MQTT topic a/b is STOMP's /topic/a.b, both ways, and
// the wildcards map ('+' is '*', '#' is '>'). An MQTT QoS 1 publish is a
// persistent message, QoS 0 not; a persistent STOMP message reaches an
// MQTT subscriber at the subscription's QoS, a non-persistent one at QoS
// 0. The STOMP side is Pier's Go client, the MQTT side mosquitto.
func TestInteropSTOMP(t *testing.T) {
	needTools(t)
	b := startBroker(t, brokerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	sc, err := stompclient.Dial(ctx, b.STOMP, stompclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	in, err := sc.Subscribe(ctx, "/topic/inter.stomp.>", stompclient.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := mosquitto{addr: b.MQTT, version: "mqttv311"}
	m.pub(t, "-q", "1", "-t", "inter/stomp/in", "-m", "mqtt qos 1")
	m.pub(t, "-q", "0", "-t", "inter/stomp/in/deeper", "-m", "mqtt qos 0")
	for _, want := range []struct{ dest, body, persistent string }{
		{"/topic/inter.stomp.in", "mqtt qos 1", "true"},
		{"/topic/inter.stomp.in.deeper", "mqtt qos 0", ""},
	} {
		select {
		case msg := <-in.C:
			if msg.Destination != want.dest || string(msg.Body) != want.body || msg.Header("persistent") != want.persistent {
				t.Errorf("STOMP got %s %q persistent %q, want %s %q persistent %q", msg.Destination, msg.Body,
					msg.Header("persistent"), want.dest, want.body, want.persistent)
			}
		case <-time.After(wait):
			t.Fatalf("STOMP got nothing for %s", want.dest)
		}
	}

	mqttSub := m.sub(t, "-q", "2", "-t", "inter/+/out", "-C", "2")
	if err := sc.Send(ctx, "/topic/inter.stomp.out", []byte("stomp persistent"), stompclient.Persistent(), stompclient.WithReceipt()); err != nil {
		t.Fatal(err)
	}
	if err := sc.Send(ctx, "/topic/inter.x.out", []byte("stomp non-persistent"), stompclient.WithReceipt()); err != nil {
		t.Fatal(err)
	}
	if err := mqttSub.exited(wait); err != nil {
		t.Fatal(err)
	}
	// In any order: mosquitto_sub prints a QoS 2 message at its PUBREL,
	// and MQTT orders only messages of one QoS (MQTT 5.0 section 4.6).
	got := slices.Sorted(slices.Values(mqttSub.lines("MSG ")))
	want := []string{"inter/stomp/out 2 0 stomp persistent", "inter/x/out 0 0 stomp non-persistent"}
	if !slices.Equal(got, want) {
		t.Errorf("mosquitto_sub got %q, want %q", got, want)
	}
}

// jvm runs the suite's Java program (java/MqttJms.java) on the ActiveMQ
// 5.17 JMS client.
var jvm = javarun.JVM{Src: "java", Flags: []string{"-Xmx256m", "-XX:TieredStopAtLevel=1"}}

// TestInteropJMS: an MQTT 5 publish reaches a JMS consumer of the same
// topic with its user properties as JMS string properties, its response
// topic as JMSReplyTo and its correlation data as JMSCorrelationID; a JMS
// message reaches MQTT 5 subscribers with its string properties as user
// properties, JMSReplyTo as the response topic and JMSCorrelationID as the
// correlation data, and a 3.1.1 subscriber with its body.
func TestInteropJMS(t *testing.T) {
	needTools(t)
	t.Cleanup(javarun.RemoveClasses)
	b := startBroker(t, brokerOptions{})
	url := "tcp://" + b.OpenWire
	ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
	defer cancel()

	recv := jvm.Start(t, ctx, nil, "MqttJms", "recv", url, "inter.jms.in", "2")
	if err := recv.AwaitLine("READY", 2*wait); err != nil {
		t.Fatalf("%v\n%s", err, recv.Output())
	}
	m5 := mosquitto{addr: b.MQTT, version: "mqttv5"}
	m5.pub(t, "-q", "1", "-t", "inter/jms/in", "-m", "from mqtt5",
		"-D", "publish", "user-property", "color", "red", "-D", "publish", "user-property", "size", "L",
		"-D", "publish", "response-topic", "inter/mqtt/replies", "-D", "publish", "correlation-data", "corr-7")
	mosquitto{addr: b.MQTT, version: "mqttv311"}.pub(t, "-q", "0", "-t", "inter/jms/in", "-m", "from mqtt311")
	if err := recv.AwaitLine("DONE", 2*wait); err != nil {
		t.Fatalf("%v\n%s", err, recv.Output())
	}
	got := lines(recv.Output(), "MSG ")
	if len(got) != 2 {
		t.Fatalf("the JMS consumer printed %q", got)
	}
	t.Logf("JMS consumer: %q", got)
	checkJMS(t, got[0], "body=bytes:from mqtt5", "persistent=true", "replyTo=topic://inter.mqtt.replies", "corr=corr-7", "color=red", "size=L")
	checkJMS(t, got[1], "body=bytes:from mqtt311", "persistent=false", "replyTo=null", "corr=null")

	box := newInbox()
	c, ack, err := dial(b.MQTT, nil, &packet.Connect{Version: packet.Version5, ClientID: "jms-reader", CleanStart: true}, box)
	if err != nil || ack.Reason != packet.Success {
		t.Fatalf("connect: %v %v", ack, err)
	}
	defer c.disconnect()
	if sa, err := c.subscribe(1, packet.Properties{}, packet.Subscription{Filter: "inter/jms/out", QoS: 1}); err != nil || sa.Reasons[0] != 1 {
		t.Fatalf("subscribe: %v %v", sa, err)
	}
	old := mosquitto{addr: b.MQTT, version: "mqttv311"}.sub(t, "-q", "1", "-t", "inter/jms/out", "-C", "1")
	send := jvm.Start(t, ctx, nil, "MqttJms", "send", url, "inter.jms.out")
	if err := send.Wait(2 * wait); err != nil {
		t.Fatalf("java MqttJms send: %v\n%s", err, send.Output())
	}
	if err := box.awaitCount(1); err != nil {
		t.Fatal(err)
	}
	r := box.all()[0]
	user := map[string]string{}
	for _, u := range r.Props.User {
		user[u.Key] = u.Value
	}
	if r.Payload != "from jms" || r.QoS != 1 || r.Props.PayloadFormat != 1 || user["color"] != "blue" || user["shape"] != "round" ||
		r.Props.ResponseTopic != "inter/jms/replies" || string(r.Props.CorrelationData) != "jms-corr-9" {
		t.Errorf("the MQTT 5 subscriber got %q at QoS %d, payload format %d, user properties %v, response topic %q, correlation data %q; "+
			"want %q at QoS 1, payload format 1 (text), color=blue and shape=round, inter/jms/replies, jms-corr-9",
			r.Payload, r.QoS, r.Props.PayloadFormat, r.Props.User, r.Props.ResponseTopic, r.Props.CorrelationData, "from jms")
	}
	if err := old.exited(wait); err != nil {
		t.Fatal(err)
	}
	if l := old.lines("MSG "); !slices.Equal(l, []string{"inter/jms/out 1 0 from jms"}) {
		t.Errorf("the MQTT 3.1.1 subscriber got %q", l)
	}
}

// checkJMS checks that a MSG line of the JMS consumer has each of want
// among its space- and comma-separated fields.
func checkJMS(t *testing.T, line string, want ...string) {
	t.Helper()
	fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == ',' })
	// The body may hold spaces: compare it as a prefix.
	for _, w := range want {
		if strings.HasPrefix(w, "body=") {
			if !strings.HasPrefix(line, w+" persistent=") {
				t.Errorf("JMS got %q, want %s", line, w)
			}
			continue
		}
		if !slices.Contains(fields, w) && !slices.Contains(fields, "props="+w) {
			t.Errorf("JMS got %q, want %s", line, w)
		}
	}
}
