package stompclient

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultPort is the conventional STOMP port; DefaultTLSPort that of
// STOMP over TLS (stomp+ssl://).
const (
	DefaultPort    = "61613"
	DefaultTLSPort = "61612"
)

// ParseAddr turns a user-supplied broker address into what Dial takes:
// host:port for stomp://host:port, tcp://host:port, host:port and a bare
// host (port 61613); stomp+ssl://host:port for STOMP over TLS, written
// stomp+ssl:// or ssl:// (port 61612 when none is given).
func ParseAddr(s string) (string, error) {
	hostport, secure, err := splitAddr(s)
	if err != nil {
		return "", err
	}
	if secure {
		return tlsScheme + hostport, nil
	}
	return hostport, nil
}

const tlsScheme = "stomp+ssl://"

// splitAddr parses an address as ParseAddr does into host:port and whether
// it is dialled over TLS.
func splitAddr(s string) (hostport string, secure bool, err error) {
	hostport, port := s, DefaultPort
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", false, fmt.Errorf("stompclient: address %q: %w", s, err)
		}
		switch strings.ToLower(u.Scheme) {
		case "stomp", "tcp":
		case "stomp+ssl", "ssl":
			secure, port = true, DefaultTLSPort
		default:
			return "", false, fmt.Errorf("stompclient: address %q: scheme %q not supported (want stomp:// or stomp+ssl://)", s, u.Scheme)
		}
		if u.RawQuery != "" || u.ForceQuery || u.Path != "" && u.Path != "/" || u.Fragment != "" {
			return "", false, fmt.Errorf("stompclient: address %q: options, paths and fragments are not supported", s)
		}
		hostport = u.Host
	}
	if hostport == "" {
		return "", false, fmt.Errorf("stompclient: address %q: no host", s)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), port)
	}
	return hostport, secure, nil
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
			if strings.HasPrefix(name, "/") {
				return "", fmt.Errorf("stompclient: destination %q: a name does not start with '/' (did you mean %s://%s?)",
					s, kind, strings.TrimLeft(name, "/"))
			}
			return "/" + kind + "/" + name, nil
		}
		return "", fmt.Errorf("stompclient: destination %q: unknown kind %q (want queue:// or topic://)", s, kind)
	}
	for _, p := range []string{"/queue/", "/topic/", "/temp-queue/", "/temp-topic/"} {
		if name, ok := strings.CutPrefix(s, p); ok && name != "" {
			if strings.HasPrefix(name, "/") {
				return "", fmt.Errorf("stompclient: destination %q: a name does not start with '/' (did you mean %s%s?)",
					s, p, strings.TrimLeft(name, "/"))
			}
			return s, nil
		}
	}
	return "", fmt.Errorf("stompclient: destination %q: want queue://NAME, topic://NAME, /queue/NAME or /topic/NAME", s)
}
