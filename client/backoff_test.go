package client

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, n := range v {
		out[i] = time.Duration(n) * time.Millisecond
	}
	return out
}

// waits runs n failed passes and returns the wait before each pass: the
// first from firstWait, the others from failed.
func waits(b *backoff, n int) []time.Duration {
	out := []time.Duration{b.firstWait()}
	for len(out) < n {
		w, ok := b.failed()
		if !ok {
			break
		}
		out = append(out, w)
	}
	return out
}

func TestBackoffDelays(t *testing.T) {
	opts := func(query string) FailoverOptions {
		u, err := ParseURL("failover:(tcp://a:1)" + query)
		if err != nil {
			t.Fatal(err)
		}
		return u.Options
	}
	for _, tc := range []struct {
		name      string
		query     string
		reconnect bool // after a lost connection rather than at startup
		want      []time.Duration
	}{
		{"defaults at startup", "", false,
			ms(0, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 30000, 30000)},
		{"defaults after a lost connection", "", true,
			ms(10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 30000, 30000)},
		{"no back-off", "?useExponentialBackOff=false&initialReconnectDelay=100", false, ms(0, 100, 100, 100)},
		{"no back-off reconnect", "?useExponentialBackOff=false&initialReconnectDelay=100", true, ms(100, 100, 100)},
		{"exponent truncates to ms", "?reconnectDelayExponent=1.5&maxReconnectDelay=100", false,
			ms(0, 10, 15, 22, 33, 49, 73, 100, 100)},
		{"exponent 1 is constant", "?reconnectDelayExponent=1&initialReconnectDelay=7", true, ms(7, 7, 7)},
		{"zero initial delay never waits", "?initialReconnectDelay=0", false, ms(0, 0, 0, 0)},
		{"zero initial delay reconnect", "?initialReconnectDelay=0", true, ms(0, 0, 0)},
		{"first wait is not capped", "?initialReconnectDelay=500&maxReconnectDelay=100", false, ms(0, 500, 100, 100)},
		{"initial 5 keeps growing (Java would stick at 5)", "?initialReconnectDelay=5", false, ms(0, 5, 10, 20, 40)},
		{"huge exponent saturates", "?reconnectDelayExponent=1e300&maxReconnectDelay=9223372036854", false,
			ms(0, 10, 9223372036854, 9223372036854)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackoff(opts(tc.query))
			if tc.reconnect {
				b.failed() // a startup failure, then success resets everything
				b.succeeded()
			}
			if got := waits(b, len(tc.want)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("waits\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestBackoffLimits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		startup   int
		max       int
		reconnect bool
		passes    int // passes allowed; -1 unlimited (checked up to 50)
		canRetry  bool
	}{
		{"forever", -1, -1, false, -1, true},
		{"forever reconnect", -1, -1, true, -1, true},
		{"startup 0 tries once", 0, -1, false, 1, true},
		{"startup 1 tries once", 1, -1, false, 1, true},
		{"startup 3", 3, -1, false, 3, true},
		{"startup -1 falls back to max", -1, 2, false, 2, true},
		{"startup limit ends at first connection", 3, -1, true, -1, true},
		{"max 0: no reconnect", -1, 0, true, 1, false},
		{"max 2 after connecting", 5, 2, true, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultFailoverOptions()
			o.StartupMaxReconnectAttempts, o.MaxReconnectAttempts = tc.startup, tc.max
			b := newBackoff(o)
			if tc.reconnect {
				b.succeeded()
			}
			if got := b.canReconnect(); tc.reconnect && got != tc.canRetry {
				t.Errorf("canReconnect = %v, want %v", got, tc.canRetry)
			}
			b.firstWait()
			passes := 1
			for ; passes <= 50; passes++ {
				if _, ok := b.failed(); !ok {
					break
				}
			}
			if tc.passes == -1 && passes <= 50 || tc.passes != -1 && passes != tc.passes {
				t.Errorf("passes = %d, want %d", passes, tc.passes)
			}
		})
	}
}

func TestBackoffFailuresResetOnSuccess(t *testing.T) {
	o := DefaultFailoverOptions()
	o.MaxReconnectAttempts = 2
	b := newBackoff(o)
	b.failed()
	b.succeeded()
	if w := b.firstWait(); w != 10*time.Millisecond {
		t.Errorf("firstWait after success = %v", w)
	}
	if _, ok := b.failed(); !ok {
		t.Fatal("first failed pass after success must be retried")
	}
	if _, ok := b.failed(); ok {
		t.Fatal("second failed pass must exhaust maxReconnectAttempts=2")
	}
}

func TestBackoffWarn(t *testing.T) {
	o := DefaultFailoverOptions()
	o.WarnAfterReconnectAttempts = 3
	b := newBackoff(o)
	var got []int
	for i := 1; i <= 7; i++ {
		b.failed()
		if b.warn() {
			got = append(got, i)
		}
	}
	if !reflect.DeepEqual(got, []int{1, 3, 6}) {
		t.Errorf("warned after %v", got)
	}
	o.WarnAfterReconnectAttempts = 0
	b = newBackoff(o)
	b.failed()
	if b.warn() {
		t.Error("warnAfterReconnectAttempts=0 must not warn")
	}
}

func hosts(bs []BrokerURL) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = b.Host
	}
	return strings.Join(s, ",")
}

