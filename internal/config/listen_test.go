package config

import (
	"errors"
	"strings"
	"testing"
)

func TestListenAddr(t *testing.T) {
	tests := []struct {
		in, scheme, hostport string
		bad                  string // substring of the error; empty when valid
	}{
		{"tcp://127.0.0.1:61616", "tcp", "127.0.0.1:61616", ""},
		{"STOMP://localhost:61613", "stomp", "localhost:61613", ""},
		{"ws://[::1]:61614/", "ws", "[::1]:61614", ""},
		{"tcp://:61616", "tcp", ":61616", ""},
		{"tcp://0.0.0.0:0", "tcp", "0.0.0.0:0", ""},
		{"tcp://h", "", "", "missing port"},
		{"tcp://h:65536", "", "", "port 65536 out of range"},
		{"tcp://h:x", "", "", "invalid port"},
		{"tcp://h:1?a=b", "", "", "URL options"},
		{"tcp://u:p@h:1", "", "", "credentials"},
		{"ws://h:1/stomp", "", "", "a path"},
		{"h:1", "", "", "want scheme://host:port"},
		{"127.0.0.1:61616", "", "", ""}, // any error: url.Parse rejects it
		{"", "", "", "want scheme://host:port"},
	}
	for _, tt := range tests {
		scheme, hp, err := ListenAddr(tt.in)
		valid := tt.scheme != ""
		switch {
		case valid && (err != nil || scheme != tt.scheme || hp != tt.hostport):
			t.Errorf("ListenAddr(%q) = %q, %q, %v; want %q, %q", tt.in, scheme, hp, err, tt.scheme, tt.hostport)
		case !valid && err == nil:
			t.Errorf("ListenAddr(%q) = %q, %q; want an error", tt.in, scheme, hp)
		case !valid && !errors.Is(err, ErrInvalid):
			t.Errorf("ListenAddr(%q) error %v does not wrap ErrInvalid", tt.in, err)
		case !valid && !contains(err.Error(), tt.bad):
			t.Errorf("ListenAddr(%q) error %q lacks %q", tt.in, err, tt.bad)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
