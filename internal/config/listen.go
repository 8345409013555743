package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ListenAddr splits a listener URL such as tcp://127.0.0.1:61616 or
// stomp://[::1]:61613 into its scheme (lower case) and a host:port for
// net.Listen. An empty host (tcp://:61616) listens on every interface; port
// 0 picks a free port. URLs with a path, options (?...), credentials or no
// port are rejected. Errors wrap ErrInvalid.
func ListenAddr(raw string) (scheme, hostport string, err error) {
	scheme, hostport, err = listenAddr(raw)
	if err != nil {
		return "", "", fmt.Errorf("%w: listen URL %q: %w", ErrInvalid, raw, err)
	}
	return scheme, hostport, nil
}

func listenAddr(raw string) (scheme, hostport string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", "", err
	}
	switch {
	case u.Scheme == "" || u.Opaque != "" || u.Host == "" && u.Path != "":
		return "", "", errors.New("want scheme://host:port")
	case u.User != nil:
		return "", "", errors.New("credentials are not allowed in a listen URL")
	case u.Path != "" && u.Path != "/":
		return "", "", fmt.Errorf("a path (%q) is not supported", u.Path)
	case u.RawQuery != "" || u.ForceQuery:
		return "", "", errors.New("URL options (?...) are not supported; set limits in the limits section")
	case u.Fragment != "":
		return "", "", errors.New("a fragment (#...) is not supported")
	}
	port := u.Port()
	if port == "" {
		return "", "", errors.New("missing port")
	}
	if err := CheckPort(port); err != nil {
		return "", "", err
	}
	return strings.ToLower(u.Scheme), net.JoinHostPort(u.Hostname(), port), nil
}

// checkHostPort validates a host:port listen address.
func checkHostPort(hp string) error {
	_, port, err := net.SplitHostPort(hp)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return fmt.Errorf("%q is not host:port (%s)", hp, ae.Err)
		}
		return fmt.Errorf("%q is not host:port", hp)
	}
	if port == "" {
		return fmt.Errorf("%q: missing port", hp)
	}
	return CheckPort(port)
}

// CheckPort checks a TCP port number; 0 (a free port, for listeners) is
// allowed. The error names the port and what is wrong with it.
func CheckPort(port string) error {
	n, err := strconv.Atoi(port)
	switch {
	case err != nil:
		return fmt.Errorf("port %q is not a number", port)
	case n < 0 || n > 65535:
		return fmt.Errorf("port %s out of range (0-65535)", port)
	}
	return nil
}
