package stompclient

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultPort is the conventional STOMP port.
const DefaultPort = "61613"

// ParseAddr turns a user-supplied broker address into host:port. It accepts
// stomp://host:port, tcp://host:port, host:port and a bare host (port 61613).
func ParseAddr(s string) (string, error) {
	hostport := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", fmt.Errorf("stompclient: address %q: %w", s, err)
		}
		if u.Scheme != "stomp" && u.Scheme != "tcp" {
			return "", fmt.Errorf("stompclient: address %q: scheme %q not supported (want stomp://)", s, u.Scheme)
		}
		hostport = u.Host
	}
	if hostport == "" {
		return "", fmt.Errorf("stompclient: address %q: no host", s)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), DefaultPort)
	}
	return hostport, nil
}

// ParseDestination turns queue://NAME, topic://NAME, /queue/NAME or
// /topic/NAME (and the temp-queue/temp-topic forms) into the STOMP
// destination /queue/NAME or /topic/NAME.
func ParseDestination(s string) (string, error) {
	if kind, name, ok := strings.Cut(s, "://"); ok {
		switch kind {
		case "queue", "topic", "temp-queue", "temp-topic":
			if name == "" {
				return "", fmt.Errorf("stompclient: destination %q: empty name", s)
			}
			return "/" + kind + "/" + name, nil
		}
		return "", fmt.Errorf("stompclient: destination %q: unknown kind %q (want queue:// or topic://)", s, kind)
	}
	for _, p := range []string{"/queue/", "/topic/", "/temp-queue/", "/temp-topic/"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return s, nil
		}
	}
	return "", fmt.Errorf("stompclient: destination %q: want queue://NAME, topic://NAME, /queue/NAME or /topic/NAME", s)
}
