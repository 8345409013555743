//go:build crossprocess

package mqtt

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRetained sets, replaces and clears retained messages with
// mosquitto_pub and checks what a new mosquitto_sub is given (MQTT 3.1.1
// section 3.3.1.3, 5.0 section 3.3.1.3), in both protocol versions: the
// last retained message of each matching topic, with RETAIN set, and
// nothing once an empty retained message cleared it; a subscriber already
// there gets the publish with RETAIN 0. The retained messages survive a
// restart (SIGTERM) and a crash (kill -9) of the broker.
func TestRetained(t *testing.T) {
	needTools(t)
	b := startBroker(t, brokerOptions{})
	eachVersion(t, b, func(t *testing.T, m mosquitto, _ byte) {
		base := "ret/" + m.version
		live := m.sub(t, "-q", "1", "-t", base+"/#")
		m.pub(t, "-q", "1", "-r", "-t", base+"/a", "-m", "first")
		checkRetained(t, m, base, "a=first")
		m.pub(t, "-q", "1", "-r", "-t", base+"/a", "-m", "second")
		m.pub(t, "-q", "1", "-r", "-t", base+"/b/c", "-m", "other")
		checkRetained(t, m, base, "a=second", "b/c=other")
		m.pub(t, "-q", "1", "-r", "-t", base+"/a", "-n") // empty: clears a
		checkRetained(t, m, base, "b/c=other")

		// The subscriber that was there saw each publish as it came,
		// without RETAIN (3.1.1: [MQTT-3.3.1-9]; 5.0: Retain As
		// Published was not asked for).
		if err := live.await("MSG "+base+"/b/c ", wait); err != nil {
			t.Fatal(err)
		}
		for _, l := range live.lines("MSG ") {
			if f := strings.Fields(l); len(f) >= 3 && f[2] != "0" && !strings.HasSuffix(f[0], "/marker") {
				t.Errorf("a live subscriber got %q with RETAIN set", l)
			}
		}
	})
	m := mosquitto{addr: b.MQTT, version: "mqttv5"}
	m.pub(t, "-q", "1", "-r", "-t", "ret/restart/kept", "-m", "across restarts")
	if err := b.Stop(wait); err != nil {
		t.Fatalf("stop: %v", err)
	}
	b.Restart()
	checkRetained(t, m, "ret/restart", "kept=across restarts")
	m.pub(t, "-q", "2", "-r", "-t", "ret/restart/crash", "-m", "across a crash")
	b.Kill()
	b.Restart()
	checkRetained(t, m, "ret/restart", "crash=across a crash", "kept=across restarts")
}

// checkRetained subscribes a new mosquitto_sub to base/# at QoS 1, then
// publishes a non-retained marker to base/marker: what comes before the
// marker is the retained messages, each of which must have RETAIN set.
// want is "topic=payload" with topic relative to base, in any order.
func checkRetained(t *testing.T, m mosquitto, base string, want ...string) {
	t.Helper()
	sub := m.sub(t, "-q", "1", "-t", base+"/#")
	marker := fmt.Sprintf("marker-%d", time.Now().UnixNano())
	m.pub(t, "-q", "1", "-t", base+"/marker", "-m", marker)
	if err := sub.await(marker, wait); err != nil {
		t.Fatal(err)
	}
	sub.kill()
	var got []string
	for _, l := range sub.lines("MSG ") {
		f := strings.SplitN(l, " ", 4)
		if len(f) < 4 {
			t.Errorf("mosquitto_sub printed %q", l)
			continue
		}
		if f[3] == marker {
			if f[2] != "0" {
				t.Errorf("the marker, published without RETAIN, came with RETAIN set: %q", l)
			}
			break
		}
		if f[2] != "1" {
			t.Errorf("retained message %q given to a new subscriber without RETAIN", l)
		}
		got = append(got, strings.TrimPrefix(f[0], base+"/")+"="+f[3])
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("a new subscriber to %s/# got the retained messages %q, want %q", base, got, want)
	}
}
