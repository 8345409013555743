package main

import (
	"testing"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/replication"
)

// A member's console URL, as the others' consoles link to it.
func TestConsoleURL(t *testing.T) {
	for _, c := range []struct {
		listen, cert, advertise, want string
	}{
		{"127.0.0.1:8161", "", "", "http://127.0.0.1:8161"},
		{"0.0.0.0:8161", "", "east-1.example", "http://east-1.example:8161"},
		{"10.0.0.5:8443", "/etc/pier/broker.pem", "", "https://10.0.0.5:8443"},
		{"", "", "", ""},
	} {
		cfg := config.Default()
		cfg.Console.Listen, cfg.TLS.CertFile, cfg.Broker.AdvertiseHost = c.listen, c.cert, c.advertise
		if c.cert != "" {
			cfg.TLS.KeyFile = c.cert
		}
		if got := consoleURL(cfg); got != c.want {
			t.Errorf("listen %q cert %q: %q, want %q", c.listen, c.cert, got, c.want)
		}
	}
	m := memberOf(replication.Status{ID: "b", ConsoleURL: "http://10.0.0.6:8161", State: "Follower"}, "")
	if m.Console != "http://10.0.0.6:8161" || m.Role != "replica" {
		t.Errorf("member %+v", m)
	}
}
