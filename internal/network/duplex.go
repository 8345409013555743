package network

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/message"
)

// duplexProperties writes the settings a duplex connector asks the remote
// broker to bridge back with (BrokerInfo.networkProperties), as a URL
// query.
func duplexProperties(c *Connector) string {
	v := url.Values{}
	v.Set("name", c.Name)
	v.Set("conduit_subscriptions", strconv.FormatBool(c.Conduit))
	v.Set("decrease_network_consumer_priority", strconv.FormatBool(c.DecreasePriority))
	v.Set("dynamic_only", strconv.FormatBool(c.DynamicOnly))
	for key, n := range map[string]int{"network_ttl": c.TTL, "prefetch_size": c.Prefetch} {
		if n > 0 { // 0: unset, the default
			v.Set(key, strconv.Itoa(n))
		}
	}
	for _, f := range []struct {
		key  string
		list []message.Destination
	}{{"excluded_destinations", c.Excluded}, {"dynamically_included_destinations", c.DynamicallyIncluded},
		{"statically_included_destinations", c.StaticallyIncluded}} {
		for _, d := range f.list {
			v.Add(f.key, d.String())
		}
	}
	return v.Encode()
}

// parseDuplexProperties reads what duplexProperties wrote.
func parseDuplexProperties(s string) (Connector, error) {
	var c Connector
	v, err := url.ParseQuery(s)
	if err != nil {
		return c, fmt.Errorf("network: duplex properties %q: %w", s, err)
	}
	c.Name = v.Get("name")
	if c.Name == "" || strings.ContainsAny(c.Name, "/\x00\n") {
		return c, fmt.Errorf("network: duplex properties: connector name %q", c.Name)
	}
	for _, f := range []struct {
		key string
		n   *int
	}{{"network_ttl", &c.TTL}, {"prefetch_size", &c.Prefetch}} {
		if x := v.Get(f.key); x != "" {
			if *f.n, err = strconv.Atoi(x); err != nil || *f.n < 1 {
				return c, fmt.Errorf("network: duplex properties: %s %q: want a positive number", f.key, x)
			}
		}
	}
	for _, f := range []struct {
		key string
		b   *bool
	}{{"conduit_subscriptions", &c.Conduit}, {"decrease_network_consumer_priority", &c.DecreasePriority},
		{"dynamic_only", &c.DynamicOnly}} {
		if x := v.Get(f.key); x != "" {
			if *f.b, err = strconv.ParseBool(x); err != nil {
				return c, fmt.Errorf("network: duplex properties: %s %q: want true or false", f.key, x)
			}
		}
	}
	for _, f := range []struct {
		key  string
		into *[]message.Destination
	}{{"excluded_destinations", &c.Excluded}, {"dynamically_included_destinations", &c.DynamicallyIncluded},
		{"statically_included_destinations", &c.StaticallyIncluded}} {
		for _, x := range v[f.key] {
			d, err := message.ParseDestination(x)
			if err != nil {
				return c, fmt.Errorf("network: duplex properties: %s: %w", f.key, err)
			}
			*f.into = append(*f.into, d)
		}
	}
	return c, nil
}

// failoverAddrs returns the addresses of failover:(tcp://a,ssl://b,...)
// as a duplex connector advertises its broker: host:port for tcp://,
// ssl://host:port for ssl:// (see normalizeAddr); member options are
// dropped.
func failoverAddrs(s string) ([]string, error) {
	body, ok := strings.CutPrefix(s, "failover:(")
	body, ok2 := strings.CutSuffix(body, ")")
	if !ok || !ok2 || body == "" {
		return nil, fmt.Errorf("network: duplex URL %q: want failover:(tcp://host:port,...)", s)
	}
	var out []string
	for _, u := range strings.Split(body, ",") {
		u, _, _ = strings.Cut(strings.TrimSpace(u), "?")
		a, err := normalizeAddr(u)
		if err != nil || !strings.Contains(u, "://") {
			return nil, fmt.Errorf("network: duplex URL %q: member %q: want tcp://host:port or ssl://host:port", s, u)
		}
		out = append(out, a)
	}
	return out, nil
}
