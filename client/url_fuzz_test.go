package client

import (
	"reflect"
	"testing"
)

// FuzzParseURL checks that ParseURL never panics and that a URL it accepts
// renders to a string that parses back to an equal URL, which renders the
// same again.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"tcp://localhost:61616",
		"tcp://h:1?keepAlive=true&soTimeout=5&jms.clientID=a+b",
		"nio://[::1]:61616?wireFormat.maxInactivityDuration=0",
		"failover:(tcp://a:61616,tcp://b:61616)?randomize=false&initialReconnectDelay=100",
		"failover:tcp://a:1,tcp://b:2?soTimeout=7",
		"failover://(tcp://a:1?trace=true)?nested.keepAlive=true&jms.prefetchPolicy.all=1",
		"failover:(tcp://a:1,tcp://b:1)?priorityBackup=true&priorityURIs=tcp://a:1,tcp://b:1",
		"failover:(tcp://a:1)?reconnectDelayExponent=1.5&maxReconnectAttempts=0&timeout=3000",
		"failover:(tcp://a:1)?jms.clientID=a%2Cb%28c%29&updateURIsURL=file:/x%26y",
		"failover:((tcp://a:1)",
		"ssl://a:1",
		"failover:(ssl://a:1?socket.verifyHostName=false,nio+ssl://b:2)?nested.socket.enabledProtocols=TLSv1.3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		_ = u.Unsupported()
		out := u.String()
		v, err := ParseURL(out)
		if err != nil {
			t.Fatalf("ParseURL(%q) ok, but its String %q does not parse: %v", s, out, err)
		}
		if !reflect.DeepEqual(u, v) {
			t.Fatalf("ParseURL(%q).String() = %q parses differently:\n%+v\n%+v", s, out, u, v)
		}
		if again := v.String(); again != out {
			t.Fatalf("String not stable: %q then %q", out, again)
		}
	})
}
