package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

func (k *checker) connectors(list []NetworkConnector) {
	names := make(map[string]int, len(list))
	for i, n := range list {
		path := fmt.Sprintf("network_connectors[%d]", i)
		switch first, dup := names[n.Name]; {
		case n.Name == "":
			k.add(ErrMissing, path+".name", "must not be empty")
		case dup:
			k.add(ErrInvalid, path+".name", "%q is already the name of network_connectors[%d]", n.Name, first)
		default:
			names[n.Name] = i
		}
		if n.URI == "" {
			k.add(ErrMissing, path+".uri", "required, e.g. static:(tcp://host:61616)")
		} else if err := checkBridgeURI(n.URI); err != nil {
			k.add(ErrInvalid, path+".uri", "%q: %v", n.URI, err)
		}
		if n.NetworkTTL < 1 {
			k.add(ErrInvalid, path+".network_ttl", "must be at least 1")
		}
		if n.PrefetchSize < 1 {
			k.add(ErrInvalid, path+".prefetch_size", "must be at least 1")
		}
		k.destinations(path+".excluded_destinations", n.ExcludedDestinations)
		k.destinations(path+".dynamically_included_destinations", n.DynamicallyIncludedDestinations)
		k.destinations(path+".statically_included_destinations", n.StaticallyIncludedDestinations)
	}
}

// destinations checks destination filters: queue://NAME or topic://NAME,
// wildcards (* and >) allowed.
func (k *checker) destinations(path string, list []string) {
	for i, d := range list {
		name, ok := strings.CutPrefix(d, "queue://")
		if !ok {
			name, ok = strings.CutPrefix(d, "topic://")
		}
		if !ok || name == "" {
			k.add(ErrInvalid, fmt.Sprintf("%s[%d]", path, i), "%q: want queue://NAME or topic://NAME", d)
		}
	}
}

// checkBridgeURI accepts static:(m1,m2,...)[?options] or a single member,
// where a member is tcp://host:port[?options], ssl://host:port[?options]
// (OpenWire over TLS) or failover:(tcp://...,ssl://...,...)[?options].
func checkBridgeURI(uri string) error {
	if rest, ok := strings.CutPrefix(uri, "static:"); ok {
		return checkGroup(rest, true)
	}
	return checkMember(uri)
}

func checkMember(m string) error {
	if rest, ok := strings.CutPrefix(m, "failover:"); ok {
		return checkGroup(rest, false)
	}
	_, err := memberURL(m)
	return err
}

// checkGroup checks "(a,b,...)[?options]"; nested failover groups are
// allowed inside static ones.
func checkGroup(s string, nested bool) error {
	body, ok := strings.CutPrefix(s, "(")
	if !ok {
		return errors.New("want (uri,uri,...) after the scheme")
	}
	end := closing(body)
	if end < 0 {
		return errors.New("unbalanced parentheses")
	}
	if tail := body[end+1:]; tail != "" && !strings.HasPrefix(tail, "?") {
		return fmt.Errorf("unexpected %q after the closing parenthesis", tail)
	}
	members := SplitList(body[:end])
	for _, m := range members {
		m = strings.TrimSpace(m)
		if m == "" {
			return errors.New("empty member in the list")
		}
		if strings.HasPrefix(m, "failover:") && !nested {
			return errors.New("failover groups cannot be nested")
		}
		if err := checkMember(m); err != nil {
			return fmt.Errorf("member %q: %w", m, err)
		}
	}
	return nil
}

// closing returns the index of the parenthesis that closes an already
// opened one, or -1.
func closing(s string) int {
	depth := 1
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// SplitList splits s at commas outside parentheses: the members of a
// static:(...) or failover:(...) list.
func SplitList(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// Members returns the remote brokers a connector bridges to: one entry per
// member of its static:(...) list (or the single URI), each the addresses
// (host:port) to try in turn — several for a failover:(...) member. URI
// options and schemes are dropped: dial MemberURLs, which keeps whether a
// member speaks TLS. The URI must have passed Validate.
func (n NetworkConnector) Members() ([][]string, error) {
	urls, err := n.MemberURLs()
	if err != nil {
		return nil, err
	}
	for _, m := range urls {
		for i, u := range m {
			_, m[i], _ = strings.Cut(u, "://")
		}
	}
	return urls, nil
}

// MemberURLs is Members with each address as a URL, tcp://host:port or
// ssl://host:port (OpenWire over TLS), scheme in lower case.
func (n NetworkConnector) MemberURLs() ([][]string, error) {
	var list []string
	if rest, ok := strings.CutPrefix(n.URI, "static:"); ok {
		body, err := groupBody(rest)
		if err != nil {
			return nil, err
		}
		list = SplitList(body)
	} else {
		list = []string{n.URI}
	}
	var out [][]string
	for _, m := range list {
		m = strings.TrimSpace(m)
		var urls []string
		if rest, ok := strings.CutPrefix(m, "failover:"); ok {
			body, err := groupBody(rest)
			if err != nil {
				return nil, err
			}
			for _, a := range SplitList(body) {
				u, err := memberURL(a)
				if err != nil {
					return nil, err
				}
				urls = append(urls, u)
			}
		} else {
			u, err := memberURL(m)
			if err != nil {
				return nil, err
			}
			urls = []string{u}
		}
		out = append(out, urls)
	}
	return out, nil
}

// groupBody returns what is between the parentheses of "(...)[?options]".
func groupBody(s string) (string, error) {
	body, ok := strings.CutPrefix(s, "(")
	end := closing(body)
	if !ok || end < 0 {
		return "", fmt.Errorf("%q: want (uri,uri,...)", s)
	}
	return body[:end], nil
}

// memberURL checks one broker URI of a connector, tcp://host:port or
// ssl://host:port with options, and returns it as scheme://host:port.
func memberURL(m string) (string, error) {
	u, _, _ := strings.Cut(strings.TrimSpace(m), "?")
	scheme, hp, err := listenAddr(u)
	if err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(hp)
	switch {
	case scheme != "tcp" && scheme != "ssl":
		return "", errors.New("want tcp://host:port") // or ssl://host:port (errors_test.go pins the text)
	case host == "" || port == "0":
		return "", errors.New("a host and a non-zero port are required")
	}
	return scheme + "://" + hp, nil
}
