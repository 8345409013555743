//go:build crossprocess

package mqtt

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// perPublisher is how many numbered messages each publisher of the QoS
// matrix sends.
const perPublisher = 60

// msg is one message as a subscriber printed or recorded it.
type msg struct {
	topic   string
	qos     byte
	dup     bool
	payload string
}

// checkStreams checks what one subscriber at subQoS got of the matrix's
// publishers: topic base/<q> carried the payloads 0 .. n-1 published at
// QoS q. Each stream must arrive whole and in order (one publisher, one
// subscriber: MQTT 5.0 section 4.6), every message at the lower of the two
// QoS (section 3.8.4), and none twice: at QoS 2 never, and at 0 or 1 no
// connection was lost that could make a resend.
func checkStreams(got []msg, base string, subQoS byte, n int) []string {
	var problems []string
	next := map[string]int{}
	for _, m := range got {
		q, err := strconv.Atoi(strings.TrimPrefix(m.topic, base+"/"))
		if err != nil || q > 2 {
			problems = append(problems, fmt.Sprintf("sub QoS %d: a message on %q, not a publisher's topic", subQoS, m.topic))
			continue
		}
		if want := min(byte(q), subQoS); m.qos != want {
			problems = append(problems, fmt.Sprintf("sub QoS %d, pub QoS %d: message %s delivered at QoS %d, want %d", subQoS, q, m.payload, m.qos, want))
		}
		if want := strconv.Itoa(next[m.topic]); m.payload != want {
			problems = append(problems, fmt.Sprintf("sub QoS %d, pub QoS %d: got %s where %s was next (lost, repeated or out of order; dup=%v)", subQoS, q, m.payload, want, m.dup))
			if v, err := strconv.Atoi(m.payload); err == nil && v >= next[m.topic] {
				next[m.topic] = v + 1
			}
			continue
		}
		next[m.topic]++
	}
	for q := range 3 {
		topic := fmt.Sprintf("%s/%d", base, q)
		if next[topic] != n {
			problems = append(problems, fmt.Sprintf("sub QoS %d, pub QoS %d: stream ended at %d of %d", subQoS, q, next[topic], n))
		}
	}
	return problems
}

// numbers is the payloads 0 .. n-1, a line each.
func numbers(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

// TestQoS publishes at QoS 0, 1 and 2 to subscribers at QoS 0, 1 and 2,
// with each client and protocol version: every message arrives once, in
// its publisher's order, at the lower QoS.
func TestQoS(t *testing.T) {
	needTools(t)
	b := startBroker(t, brokerOptions{})
	t.Run("mosquitto", func(t *testing.T) {
		eachVersion(t, b, func(t *testing.T, m mosquitto, _ byte) {
			base := "qos/mosquitto-" + m.version
			var subs [3]*program
			for q := range subs {
				subs[q] = m.sub(t, "-t", base+"/#", "-q", strconv.Itoa(q), "-C", strconv.Itoa(3*perPublisher))
			}
			for q := range 3 {
				if out, err := runInput(t, numbers(perPublisher), "mosquitto_pub",
					m.args("-t", fmt.Sprintf("%s/%d", base, q), "-q", strconv.Itoa(q), "-l")...); err != nil {
					t.Fatalf("mosquitto_pub -q %d -l: %v\n%s", q, err, out)
				}
			}
			for q, p := range subs {
				if err := p.exited(wait); err != nil {
					t.Fatalf("mosquitto_sub -q %d: %v", q, err)
				}
				for _, problem := range checkStreams(mosquittoMessages(p), base, byte(q), perPublisher) {
					t.Error(problem)
				}
			}
		})
	})
	t.Run("paho-python/5", func(t *testing.T) { pythonQoS(t, b, "5") })
	t.Run("paho-python/311", func(t *testing.T) { pythonQoS(t, b, "311") })
	t.Run("paho-go/311", func(t *testing.T) { pahoGoQoS(t, b) })
}

// mosquittoMessages parses mosquitto_sub's "MSG topic qos retain payload"
// lines, with the DUP flag of the debug line before each.
func mosquittoMessages(p *program) []msg {
	var out []msg
	dup := false
	for l := range strings.SplitSeq(p.output(), "\n") {
		if strings.Contains(l, "received PUBLISH (d") {
			dup = strings.Contains(l, "received PUBLISH (d1")
			continue
		}
		rest, ok := strings.CutPrefix(l, "MSG ")
		if !ok {
			continue
		}
		f := strings.SplitN(rest, " ", 4)
		if len(f) < 4 {
			continue
		}
		q, _ := strconv.Atoi(f[1])
		out = append(out, msg{topic: f[0], qos: byte(q), dup: dup, payload: f[3]})
	}
	return out
}

func pythonQoS(t *testing.T, b *broker, version string) {
	_, port, _ := strings.Cut(b.MQTT, ":")
	out, err := runProgram(t, python, pyScript(t, "qos.py"), port, version, strconv.Itoa(perPublisher))
	if err != nil || !strings.Contains(out, "DONE") {
		t.Fatalf("qos.py: %v\n%s", err, out)
	}
	got := map[byte][]msg{}
	for l := range strings.SplitSeq(out, "\n") {
		var sq, q, dup, retain int
		var m msg
		if n, _ := fmt.Sscanf(l, "MSG %d %s %d %d %d %s", &sq, &m.topic, &q, &dup, &retain, &m.payload); n == 6 {
			m.qos, m.dup = byte(q), dup == 1
			got[byte(sq)] = append(got[byte(sq)], m)
		}
	}
	for q := range byte(3) {
		for _, problem := range checkStreams(got[q], "qos/py"+version, q, perPublisher) {
			t.Error(problem)
		}
	}
}

// pahoGoQoS runs the matrix with the Go paho client (MQTT 3.1.1).
func pahoGoQoS(t *testing.T, b *broker) {
	base := "qos/paho-go"
	var mu sync.Mutex
	got := map[byte][]msg{}
	for q := range byte(3) {
		c := pahoConnect(t, b.MQTT, fmt.Sprintf("paho-go-sub-%d", q), true)
		tok := c.Subscribe(base+"/#", q, func(_ paho.Client, m paho.Message) {
			mu.Lock()
			got[q] = append(got[q], msg{topic: m.Topic(), qos: m.Qos(), dup: m.Duplicate(), payload: string(m.Payload())})
			mu.Unlock()
		})
		if err := pahoWait(tok); err != nil {
			t.Fatalf("subscribe at QoS %d: %v", q, err)
		}
	}
	pub := pahoConnect(t, b.MQTT, "paho-go-pub", true)
	for q := range byte(3) {
		for i := range perPublisher {
			if err := pahoWait(pub.Publish(fmt.Sprintf("%s/%d", base, q), q, false, strconv.Itoa(i))); err != nil {
				t.Fatalf("publish %d at QoS %d: %v", i, q, err)
			}
		}
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got[0]) + len(got[1]) + len(got[2])
	}
	if err := eventually(func() bool { return count() >= 9*perPublisher }); err != nil {
		t.Errorf("paho-go subscribers got %d of %d messages: %v", count(), 9*perPublisher, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for q := range byte(3) {
		for _, problem := range checkStreams(got[q], base, q, perPublisher) {
			t.Error(problem)
		}
	}
}