func TestConnectOrder(t *testing.T) {
	static, _ := ParseBrokerList("tcp://a:1,tcp://b:1,tcp://c:1")
	updated, _ := ParseBrokerList("tcp://d:1,tcp://b:1")
	for _, tc := range []struct {
		name            string
		static, updated []BrokerURL
		failed, want    string
	}{
		{"in order", static, nil, "", "a:1,b:1,c:1"},
		{"failed goes last", static, nil, "a:1", "b:1,c:1,a:1"},
		{"pushed first, deduplicated", static, updated, "", "d:1,b:1,a:1,c:1"},
		{"pushed and failed", static, updated, "d:1", "b:1,a:1,c:1,d:1"},
		{"unknown failed ignored", static, nil, "z:1", "a:1,b:1,c:1"},
		{"single failed still tried", static[:1], nil, "a:1", "a:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hosts(connectOrder(tc.static, tc.updated, tc.failed, false, nil)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestConnectOrderRandomize(t *testing.T) {
	static, _ := ParseBrokerList("tcp://a:1,tcp://b:1,tcp://c:1,tcp://d:1")
	rng := rand.New(rand.NewPCG(1, 2))
	seen := make(map[string]int)
	for range 2400 {
		got := hosts(connectOrder(static, nil, "d:1", true, rng))
		if !strings.HasSuffix(got, ",d:1") {
			t.Fatalf("failed broker not last: %s", got)
		}
		seen[got]++
	}
	if len(seen) != 6 {
		t.Fatalf("saw %d orders of 3 brokers, want all 6: %v", len(seen), seen)
	}
	for order, n := range seen {
		if n < 300 || n > 500 {
			t.Errorf("order %s came %d times of 2400, want about 400", order, n)
		}
	}
	again := rand.New(rand.NewPCG(1, 2))
	if hosts(connectOrder(static, nil, "", true, again)) != hosts(connectOrder(static, nil, "", true, rand.New(rand.NewPCG(1, 2)))) {
		t.Error("same seed must give the same order")
	}
}

func TestIsPriority(t *testing.T) {
	u, _ := ParseURL("failover:(tcp://a:1,tcp://b:1,tcp://c:1)?priorityBackup=true")
	if !u.isPriority(u.Brokers[0]) || u.isPriority(u.Brokers[1]) {
		t.Error("without priorityURIs only the first broker is a priority broker")
	}
	u, _ = ParseURL("failover:(tcp://a:1,tcp://b:1,tcp://c:1)?priorityBackup=true&priorityURIs=tcp://b:1,tcp://c:1")
	if u.isPriority(u.Brokers[0]) || !u.isPriority(u.Brokers[2]) {
		t.Error("priorityURIs must decide")
	}
	u, _ = ParseURL("failover:(tcp://a:1,tcp://b:1)")
	if u.isPriority(u.Brokers[0]) {
		t.Error("no priority without priorityBackup")
	}
}
