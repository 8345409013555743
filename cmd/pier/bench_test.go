package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// benchCounts runs `pier bench --json` and returns what it sent and
// received.
func benchCounts(t *testing.T, args ...string) (sent, received int64) {
	t.Helper()
	out := pier(t, runBench, append(args, "--json")...)
	var res struct{ Sent, Received int64 }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return res.Sent, res.Received
}

func TestBenchConsumeURL(t *testing.T) {
	a, aSTOMP := startPier(t)
	b, bSTOMP := startPier(t)
	t.Run("same broker by another URL", func(t *testing.T) {
		sent, received := benchCounts(t, "--url", a, "--consume-url", "failover:("+a+")",
			"--destination", "queue://same", "--count", "20", "--producers", "2", "--consumers", "2", "--size", "10")
		if sent != 20 || received != 20 {
			t.Errorf("sent %d, received %d; want 20, 20", sent, received)
		}
	})
	// Two brokers without a bridge: the consumers on B get nothing and the
	// messages stay on A, which shows where each side connected.
	for _, c := range []struct{ name, url, consumeURL, dest string }{
		{"openwire", a, b, "queue://apart"},
		{"stomp", aSTOMP, bSTOMP, "queue://apart.stomp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sent, received := benchCounts(t, "--url", c.url, "--consume-url", c.consumeURL,
				"--destination", c.dest, "--count", "5", "--size", "3", "--drain-timeout", "300ms")
			if sent != 5 || received != 0 {
				t.Errorf("sent %d, received %d; want 5, 0", sent, received)
			}
			_, stderr, err := try(runConsume, "--url", a, "--destination", c.dest, "--quiet", "--timeout", "300ms")
			if err != nil || !strings.Contains(stderr, "received 5 messages") {
				t.Errorf("consume on the producers' broker: %v, %q; want 5 messages", err, stderr)
			}
		})
	}
	for _, c := range []struct{ name, consumeURL, want string }{
		{"protocols differ", bSTOMP, "both be OpenWire or both be STOMP"},
		{"bad URL", "tcp://x:1?bogus=1", `--consume-url: client: invalid URL: unknown transport option "bogus"`},
		{"refused", "tcp://127.0.0.1:1", "connect to tcp://127.0.0.1:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := try(runBench, "--url", a, "--consume-url", c.consumeURL, "--count", "1")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q (stderr %q)", err, c.want, stderr)
			}
		})
	}
}

// `pier bench --disk` probes appending or, with --overwrite, overwriting;
// --overwrite without --disk and broker flags with --disk are refused.
func TestBenchDiskFlags(t *testing.T) {
	dir := t.TempDir()
	for _, mode := range []string{"append", "overwrite"} {
		args := []string{"--disk", dir, "--count", "20", "--json"}
		if mode == "overwrite" {
			args = append(args, "--overwrite")
		}
		if out := pier(t, runBench, args...); !strings.Contains(out, `"mode": "`+mode+`"`) {
			t.Errorf("%v: no mode %s in\n%s", args, mode, out)
		}
	}
	for _, args := range [][]string{
		{"--overwrite", "--count", "1"},
		{"--disk", dir, "--producers", "2"},
	} {
		if _, _, err := try(runBench, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
